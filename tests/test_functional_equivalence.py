"""Functional equivalence of cells (skip connections contracted, dead terms dropped), checked
against the cells' functions themselves: every cell is evaluated as a network of fixed
nonlinear maps, and equal functions must be exactly the cells with one functional code."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from robnas.arch import EDGES, NUM_CELLS, OPS, Arch, all_archs
from robnas.encodings import contracted_path_features
from robnas.isomorphism import (
    class_code_array,
    functional_class_count,
    functional_code,
    functional_code_array,
    functional_form,
    is_isomorphic,
)


def _cell_outputs() -> np.ndarray:
    """``(15625, 8)``: every cell's output for one input, with one fixed map per operation
    (weights shared between edges, so two cells with the same function give the same output;
    each map sends zero to zero, like pooling, and like a convolution up to its constant)."""
    rng = np.random.default_rng(0)
    size = 8
    maps = {
        "none": lambda z: np.zeros_like(z),
        "skip_connect": lambda z: z,
        "nor_conv_1x1": (lambda w: lambda z: np.tanh(z @ w))(rng.normal(size=(size, size))),
        "nor_conv_3x3": (lambda w: lambda z: np.tanh(z @ w))(rng.normal(size=(size, size))),
        "avg_pool_3x3": (lambda w: lambda z: z @ w)(rng.normal(size=(size, size))),
    }
    ops = np.array([arch.ops for arch in all_archs()])
    nodes = [np.tile(rng.normal(size=size), (NUM_CELLS, 1))]
    for target in (1, 2, 3):
        total = np.zeros((NUM_CELLS, size))
        for edge, (source, edge_target) in enumerate(EDGES):
            if edge_target != target:
                continue
            for op, name in enumerate(OPS):
                rows = ops[:, edge] == op
                total[rows] += maps[name](nodes[source][rows])
        nodes.append(total)
    return nodes[3]


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[object, set[int]] = defaultdict(set)
    for member, label in enumerate(labels):
        groups[label if np.isscalar(label) else tuple(label)].add(member)
    return {frozenset(g) for g in groups.values()}


def test_functional_classes_are_the_cells_with_equal_functions() -> None:
    outputs = np.round(_cell_outputs(), 9)
    assert _partition(functional_code_array()) == _partition(outputs)
    assert functional_class_count() == len(np.unique(outputs, axis=0))


def test_isomorphic_cells_are_functionally_equivalent_and_not_the_other_way_round() -> None:
    functional = functional_code_array()
    for members in _partition(class_code_array()):
        assert len({int(functional[m]) for m in members}) == 1
    assert functional_class_count() < len(np.unique(class_code_array()))
    # pooling the input once and passing it on by skips, or pooling it twice: one function
    a = Arch.from_string("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    b = Arch.from_string("|none~0|+|avg_pool_3x3~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    assert not is_isomorphic(a, b) and functional_code(a) == functional_code(b)


def test_functional_form_keeps_operations_multiplicities_and_order() -> None:
    def form(text: str) -> str:
        return functional_form(Arch.from_string(text))

    conv3 = form("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    assert conv3 == form("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")  # skip contracted
    assert conv3 != form("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    # two paths of the same convolution sum to a different function than one
    assert conv3 != form("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|")
    # conv then pool is not pool then conv
    assert form("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2|") != \
        form("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    # a convolution of a node with no live input is dropped
    assert conv3 == form("|none~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|nor_conv_3x3~2|")


def test_contracted_path_features_count_each_paths_operations_without_its_skips() -> None:
    arch = Arch.from_string(
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
    # paths: 0->3 avg_pool; 0->1->3 conv3x3, conv1x1; 0->2->3 cut by none; 0->1->2->3 conv3x3
    # columns: [skips only] [c1 c3 pool] [9 pairs, first op major] [27 triples]
    expected = np.zeros(40)
    expected[1 + 2] = 1  # (avg_pool)
    expected[1 + 1] = 1  # (nor_conv_3x3)
    expected[4 + 1 * 3 + 0] = 1  # (nor_conv_3x3, nor_conv_1x1)
    assert contracted_path_features(np.array([arch.ops]))[0].tolist() == expected.tolist()
    only_skips = Arch.from_string("|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
    assert contracted_path_features(np.array([only_skips.ops]))[0, 0] == 1


def test_contracted_path_features_are_equal_for_functional_twins() -> None:
    x = contracted_path_features(np.array([arch.ops for arch in all_archs()]))
    functional = functional_code_array()
    for members in _partition(functional):
        rows = x[sorted(members)]
        assert (rows == rows[0]).all()
