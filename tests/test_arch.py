from __future__ import annotations

import numpy as np
import pytest

from robnas.arch import EDGES, NUM_CELLS, OPS, Arch, all_archs, all_ops_array, codes_of
from robnas.errors import InvalidArchError, RobnasError

EXAMPLE = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"


def test_string_round_trip_for_every_cell() -> None:
    seen = set()
    for arch in all_archs():
        text = arch.to_string()
        assert Arch.from_string(text) == arch
        seen.add(text)
    assert len(seen) == NUM_CELLS


def test_ops_follow_nb201_string_order() -> None:
    arch = Arch.from_string(EXAMPLE)
    assert arch.names == ("nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "skip_connect")
    assert EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    assert OPS[arch.ops[0]] == "nor_conv_3x3"


def test_meta_strings_parse_to_distinct_cells(release_root) -> None:
    import json

    ids = json.loads((release_root / "meta.json").read_text())["ids"]
    archs = {Arch.from_string(v["nb201-string"]) for v in ids.values()}
    assert len(archs) == NUM_CELLS
    for key in ("0", "13433", "15624"):
        assert Arch.from_string(ids[key]["nb201-string"]).to_string() == ids[key]["nb201-string"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "|nor_conv_3x3~0|",
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|",
        "|conv~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
        "|nor_conv_3x3~1|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
        "|nor_conv_3x3~0|+|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
        "nor_conv_3x3~0+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
    ],
)
def test_malformed_strings_raise_a_robnas_error(bad: str) -> None:
    with pytest.raises(InvalidArchError):
        Arch.from_string(bad)


@pytest.mark.parametrize("ops", [(0, 1, 2), (0, 1, 2, 3, 4, 5), (-1, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 1.5)])
def test_bad_op_tuples_are_rejected(ops) -> None:
    with pytest.raises(RobnasError):
        Arch(ops)


def test_code_round_trip_and_vectorised_forms_agree() -> None:
    table = all_ops_array()
    rng = np.random.default_rng(0)
    for code in rng.integers(NUM_CELLS, size=200):
        arch = Arch.from_code(int(code))
        assert arch.code == code
        assert tuple(table[code]) == arch.ops
    archs = [Arch.from_code(int(c)) for c in range(0, NUM_CELLS, 97)]
    assert codes_of(archs).tolist() == [a.code for a in archs]
    with pytest.raises(InvalidArchError):
        Arch.from_code(NUM_CELLS)


@pytest.mark.parametrize("bad", [9611.5, -0.5, True, "9611", float("nan"), np.float64(2.7)])
def test_a_code_that_is_no_whole_number_is_refused_not_truncated(bad) -> None:
    # int() read 9611.5 as cell 9611, -0.5 as cell 0 and True as cell 1
    with pytest.raises(InvalidArchError, match=r"whole number in 0\.\.15624"):
        Arch.from_code(bad)


def test_whole_codes_of_any_numeric_type_are_read() -> None:
    expected = Arch.from_string(EXAMPLE)
    for code in (9611, 9611.0, np.int64(9611), np.uint16(9611), np.float64(9611.0)):
        assert Arch.from_code(code) == expected


def test_booleans_are_no_op_indices() -> None:
    with pytest.raises(InvalidArchError):
        Arch((True, False, 0, 0, 0, 0))  # was the cell |skip_connect~0|+|none~0|...
    assert Arch((np.int8(1), 0, 0, 0, 0, 0)).ops == (1, 0, 0, 0, 0, 0)


def test_neighbours_are_the_24_one_edge_changes() -> None:
    arch = Arch.from_string(EXAMPLE)
    neighbours = arch.neighbours()
    assert len(neighbours) == len(set(neighbours)) == 24
    for other in neighbours:
        assert sum(a != b for a, b in zip(arch.ops, other.ops, strict=True)) == 1


def test_mutation_changes_exactly_one_edge_uniformly() -> None:
    rng = np.random.default_rng(1)
    arch = Arch.from_string(EXAMPLE)
    counts: dict[Arch, int] = {}
    for _ in range(24_000):
        child = arch.mutate(rng)
        assert sum(a != b for a, b in zip(arch.ops, child.ops, strict=True)) == 1
        counts[child] = counts.get(child, 0) + 1
    assert set(counts) == set(arch.neighbours())
    assert min(counts.values()) > 800 and max(counts.values()) < 1200  # ~1000 each


def test_arch_is_hashable_and_immutable() -> None:
    arch = Arch.from_string(EXAMPLE)
    assert {arch: 1}[Arch.from_string(EXAMPLE)] == 1
    with pytest.raises(AttributeError):
        arch.ops = (0,) * 6  # type: ignore[misc]
