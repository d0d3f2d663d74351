"""Conversions between :class:`~robnas.arch.Arch` and other libraries' NB201 encodings.

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

from collections.abc import Sequence

from robnas.arch import EDGES, NUM_EDGES, OPS, Arch
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
    """The ``Arch`` of NASLib op indices (a sequence of six ints in 0..4)."""
    values = list(op_indices)
    if len(values) != NUM_EDGES or not all(
        isinstance(v, int) and 0 <= v < len(NASLIB_OPS) for v in values
    ):
        raise InvalidArchError(
            f"NASLib op indices must be {NUM_EDGES} ints in 0..{len(NASLIB_OPS) - 1}, got {op_indices!r}"
        )
    ops = [0] * NUM_EDGES
    for naslib_position, arch_position in enumerate(_EDGE_POSITION):
        ops[arch_position] = _OP_TO_NB201[values[naslib_position]]
    return Arch(tuple(ops))
