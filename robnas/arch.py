"""The NAS-Bench-201 cell: the immutable :class:`Arch` value and its NB201 string.

A cell is a DAG on 4 nodes whose 6 edges each carry one of 5 operations. ``Arch`` stores the
six operation indices in NB201 string order, i.e. edges ``(0,1) (0,2) (1,2) (0,3) (1,3) (2,3)``
(``(i, j)`` = from node ``i`` into node ``j``), and the operations in NB201's own order.

>>> arch = Arch.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
>>> arch.ops
(3, 0, 1, 4, 2, 1)
>>> Arch.from_string(arch.to_string()) == arch
True
>>> arch.code
9611
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from robnas.errors import InvalidArchError

if TYPE_CHECKING:
    import numpy as np

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""The NB201 operations, indexed as ``Arch.ops`` stores them."""

EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
"""The six edges ``(from, to)`` in NB201 string order."""

NUM_OPS = len(OPS)
NUM_EDGES = len(EDGES)
NUM_CELLS = NUM_OPS**NUM_EDGES  # 15,625
CLASS_COUNT = 6466
"""NB201's number of isomorphism classes, as a constant for messages and bounds that must not
compute the classes (:func:`robnas.isomorphism.class_count` computes it; a test checks the two
agree). Here rather than in :mod:`robnas.isomorphism` so that reading it imports no NumPy."""

_OP_INDEX = {name: i for i, name in enumerate(OPS)}


