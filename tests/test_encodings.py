from __future__ import annotations

import pytest

from robnas.arch import all_archs
from robnas.encodings import NASLIB_EDGES, NASLIB_OPS, from_naslib_op_indices, to_naslib_op_indices
from robnas.errors import InvalidArchError


def _naslib_indices_from_string(text: str) -> tuple[int, ...]:
    """NASLib's own reading of an NB201 string: edge (u, v) over 1-indexed nodes is input
    u-1 of string node v-2, and op indices follow NASLib's op list."""
    node_ops = [[item.split("~")[0] for item in node.strip("|").split("|")] for node in text.split("+")]
    return tuple(NASLIB_OPS.index(node_ops[v - 2][u - 1]) for u, v in NASLIB_EDGES)


def test_against_naslibs_own_order_for_every_cell() -> None:
    assert NASLIB_OPS == ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    assert NASLIB_EDGES == ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))
    for arch in all_archs():
        expected = _naslib_indices_from_string(arch.to_string())
        assert to_naslib_op_indices(arch) == expected
        assert from_naslib_op_indices(expected) == arch


@pytest.mark.parametrize("bad", [(0, 1, 2), (0, 1, 2, 3, 4, 5), (0, 0, 0, 0, 0, -1), ("0",) * 6])
def test_malformed_naslib_indices_raise(bad) -> None:
    with pytest.raises(InvalidArchError):
        from_naslib_op_indices(bad)
