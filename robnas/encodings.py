"""Conversions between :class:`~robnas.arch.Arch` and other encodings of NB201 cells.

Two kinds live here: other libraries' cell encodings (NASLib's op indices, below), and the
numeric feature encodings that surrogate models learn from (:func:`cell_features`: one-hot
edges, the path encoding of White et al.'s BANANAS, operation counts), vectorised over arrays
of cells.

NASLib encodes a cell as six "op indices" with its own operation order
``skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3`` and its own edge order
``(1,2) (1,3) (1,4) (2,3) (2,4) (3,4)`` over 1-indexed nodes (node 1 is the cell input).
Both orders differ from NB201's string order that ``Arch`` uses.

>>> from robnas.arch import Arch
>>> arch = Arch.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
>>> to_naslib_op_indices(arch)
(2, 1, 4, 0, 3, 0)
>>> from_naslib_op_indices((2, 1, 4, 0, 3, 0)) == arch
True
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from robnas.arch import EDGES, NUM_EDGES, NUM_OPS, OPS, Arch
from robnas.errors import InvalidArchError

NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
"""NASLib's operation order (its ``Identity, Zero, ReLUConvBN3x3, ReLUConvBN1x1, AvgPool1x1``)."""

NASLIB_EDGES: tuple[tuple[int, int], ...] = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))
"""NASLib's edge order over 1-indexed nodes."""

# position in Arch.ops of each NASLib edge, and NASLib op index -> NB201 op index
_EDGE_POSITION = tuple(EDGES.index((u - 1, v - 1)) for u, v in NASLIB_EDGES)
_OP_TO_NB201 = tuple(OPS.index(name) for name in NASLIB_OPS)
_OP_FROM_NB201 = tuple(NASLIB_OPS.index(name) for name in OPS)


def to_naslib_op_indices(arch: Arch) -> tuple[int, ...]:
    """NASLib's six op indices for ``arch``."""
    return tuple(_OP_FROM_NB201[arch.ops[pos]] for pos in _EDGE_POSITION)


def from_naslib_op_indices(op_indices: Sequence[int]) -> Arch:
    """The ``Arch`` of NASLib op indices: six integers in 0..4, Python or NumPy (NASLib's own
    ``np.random.randint(5, size=6)`` gives an array); booleans and fractions are refused."""
    values = list(op_indices)
    if len(values) != NUM_EDGES or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) and 0 <= v < len(NASLIB_OPS)
        for v in values
    ):
        raise InvalidArchError(
            f"NASLib op indices must be {NUM_EDGES} ints in 0..{len(NASLIB_OPS) - 1}, got {op_indices!r}"
        )
    ops = [0] * NUM_EDGES
    for naslib_position, arch_position in enumerate(_EDGE_POSITION):
        ops[arch_position] = _OP_TO_NB201[int(values[naslib_position])]
    return Arch(tuple(ops))


PATHS: tuple[tuple[int, ...], ...] = (
    (EDGES.index((0, 3)),),
    (EDGES.index((0, 1)), EDGES.index((1, 3))),
    (EDGES.index((0, 2)), EDGES.index((2, 3))),
    (EDGES.index((0, 1)), EDGES.index((1, 2)), EDGES.index((2, 3))),
)
"""The four input-to-output paths of the cell, as positions in :attr:`Arch.ops`."""

_NONE = OPS.index("none")
_PATH_OPS = NUM_OPS - 1  # a path through "none" carries nothing: it is left out


def cell_features(ops: np.ndarray) -> np.ndarray:
    """Numeric features of cells for surrogate models: ``(n, 6) op indices -> (n, 135)``.

    Columns: the one-hot operation of every edge (30, edge-major), the path encoding (100: for
    each of the four :data:`PATHS`, a one-hot of its operation sequence over the four
    operations other than ``none``, all zero when a ``none`` cuts the path; after BANANAS'
    path encoding, White et al. 2021), and the count of each operation (5).

    >>> from robnas.arch import Arch
    >>> arch = Arch.from_string(
    ...     "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
    >>> x = cell_features(np.array([arch.ops]))
    >>> x.shape, int(x[0, :30].sum()), int(x[0, 30:130].sum()), x[0, 130:].tolist()
    ((1, 135), 6, 3, [1.0, 2.0, 1.0, 1.0, 1.0])
    """
    ops = np.asarray(ops, dtype=np.int64)
    rows = np.arange(len(ops))
    onehot = np.zeros((len(ops), NUM_EDGES * NUM_OPS))
    onehot[rows[:, None], np.arange(NUM_EDGES) * NUM_OPS + ops] = 1.0
    blocks = [onehot]
    for path in PATHS:
        steps = ops[:, path] - 1  # ops other than none, renumbered 0..3 (none = 0 in OPS)
        alive = (ops[:, path] != _NONE).all(axis=1)
        position = np.zeros(len(ops), dtype=np.int64)
        for step in range(len(path)):
            position = position * _PATH_OPS + np.clip(steps[:, step], 0, _PATH_OPS - 1)
        block = np.zeros((len(ops), _PATH_OPS ** len(path)))
        block[rows[alive], position[alive]] = 1.0
        blocks.append(block)
    blocks.append(np.stack([(ops == op).sum(axis=1) for op in range(NUM_OPS)], axis=1).astype(float))
    return np.hstack(blocks)


