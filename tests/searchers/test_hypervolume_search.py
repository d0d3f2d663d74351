"""The hypervolume-improvement searcher: its acquisition against a brute-force computation with
Optuna's hypervolume, its neighbourhood candidates, and its learning on the real table."""

from __future__ import annotations

import numpy as np
import pytest

from robnas.arch import Arch, all_ops_array
from robnas.encodings import cell_features
from robnas.isomorphism import class_code, class_code_array
from robnas.multi_loop import run_multi_search
from robnas.pareto import hypervolume, non_dominated_mask
from robnas.searchers import HypervolumeImprovementSearch, RandomSearch


def _linear_world(seed: int):
    """Every class's 2-vector as a linear function of its one-hot edges (the first 30 of its
    features), so that a ridge fit on 1,000 random cells (enough for the full rank of the
    features) predicts every class exactly."""
    rng = np.random.default_rng(seed)
    classes = np.unique(class_code_array())
    onehot = cell_features(all_ops_array()[classes])[:, :30]
    return classes, onehot @ rng.normal(size=(30, 2))


@pytest.mark.parametrize("seed", [0, 1])
def test_proposes_the_class_of_largest_hypervolume_improvement(seed: int) -> None:
    # With a linear world, a ridge surrogate of tiny penalty predicts every class exactly, so the
    # first model-guided proposal must be the unseen class whose true vector adds most to the
    # hypervolume of the told front: checked one class at a time with Optuna's hypervolume,
    # and the reference point as documented (the told front's nadir moved out by margin x range).
    classes, values = _linear_world(seed)
    searcher = HypervolumeImprovementSearch(surrogate="ridge", ridge=1e-8, num_init=1000,
                                            refit_every=1, margin=0.1, candidates="all",
                                            explore=0.0, seed=seed)
    told = []
    for _ in range(1000):
        row = int(np.searchsorted(classes, class_code(searcher.ask())))
        searcher.tell(Arch.from_code(int(classes[row])), values[row])
        told.append(row)
    front = values[told][non_dominated_mask(values[told], [True, True])]
    reference = front.min(axis=0) - 0.1 * (front.max(axis=0) - front.min(axis=0))
    base = hypervolume(front, reference, [True, True])
    unseen = np.setdiff1d(np.arange(len(classes)), told)
    gains = np.array([hypervolume(np.vstack([front, values[r]]), reference, [True, True]) - base
                      for r in unseen])
    assert gains.max() > 0
    picked = int(np.searchsorted(classes, class_code(searcher.ask())))
    assert picked in set(unseen[gains >= gains.max() * (1 - 1e-6)].tolist())


def test_neighbourhood_candidates_are_one_edge_from_the_front() -> None:
    # candidates="neighbours" (no random exploration): after the random start, every proposal
    # differs on one edge from a cell of the front told so far (up to isomorphism).
    classes, values = _linear_world(3)
    searcher = HypervolumeImprovementSearch(surrogate="ridge", candidates="neighbours", num_init=10,
                                            refit_every=1, explore=0.0, seed=3)
    told: dict[int, np.ndarray] = {}
    for step in range(40):
        arch = searcher.ask()
        code = class_code(arch)
        if step >= 10:
            codes = list(told)
            vectors = np.array([told[c] for c in codes])
            front = [codes[i] for i in np.flatnonzero(non_dominated_mask(vectors, [True, True]))]
            near = {class_code(n) for c in front for n in Arch.from_code(c).neighbours()}
            assert code in near
        told[code] = values[int(np.searchsorted(classes, code))]
        searcher.tell(arch, told[code])


def test_edge_pair_features_are_products_of_two_edges_ops() -> None:
    # Every cell carries one op per edge, so exactly one pair column per pair of edges (15) is
    # set, and each set column is the product of two set one-hots of different edges.
    from robnas.searchers._hypervolume_search import _with_edge_pairs

    ops = all_ops_array()[np.unique(class_code_array())]
    base = cell_features(ops)
    features = _with_edge_pairs(base)
    assert np.array_equal(features[:, :base.shape[1]], base)
    pairs = features[:, base.shape[1]:]
    assert set(np.unique(pairs)) == {0.0, 1.0}
    assert (pairs.sum(axis=1) == 15).all()
    onehot = base[:, :30]
    for column in range(pairs.shape[1]):
        shared = np.flatnonzero(onehot[pairs[:, column] == 1].all(axis=0))  # set in all its rows
        assert any(np.array_equal(onehot[:, i] * onehot[:, j], pairs[:, column])
                   for i in shared for j in shared if i // 5 < j // 5)


@pytest.mark.parametrize("params", [{}, {"surrogate": "random_forest", "candidates": "all"},
                                    {"features": "pairs"}])
def test_beats_random_search_on_the_real_table(cifar10_oracle, params) -> None:
    # Paired by seed on CIFAR-10 (pgd@1/255, clean): a surrogate that learnt nothing, or an
    # acquisition pointed the wrong way, would not beat random search's hypervolume on average.
    objectives = ["pgd@1/255", "clean"]
    guided = [run_multi_search(HypervolumeImprovementSearch(seed=s, **params), cifar10_oracle,
                               objectives, 60).hypervolume for s in range(4)]
    plain = [run_multi_search(RandomSearch(seed=s), cifar10_oracle, objectives, 60).hypervolume
             for s in range(4)]
    assert np.mean(guided) > np.mean(plain)