class Arch:
    """One NB201 cell: six operation indices in NB201 string (edge) order.

    Immutable and hashable, so it can key dicts and sets. Two isomorphic cells are different
    ``Arch`` values; :mod:`robnas.isomorphism` decides whether they are equivalent.

    Args:
        ops: six integers in ``range(5)``, indices into :data:`OPS`, one per edge of :data:`EDGES`.
    """

    __slots__ = ("ops",)
    ops: tuple[int, ...]

    def __init__(self, ops: tuple[int, ...] | list[int]) -> None:
        values = tuple(ops)
        if len(values) != NUM_EDGES or not all(_is_int(o) and 0 <= o < NUM_OPS for o in values):
            raise InvalidArchError(f"an NB201 cell needs {NUM_EDGES} op indices in 0..{NUM_OPS - 1}, got {ops!r}")
        object.__setattr__(self, "ops", tuple(int(o) for o in values))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Arch is immutable; cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Arch) and other.ops == self.ops

    def __hash__(self) -> int:
        return hash(self.ops)

    def __reduce__(self) -> tuple[type[Arch], tuple[tuple[int, ...]]]:
        return (Arch, (self.ops,))

    # -- conversions -------------------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str) -> Arch:
        """Parse an NB201 string such as ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``."""
        text = text.strip()
        nodes = text.split("+")
        if len(nodes) != 3:
            raise InvalidArchError(f"not an NB201 string (expected 3 nodes joined by '+'): {text!r}")
        ops: list[int] = []
        for target, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise InvalidArchError(f"node {target} of {text!r} must look like |op~i|...|")
            inputs = [part for part in node[1:-1].split("|")]
            if len(inputs) != target:
                raise InvalidArchError(
                    f"node {target} of {text!r} needs {target} inputs, got {len(inputs)}"
                )
            for source, item in enumerate(inputs):
                name, sep, origin = item.partition("~")
                if not sep or origin != str(source):
                    raise InvalidArchError(
                        f"input {item!r} of node {target} in {text!r} must be '<op>~{source}'"
                    )
                if name not in _OP_INDEX:
                    raise InvalidArchError(
                        f"unknown operation {name!r} in {text!r}; valid: {', '.join(OPS)}"
                    )
                ops.append(_OP_INDEX[name])
        return cls(tuple(ops))

    def to_string(self) -> str:
        """The NB201 string of this cell."""
        names = [OPS[o] for o in self.ops]
        node1 = f"|{names[0]}~0|"
        node2 = f"|{names[1]}~0|{names[2]}~1|"
        node3 = f"|{names[3]}~0|{names[4]}~1|{names[5]}~2|"
        return f"{node1}+{node2}+{node3}"

    @classmethod
    def from_names(cls, names: tuple[str, ...] | list[str]) -> Arch:
        """Build from six operation names in edge order."""
        try:
            return cls(tuple(_OP_INDEX[n] for n in names))
        except KeyError as err:
            raise InvalidArchError(f"unknown operation {err.args[0]!r}; valid: {', '.join(OPS)}") from None

    @property
    def names(self) -> tuple[str, ...]:
        """The six operation names in edge order."""
        return tuple(OPS[o] for o in self.ops)

    @property
    def code(self) -> int:
        """robnas' own dense code in ``range(15625)``: the ops read as a base-5 number.

        This is *not* the NB201 index (that order comes from the release's meta); it is a
        stable, table-free key for arrays over the whole space.
        """
        value = 0
        for o in self.ops:
            value = value * NUM_OPS + o
        return value

    @classmethod
    def from_code(cls, code: int) -> Arch:
        """Inverse of :attr:`code`: a whole number in ``0..15624`` (a whole float passes; a
        fraction, a boolean or text is refused rather than truncated to another cell)."""
        if not (_is_int(code) or _is_whole_float(code)) or not 0 <= int(code) < NUM_CELLS:
            raise InvalidArchError(f"arch code must be a whole number in 0..{NUM_CELLS - 1}, got {code!r}")
        ops = []
        code = int(code)
        for _ in range(NUM_EDGES):
            code, o = divmod(code, NUM_OPS)
            ops.append(o)
        return cls(tuple(reversed(ops)))

    # -- neighbourhood -----------------------------------------------------------------------
    def neighbours(self) -> list[Arch]:
        """The 24 cells that differ from this one on exactly one edge (edge-major order)."""
        result = []
        for edge in range(NUM_EDGES):
            for op in range(NUM_OPS):
                if op != self.ops[edge]:
                    result.append(self.with_op(edge, op))
        return result

    def with_op(self, edge: int, op: int) -> Arch:
        """A copy with edge ``edge`` (0..5) set to operation ``op`` (0..4)."""
        ops = list(self.ops)
        ops[edge] = op
        return Arch(tuple(ops))

    def mutate(self, rng: np.random.Generator) -> Arch:
        """Uniform one-edge mutation: a random edge gets a different random operation."""
        edge = int(rng.integers(NUM_EDGES))
        shift = int(rng.integers(1, NUM_OPS))
        return self.with_op(edge, (self.ops[edge] + shift) % NUM_OPS)

    @classmethod
    def random(cls, rng: np.random.Generator) -> Arch:
        """A cell drawn uniformly from all 15,625."""
        return cls(tuple(int(o) for o in rng.integers(NUM_OPS, size=NUM_EDGES)))

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"Arch({self.to_string()!r})"


def _is_int(value: object) -> bool:
    """An int, or a NumPy integer (without importing NumPy); not a boolean (``True`` is no op index)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu")


def _is_whole_float(value: object) -> bool:
    """A Python or NumPy float holding a finite whole number."""
    is_float = isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f")
    return is_float and math.isfinite(float(value)) and float(value).is_integer()  # type: ignore[arg-type]


def all_archs() -> Iterator[Arch]:
    """Every one of the 15,625 cells, in :attr:`Arch.code` order."""
    for code in range(NUM_CELLS):
        yield Arch.from_code(code)


def all_ops_array() -> np.ndarray:
    """A ``(15625, 6)`` uint8 array of op indices, row ``c`` = ``Arch.from_code(c).ops``."""
    import numpy as np

    codes = np.arange(NUM_CELLS)
    digits = [(codes // NUM_OPS**p) % NUM_OPS for p in range(NUM_EDGES - 1, -1, -1)]
    return np.stack(digits, axis=1).astype(np.uint8)


def codes_of(archs: list[Arch] | tuple[Arch, ...]) -> np.ndarray:
    """Vectorised :attr:`Arch.code` for a sequence of archs (int64 array)."""
    import numpy as np

    if not archs:
        return np.zeros(0, dtype=np.int64)
    ops = np.asarray([a.ops for a in archs], dtype=np.int64)
    weights = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1, dtype=np.int64)
    return ops @ weights