_SKIP = OPS.index("skip_connect")
_COMPUTE_OPS = NUM_OPS - 2  # operations other than none and skip_connect
_CONTRACTED_OFFSETS = tuple(sum(_COMPUTE_OPS ** k for k in range(length)) for length in range(4))
CONTRACTED_PATH_COLUMNS = sum(_COMPUTE_OPS ** length for length in range(4))
"""Columns of :func:`contracted_path_features`: one per sequence of 0 to 3 computing operations (40)."""


def contracted_path_features(ops: np.ndarray) -> np.ndarray:
    """The path encoding of the cell's function: ``(n, 6) op indices -> (n, 40)``.

    For each of the four :data:`PATHS` not cut by ``none``, its sequence of operations with the
    ``skip_connect`` steps left out (a skip passes its input on), counted per sequence: column
    0 counts the pure skip paths, then one column per sequence of one, two and three of
    ``nor_conv_1x1, nor_conv_3x3, avg_pool_3x3``. Functionally equivalent cells
    (:func:`robnas.isomorphism.functional_form`) get the same row, so a surrogate over these
    columns carries what it learnt about one cell to its twins.

    >>> from robnas.arch import Arch
    >>> a = Arch.from_string("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    >>> b = Arch.from_string("|none~0|+|avg_pool_3x3~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    >>> x = contracted_path_features(np.array([a.ops, b.ops]))
    >>> bool((x[0] == x[1]).all()), int(x[0].sum())
    (True, 2)
    """
    ops = np.asarray(ops, dtype=np.int64)
    rows = np.arange(len(ops))
    offsets = np.asarray(_CONTRACTED_OFFSETS)
    out = np.zeros((len(ops), CONTRACTED_PATH_COLUMNS))
    for path in PATHS:
        position = np.zeros(len(ops), dtype=np.int64)
        length = np.zeros(len(ops), dtype=np.int64)
        for step in ops[:, path].T:
            computing = step != _SKIP  # nor_conv_1x1, nor_conv_3x3, avg_pool -> digits 0, 1, 2
            position = np.where(computing, position * _COMPUTE_OPS + step - 2, position)
            length += computing
        alive = (ops[:, path] != _NONE).all(axis=1)
        np.add.at(out, (rows[alive], offsets[length[alive]] + position[alive]), 1.0)
    return out


def surrogate_features(ops: np.ndarray, codes: np.ndarray, kind: str) -> np.ndarray:
    """Surrogate features of the cells ``ops`` (``(n, 6)`` op indices) whose
    :attr:`Arch.code <robnas.arch.Arch.code>` are ``codes``, by ``kind``: ``cells``
    (:func:`cell_features`), ``pairs`` (:func:`with_edge_pairs` of those), ``edges`` (the one-hot
    edges alone), ``cells+function`` (:func:`cell_features` and :func:`contracted_path_features`),
    ``cells+cost`` or ``pairs+cost`` (plus the cells' parameters and FLOPs from
    :func:`robnas.cost.cost_arrays`, CIFAR-10's, as two last columns, unscaled)."""
    x = cell_features(ops)
    base = kind.removesuffix("+cost")
    if base == "edges":
        x = x[:, :NUM_EDGES * NUM_OPS]
    elif base == "pairs":
        x = with_edge_pairs(x)
    elif base == "cells+function":
        x = np.hstack([x, contracted_path_features(ops)])
    if kind.endswith("+cost"):
        from robnas.cost import cost_arrays

        cost = cost_arrays()  # CIFAR-10's; other datasets' differ by a monotone rescaling
        x = np.hstack([x, cost["params"][codes, None], cost["flops"][codes, None]])
    return x


def with_edge_pairs(features: np.ndarray) -> np.ndarray:
    """``features`` and the products of every pair of its edge one-hots (its first
    ``NUM_EDGES * NUM_OPS`` columns) on different edges that is non-zero for some row."""
    onehot = features[:, :NUM_EDGES * NUM_OPS]
    first, second = np.triu_indices(onehot.shape[1], 1)
    different = first // NUM_OPS != second // NUM_OPS
    pairs = onehot[:, first[different]] * onehot[:, second[different]]
    return np.hstack([features, pairs[:, pairs.any(axis=0)]])
