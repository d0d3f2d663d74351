from __future__ import annotations

import json
from collections import defaultdict

import pytest

from robnas.arch import CLASS_COUNT, NUM_CELLS, Arch, all_archs
from robnas.isomorphism import (
    canonical_form,
    class_code,
    class_code_array,
    class_count,
    class_representatives,
    is_isomorphic,
)


def _partition(labels: dict[int, object]) -> set[frozenset[int]]:
    groups: dict[object, set[int]] = defaultdict(set)
    for member, label in labels.items():
        groups[label].add(member)
    return {frozenset(g) for g in groups.values()}


def test_nb201_has_6466_classes() -> None:
    assert class_count() == 6466
    assert len(class_representatives()) == 6466
    assert class_count() == CLASS_COUNT  # the constant that messages and bounds use


def test_classes_equal_xautodl_to_unique_str_consider_zero() -> None:
    structure = pytest.importorskip("xautodl.models.cell_searchs.genotypes").Structure
    theirs = {a.code: structure.str2structure(a.to_string()).to_unique_str(consider_zero=True)
              for a in all_archs()}
    ours = {code: int(class_code_array()[code]) for code in range(NUM_CELLS)}
    assert _partition(ours) == _partition(theirs)


def test_classes_equal_the_release_isomorph_groups(release_root) -> None:
    ids = json.loads((release_root / "meta.json").read_text())["ids"]
    release = {int(i): int(v["isomorph"]) for i, v in ids.items()}
    ours = {int(i): class_code(Arch.from_string(v["nb201-string"])) for i, v in ids.items()}
    assert _partition(ours) == _partition(release)
    # the release names each class by its smallest NB201 index
    for members in _partition(release):
        assert {release[m] for m in members} == {min(members)}


def test_zero_handling_matches_nb201_rule() -> None:
    # node 1 is zero (none from input): every edge out of it contributes zero
    a = Arch.from_string("|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|")
    b = Arch.from_string("|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|")
    assert is_isomorphic(a, b)
    # ...but a node whose two inputs are both zero is not treated as zero downstream (NB201 detail)
    c = Arch.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")
    d = Arch.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    assert not is_isomorphic(c, d)
    assert canonical_form(c) != canonical_form(d)


def test_skip_connect_is_transparent_and_sums_are_unordered() -> None:
    # node1 = skip(input) is the input itself, so conv(node1) on edge (1,2) equals conv(input)
    # on edge (0,2); node 2 sums {conv3(in), zero} in either order.
    a = Arch.from_string("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    b = Arch.from_string("|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert is_isomorphic(a, b)
    c = Arch.from_string("|avg_pool_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    assert not is_isomorphic(a, c)
