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


def test_naslib_indices_as_numpy_integers() -> None:
    # NASLib samples a cell as np.random.randint(5, size=6): an array of NumPy integers
    import numpy as np

    arch = from_naslib_op_indices((3, 0, 2, 3, 1, 4))
    assert from_naslib_op_indices(np.array([3, 0, 2, 3, 1, 4])) == arch
    assert from_naslib_op_indices(np.array([3, 0, 2, 3, 1, 4], dtype=np.int32)) == arch
    assert from_naslib_op_indices([np.int64(3), 0, 2, 3, 1, 4]) == arch
    assert arch.ops == tuple(int(op) for op in arch.ops)  # stored as Python ints, hashable as ever


@pytest.mark.parametrize("bad", [(0, 1, 2), (0, 1, 2, 3, 4, 5), (0, 0, 0, 0, 0, -1), ("0",) * 6,
                                 (True, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 1.0)])
def test_malformed_naslib_indices_raise(bad) -> None:
    with pytest.raises(InvalidArchError):
        from_naslib_op_indices(bad)
