"""Isomorphism of NB201 cells: the one place where robnas decides which cells are equivalent.

NAS-Bench-201 treats two cells as the same network when they compute the same function up to
reordering of summed inputs, with two special operations: ``skip_connect`` passes its input
through and ``none`` outputs zero. A node's value is written as the sorted sum of its incoming
terms; an edge from a node whose term is exactly *zero*, or an edge with ``none``, contributes
zero. This reproduces NB201's own rule, including its detail that only a node with a single
zero input is recognised as zero downstream (a node whose several inputs are all zero is not),
which is what yields NB201's 6,466 classes over 15,625 cells.

>>> from robnas.arch import Arch
>>> a = Arch.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|")
>>> b = Arch.from_string("|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|")
>>> canonical_form(a) == canonical_form(b)
True
>>> int(class_count())
6466

A coarser relation, *functional equivalence* (:func:`functional_form`), also contracts skip
connections into the sums they feed, distributes average pooling (linear) over sums and drops
every term computed from zero: cells that differ
only in such dead or pass-through structure compute the same function (up to a learnt constant
where a convolution reads zeros), and their released accuracies differ by training noise. It
merges the 6,466 classes into 4,660 (:func:`functional_class_count`); searchers use it to treat
such cells as twins.

>>> c = Arch.from_string("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
>>> d = Arch.from_string("|none~0|+|avg_pool_3x3~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
>>> is_isomorphic(c, d), functional_code(c) == functional_code(d)
(False, True)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from robnas.arch import EDGES, NUM_CELLS, OPS, Arch

_ZERO = "#"
_INPUT = "0"
_NONE = OPS.index("none")
_SKIP = OPS.index("skip_connect")
_POOL = OPS.index("avg_pool_3x3")


def canonical_form(arch: Arch) -> str:
    """A string equal for two cells exactly when NB201 counts them as isomorphic."""
    value_of_node = [_INPUT]
    for target in (1, 2, 3):
        terms = []
        for (source, edge_target), op in zip(EDGES, arch.ops, strict=True):
            if edge_target != target:
                continue
            source_value = value_of_node[source]
            if op == _NONE or source_value == _ZERO:
                terms.append(_ZERO)
            elif op == _SKIP:
                terms.append(source_value)
            else:
                terms.append(f"({source_value})@{OPS[op]}")
        value_of_node.append(_node_value(terms))
    return value_of_node[3]


def _node_value(terms: list[str]) -> str:
    return "+".join(sorted(terms))


@cache
def _class_codes() -> np.ndarray:
    """Row ``c``: the smallest :attr:`Arch.code` isomorphic to ``Arch.from_code(c)``."""
    first_code: dict[str, int] = {}
    out = np.empty(NUM_CELLS, dtype=np.int64)
    for code in range(NUM_CELLS):
        key = canonical_form(Arch.from_code(code))
        out[code] = first_code.setdefault(key, code)
    out.setflags(write=False)
    return out


def class_code_array() -> np.ndarray:
    """Read-only int64 array over all codes: the class id (smallest member's code) of each cell.

    Computed once per process (about 0.1 s) and shared; it is a pure function of the space.
    """
    return _class_codes()


def class_code(arch: Arch) -> int:
    """The class id of ``arch``: the smallest :attr:`Arch.code` among its isomorphs."""
    return int(_class_codes()[arch.code])


def is_isomorphic(a: Arch, b: Arch) -> bool:
    """Whether NB201 counts ``a`` and ``b`` as the same network."""
    return class_code(a) == class_code(b)


def class_count() -> int:
    """The number of isomorphism classes (6,466 for NB201)."""
    return int(np.unique(_class_codes()).size)


def class_representatives() -> list[Arch]:
    """One cell per class (its smallest code), in code order."""
    return [Arch.from_code(int(c)) for c in np.unique(_class_codes())]


def functional_form(arch: Arch) -> str:
    """A string equal for two cells that compute the same function once skip connections are
    contracted and terms computed from zero are dropped.

    A node's value is the sorted sum of its incoming terms, flattened: ``skip_connect`` adds the
    source's terms themselves, ``none`` and any edge whose source sums to nothing add nothing,
    ``avg_pool_3x3`` (linear) adds ``(term)@avg_pool_3x3`` for each of the source's terms, a
    convolution (ReLU, convolution, batch norm: not linear) adds ``(source)@op``. Unlike
    :func:`canonical_form` (NB201's rule), a node with several zero inputs is zero too, and a
    convolution or pooling of zero is dropped
    (pooling zero gives zero; a convolution gives its batch norm's learnt offset, a constant).
    Every pair of isomorphic cells is functionally equivalent.
    """
    value_of_node: list[list[str]] = [[_INPUT]]
    for target in (1, 2, 3):
        terms: list[str] = []
        for (source, edge_target), op in zip(EDGES, arch.ops, strict=True):
            if edge_target != target or op == _NONE or not value_of_node[source]:
                continue
            source_terms = value_of_node[source]
            if op == _SKIP:
                terms.extend(source_terms)
            elif op == _POOL:  # linear: the pool of a sum is the sum of the pools
                terms.extend(f"({term})@{OPS[op]}" for term in source_terms)
            else:
                terms.append(f"({'+'.join(source_terms)})@{OPS[op]}")
        value_of_node.append(sorted(terms))
    return "+".join(value_of_node[3]) or _ZERO


@cache
def _functional_codes() -> np.ndarray:
    """Row ``c``: the smallest :attr:`Arch.code` functionally equivalent to ``Arch.from_code(c)``."""
    first_code: dict[str, int] = {}
    out = np.empty(NUM_CELLS, dtype=np.int64)
    for code in range(NUM_CELLS):
        out[code] = first_code.setdefault(functional_form(Arch.from_code(code)), code)
    out.setflags(write=False)
    return out


def functional_code_array() -> np.ndarray:
    """Read-only int64 array over all codes: the functional class id (smallest member's code) of
    each cell (:func:`functional_form`). Computed once per process and shared, like
    :func:`class_code_array`."""
    return _functional_codes()


def functional_code(arch: Arch) -> int:
    """The functional class id of ``arch``: the smallest :attr:`Arch.code` computing its function."""
    return int(_functional_codes()[arch.code])


def functional_class_count() -> int:
    """The number of functional classes (4,660 for NB201)."""
    return int(np.unique(_functional_codes()).size)
