"""The hypervolume-improvement searcher: its acquisition against a brute-force computation with
Optuna's hypervolume, its neighbourhood candidates, its features, its Gaussian process against
scikit-learn's, and its learning on the real table."""

from __future__ import annotations

import re

import numpy as np
import pytest

from robnas.arch import Arch, all_ops_array
from robnas.encodings import cell_features
from robnas.isomorphism import class_code, class_code_array, functional_form
from robnas.multi_loop import run_multi_search
from robnas.pareto import hypervolume, non_dominated_mask
from robnas.searchers import HypervolumeImprovementSearch, PredictorSearch, RandomSearch
from robnas.searchers._hypervolume_search import LEAD_PARAMS


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


@pytest.mark.parametrize("candidates", ["neighbours", "neighbours+twins"])
def test_twin_candidates_add_the_functional_twins_of_the_front(candidates: str) -> None:
    # a front of one cell told far above all others (each later cell is told a dominated
    # vector): the proposals are exactly its unseen one-edge neighbours, and with
    # "neighbours+twins" also the unseen classes computing its function
    best = Arch.from_string("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    classes = class_code_array()
    neighbours = {class_code(n) for n in best.neighbours()} - {class_code(best)}
    twins = {int(c) for c in np.unique(classes)
             if functional_form(Arch.from_code(int(c))) == functional_form(best)} - {class_code(best)}
    assert twins - neighbours
    searcher = HypervolumeImprovementSearch(candidates=candidates, num_init=5, explore=0.0, seed=2)
    searcher.tell(best, (1.0, 1.0))
    told = {class_code(best)}
    for step in range(4):  # the random start
        arch = searcher.ask()
        searcher.tell(arch, (0.1 * step, 0.3 - 0.1 * step))
        told.add(class_code(arch))
    expected = (neighbours | (twins if candidates == "neighbours+twins" else set())) - told
    proposed = set()
    for step in range(len(expected)):
        arch = searcher.ask()
        searcher.tell(arch, (0.5 - 0.001 * step, 0.5))
        proposed.add(class_code(arch))
    assert proposed == expected


def test_edge_pair_features_are_products_of_two_edges_ops() -> None:
    # Every cell carries one op per edge, so exactly one pair column per pair of edges (15) is
    # set, and each set column is the product of two set one-hots of different edges.
    from robnas.encodings import with_edge_pairs

    ops = all_ops_array()[np.unique(class_code_array())]
    base = cell_features(ops)
    features = with_edge_pairs(base)
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
                                    {"features": "pairs"}, {"features": "cells+cost"},
                                    {"surrogate": "gp", "features": "edges", "ucb": 1.0}])
def test_beats_random_search_on_the_real_table(cifar10_oracle, params) -> None:
    # Paired by seed on CIFAR-10 (pgd@1/255, clean): a surrogate that learnt nothing, or an
    # acquisition pointed the wrong way, would not beat random search's hypervolume on average.
    objectives = ["pgd@1/255", "clean"]
    guided = [run_multi_search(HypervolumeImprovementSearch(seed=s, **params), cifar10_oracle,
                               objectives, 60).hypervolume for s in range(4)]
    plain = [run_multi_search(RandomSearch(seed=s), cifar10_oracle, objectives, 60).hypervolume
             for s in range(4)]
    assert np.mean(guided) > np.mean(plain)


@pytest.mark.parametrize("kind", ["cells+cost", "pairs+cost", "edges"])
def test_surrogate_features_add_the_exact_costs_or_keep_the_edges(kind: str) -> None:
    # The cost columns are each cell's parameters and FLOPs as robnas.cost counts them one cell
    # at a time (CIFAR-10), after the cell (or pair) features; "edges" is the one-hot block alone.
    from robnas import cost
    from robnas.encodings import surrogate_features, with_edge_pairs

    codes = np.unique(class_code_array())[::97]
    ops = all_ops_array()[codes]
    features = surrogate_features(ops, codes, kind)
    base = cell_features(ops)
    if kind == "edges":
        assert features.shape == (len(codes), 30)
        assert np.array_equal(features, base[:, :30])
        assert (features.sum(axis=1) == 6).all()
        return
    base = with_edge_pairs(base) if kind.startswith("pairs") else base
    assert features.shape == (len(codes), base.shape[1] + 2)
    assert np.array_equal(features[:, :-2], base)
    for row, code in enumerate(codes):
        arch = Arch.from_code(int(code))
        assert features[row, -2] == pytest.approx(cost.params(arch, "cifar10"), abs=1e-9)
        assert features[row, -1] == pytest.approx(cost.flops(arch, "cifar10"), abs=1e-9)
    assert len(np.unique(features[:, -1])) > 5  # the costs vary over the cells


def _gp_data(seed: int):
    rng = np.random.default_rng(seed)
    classes = np.unique(class_code_array())
    rows = rng.choice(len(classes), 60, replace=False)
    x = cell_features(all_ops_array()[classes[rows]])[:, :30]
    y = np.stack([np.sin(x @ rng.normal(size=30)), x @ rng.normal(size=30)], axis=1)
    return x, (y - y.mean(axis=0)) / y.std(axis=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_gp_predictions_match_scikit_learn(seed: int) -> None:
    # The exponentiated-Hamming GP against scikit-learn's GaussianProcessRegressor with the same
    # fixed kernel (an RBF of length sqrt(l) over the one-hot edges, s2 times it, and the noise as
    # white noise): same mean, and the same standard deviation in the upper confidence bound.
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    from robnas.searchers._hypervolume_search import _GaussianProcess, squared_distances

    x, y = _gp_data(seed)
    train, test = x[:40], x[40:]
    distance = squared_distances(train, train)
    assert np.array_equal(distance // 2, 6 - np.rint(train @ train.T))  # twice the Hamming distance
    for length, noise in [(1.0, 0.01), (4.0, 0.2)]:
        ours = _GaussianProcess(distance, y[:40, 0], length, noise)
        kernel = (ConstantKernel(ours.s2, "fixed") * RBF(np.sqrt(length), "fixed")
                  + WhiteKernel(ours.s2 * noise, "fixed"))
        model = GaussianProcessRegressor(kernel, optimizer=None, alpha=1e-12).fit(train, y[:40, 0])
        mean, sd = model.predict(test, return_std=True)
        sd = np.sqrt(np.clip(sd ** 2 - ours.s2 * noise, 0.0, None))  # scikit-learn adds the noise
        cross = squared_distances(test, train)
        assert np.allclose(ours.predict(cross, 0.0), mean, atol=1e-6)
        assert np.allclose(ours.predict(cross, 2.0), mean + 2.0 * sd, atol=1e-5)


def test_gp_hyperparameters_maximise_scikit_learns_marginal_likelihood() -> None:
    # The grid choice is the (length, noise) whose marginal likelihood, with the signal variance
    # at its maximum-likelihood value, scikit-learn rates highest.
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    from robnas.searchers._hypervolume_search import (
        GP_LENGTHS,
        GP_NOISES,
        _GaussianProcess,
        gp_hyperparameters,
        squared_distances,
    )

    x, y = _gp_data(2)
    distance = squared_distances(x, x)
    chosen = gp_hyperparameters(distance, y)
    for column in range(2):
        scores = {}
        for length in GP_LENGTHS:
            for noise in GP_NOISES:
                s2 = _GaussianProcess(distance, y[:, column], length, noise).s2
                kernel = (ConstantKernel(s2, "fixed") * RBF(np.sqrt(length), "fixed")
                          + WhiteKernel(s2 * noise, "fixed"))
                model = GaussianProcessRegressor(kernel, optimizer=None, alpha=1e-12).fit(x, y[:, column])
                scores[length, noise] = model.log_marginal_likelihood_value_
        assert chosen[column] == max(scores, key=scores.get)


@pytest.mark.parametrize("lead_every", [1, 3])
def test_lead_picks_are_the_lead_objectives_predictor_picks(cifar10_oracle, lead_every) -> None:
    # Proposals 1, 1 + N, 1 + 2N, ... are what a PredictorSearch (its own seed stream) proposes
    # when told the first objective of every cell told so far: replayed here with a fresh
    # predictor of the same seed, told the same values in the same order.
    objectives = ["pgd@1/255", "clean"]
    searcher = HypervolumeImprovementSearch(lead_every=lead_every, seed=5)
    searcher.ask()  # builds the lead
    replica = PredictorSearch(seed=searcher._lead.seed, **LEAD_PARAMS)
    searcher = HypervolumeImprovementSearch(lead_every=lead_every, seed=5)
    result = run_multi_search(searcher, cifar10_oracle, objectives, 40)
    lead_picks = 0
    for i, trial in enumerate(result.trials):
        arch = Arch.from_string(trial["arch"])
        if i % lead_every == 0:
            assert class_code(replica.ask()) == class_code(arch), i
            lead_picks += 1
        replica.tell(arch, trial["values"][0])
    assert lead_picks == len(range(0, 40, lead_every))
    # lead_every=1: a single-objective search of the lead objective, nothing of hvi left
    if lead_every == 1:
        alone = PredictorSearch(seed=searcher._lead.seed, **LEAD_PARAMS)
        from robnas.loop import run_search

        single = run_search(alone, cifar10_oracle, "pgd@1/255", 40)
        assert [t["arch"] for t in single.trials] == [t["arch"] for t in result.trials]


def test_lead_every_zero_keeps_hvi_and_bad_values_are_refused(cifar10_oracle) -> None:
    objectives = ["pgd@1/255", "clean"]
    plain = run_multi_search(HypervolumeImprovementSearch(seed=2), cifar10_oracle, objectives, 30)
    off = run_multi_search(HypervolumeImprovementSearch(lead_every=0, seed=2), cifar10_oracle, objectives, 30)
    assert [t["arch"] for t in plain.trials] == [t["arch"] for t in off.trials]
    on = run_multi_search(HypervolumeImprovementSearch(lead_every=3, seed=2), cifar10_oracle, objectives, 30)
    assert [t["arch"] for t in plain.trials] != [t["arch"] for t in on.trials]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match=r"lead_every must be an integer in 0\.\.6466"):
            HypervolumeImprovementSearch(lead_every=bad).validate_params()


def _side_upper_bounds(codes, values, seen, ucb):
    """Upper bounds (mean + ``ucb`` sd, in the values' units) on every column of ``values`` for
    every class not in ``seen``: Gaussian processes over features="cells" (the module's GP and
    hyperparameter choice, each checked against scikit-learn above) fitted to the standardised
    ``values`` of the classes ``codes``, the kernel chosen on this very data (kernel_every=1)."""
    from robnas.encodings import surrogate_features
    from robnas.searchers._hypervolume_search import _GaussianProcess, gp_hyperparameters, squared_distances

    classes = np.unique(class_code_array())
    features = surrogate_features(all_ops_array()[classes], classes, "cells")
    x = features[np.searchsorted(classes, codes)]
    mean, scale = values.mean(axis=0), values.std(axis=0)
    y = (values - mean) / np.where(scale > 0, scale, 1.0)
    distance = squared_distances(x, x)
    unseen = classes[~np.isin(classes, list(seen))]
    cross = squared_distances(features[np.searchsorted(classes, unseen)], x)
    upper = np.stack([_GaussianProcess(distance, y[:, j], length, noise).predict(cross, ucb)
                      for j, (length, noise) in enumerate(gp_hyperparameters(distance, y))], axis=1)
    return unseen, upper * np.where(scale > 0, scale, 1.0) + mean


def _told(result, n):
    codes = np.array([class_code(Arch.from_string(t["arch"])) for t in result.trials[:n]])
    return codes, np.array([t["values"] for t in result.trials[:n]], dtype=float)


@pytest.mark.parametrize("margin", [0.0, 0.01])
def test_constrained_picks_maximise_the_first_bound_within_the_margin_of_the_others(cifar10_oracle, margin) -> None:
    # constrained_every=2: after the 10 start cells, proposals 2, 4, 6 (the 12th, 14th, 16th
    # cells) are epsilon-constraint picks: of the unseen classes whose clean upper bound (mean +
    # 1 sd, GPs told every cell) is within `margin` of the best clean accuracy told, the one of
    # largest pgd@1/255 upper bound. Replayed from the run's cells; a pick of the largest bound
    # overall, of the largest mean, or a margin read the wrong way round would differ.
    objectives = ["pgd@1/255", "clean"]
    make = lambda: HypervolumeImprovementSearch(surrogate="gp", features="edges", ucb=1.0,  # noqa: E731
                                                constrained_every=2, constraint_margin=margin,
                                                kernel_every=1, seed=4)
    result = run_multi_search(make(), cifar10_oracle, objectives, 16)
    overall_best = []
    for n in (11, 13, 15):
        codes, values = _told(result, n)
        unseen, upper = _side_upper_bounds(codes, values, codes, 1.0)
        within = upper[:, 1] >= values[:, 1].max() - margin
        assert within.any() and not within.all()
        expected = unseen[within][upper[within, 0] >= upper[within, 0].max() - 1e-9]
        assert class_code(Arch.from_string(result.trials[n]["arch"])) in expected.tolist(), n
        overall_best.append(int(unseen[np.argmax(upper[:, 0])]))
    picks = [class_code(Arch.from_string(result.trials[n]["arch"])) for n in (11, 13, 15)]
    assert picks != overall_best  # the constraint changed at least one pick
    # the other proposals are hvi's own: the same as a run without constrained picks up to then
    plain = run_multi_search(HypervolumeImprovementSearch(surrogate="gp", features="edges", ucb=1.0,
                                                          kernel_every=1, seed=4),
                             cifar10_oracle, objectives, 11)
    assert [t["arch"] for t in plain.trials] == [t["arch"] for t in result.trials[:11]]


def test_the_gp_lead_is_told_only_the_start_and_its_own_picks(cifar10_oracle) -> None:
    # lead="gp", lead_every=2: after the start, proposals 1, 3, 5, ... are the lead's: the unseen
    # class of largest pgd@1/255 mean + lead_ucb sd from a GP told the 10 start cells and the
    # lead's earlier picks only. Replayed; a lead told every cell (hvi's picks too) would differ.
    objectives = ["pgd@1/255", "clean"]
    searcher = HypervolumeImprovementSearch(surrogate="gp", features="edges", ucb=1.0, lead="gp",
                                            lead_every=2, lead_ucb=2.0, kernel_every=1, seed=6)
    result = run_multi_search(searcher, cifar10_oracle, objectives, 30)
    codes, values = _told(result, 30)
    lead_rows = [*range(10), *range(10, 30, 2)]
    told_everything_differs = False
    for k, n in enumerate(range(10, 30, 2)):
        mine = lead_rows[:10 + k]
        unseen, upper = _side_upper_bounds(codes[mine], values[mine, :1], codes[:n], 2.0)
        assert codes[n] in unseen[upper[:, 0] >= upper[:, 0].max() - 1e-9].tolist(), n
        unseen_all, upper_all = _side_upper_bounds(codes[:n], values[:n, :1], codes[:n], 2.0)
        told_everything_differs |= int(unseen_all[np.argmax(upper_all[:, 0])]) != codes[n]
    assert told_everything_differs


def test_side_pick_options_are_checked() -> None:
    for params, message in [
        ({"lead": "forest", "lead_every": 2}, "lead must be one of predictor, gp; got 'forest'"),
        ({"lead": "gp"}, "lead=gp says who makes the lead's picks; give lead_every=N too"),
        ({"lead_ucb": 2.0, "lead_every": 2}, "lead_ucb is the lead=gp lead's"),
        ({"lead": "gp", "lead_every": 2, "lead_ucb": -1.0}, "lead_ucb must be a number >= 0.0 and <= 10.0"),
        ({"constrained_every": -1}, "constrained_every must be an integer in 0..6466"),
        ({"constrained_every": 1.5}, "constrained_every must be an integer in 0..6466"),
        ({"constraint_margin": 0.02}, "constraint_margin is the constrained picks'"),
        ({"constrained_every": 3, "constraint_margin": float("nan")}, "constraint_margin must be a number"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            HypervolumeImprovementSearch(**params).validate_params()
    HypervolumeImprovementSearch(lead="gp", lead_every=1, lead_ucb=0.0, constrained_every=1,
                                 constraint_margin=0.0).validate_params()


@pytest.mark.parametrize("outlier", [1.06, 50.0])
def test_a_constrained_pick_with_no_class_within_takes_the_least_shortfall(outlier) -> None:
    # One told cell's second objective the largest (the rest standard normals): no unseen
    # class's upper bound comes within the margin of it, so the pick is the class of largest
    # upper bound on that objective, over every unseen class. With 1.06 some classes'
    # optimistic bounds (mean + the prior's standard deviation, what the pruning of hopeless
    # classes reads) do reach it and with 50 none: the fallback must not stay within the
    # pruned set.
    from robnas.searchers._hypervolume_search import _GaussianProcess, gp_hyperparameters, squared_distances

    values = np.random.default_rng(0).normal(size=(10, 2))
    values[3, 1] = outlier
    searcher = HypervolumeImprovementSearch(surrogate="gp", features="edges", ucb=1.0, constrained_every=1,
                                            kernel_every=1, seed=0)
    codes = []
    for value in values:
        arch = searcher.ask()
        searcher.tell(arch, value)
        codes.append(class_code(arch))
    assert values[:, 1].max() == outlier
    unseen, upper = _side_upper_bounds(np.array(codes), values, codes, 1.0)
    assert upper[:, 1].max() < outlier - 0.01
    # the optimistic bound, as the pruning computes it
    from robnas.encodings import surrogate_features

    classes = np.unique(class_code_array())
    features = surrogate_features(all_ops_array()[classes], classes, "cells")
    x = features[np.searchsorted(classes, codes)]
    y = (values[:, 1] - values[:, 1].mean()) / values[:, 1].std()
    distance = squared_distances(x, x)
    model = _GaussianProcess(distance, y, *gp_hyperparameters(distance, y[:, None])[0])
    optimistic = ((model.predict(squared_distances(features[np.searchsorted(classes, unseen)], x), 0.0)
                   + np.sqrt(model.s2)) * values[:, 1].std() + values[:, 1].mean())
    assert (optimistic.max() >= outlier - 0.01) == (outlier < 50)
    picked = class_code(searcher.ask())
    assert picked in unseen[upper[:, 1] >= upper[:, 1].max() - 1e-9].tolist()


@pytest.mark.parametrize(("seed", "chunk"), [(0, 256), (1, 16), (2, 1)])
def test_pruned_improvements_pick_what_scoring_every_candidate_picks(seed, chunk, monkeypatch) -> None:
    # Upper bounds at or above each exact vector: the pruned scores' best candidates are those
    # of scoring every candidate (with a taken candidate, the best one, left out: it must not
    # prune the others), far fewer exact vectors are computed, and when nothing improves
    # every vector is (the caller's fallback reads them all).
    import robnas.searchers._hypervolume_search as module
    from robnas.pareto import hypervolume_improvements
    from robnas.searchers._hypervolume_search import _PrunedImprovements

    monkeypatch.setattr(module, "_PRUNE_CHUNK", chunk)

    rng = np.random.default_rng(seed)
    exact = rng.normal(size=(5000, 2))
    optimistic = exact + rng.uniform(0.0, 0.3, size=exact.shape)
    front = np.array([[1.5, 0.2], [1.0, 1.0], [0.2, 1.6]])
    reference, flags = np.array([-1.0, -1.0]), [True, True]
    exact[7] = optimistic[7] = (3.0, 3.0)  # taken, and far better than the rest
    full = hypervolume_improvements(exact, front, reference, flags)
    taken = np.zeros(len(exact), dtype=bool)
    taken[7] = True
    asked = []
    pruned = _PrunedImprovements(lambda index: asked.append(index.size) or exact[index], optimistic, 2)
    score = pruned.scores(front, reference, flags, taken)
    untaken = np.where(taken, -np.inf, full)
    assert np.flatnonzero(np.where(taken, -np.inf, score) == untaken.max()).tolist() == \
        np.flatnonzero(untaken == untaken.max()).tolist()
    computed = np.isfinite(score)
    assert np.array_equal(score[computed], full[computed]) and (full[~computed & ~taken] < untaken.max()).all()
    assert 0 < sum(asked) < len(exact) // 4
    # nothing improves: a front beyond every exact vector (not every bound)
    far = _PrunedImprovements(lambda index: exact[index], optimistic + 5.0, 2)
    score = far.scores(np.array([[9.0, 9.0]]), reference, flags, np.zeros(len(exact), dtype=bool))
    assert np.array_equal(score, np.zeros(len(exact))) and np.array_equal(far.vectors, exact)


def test_a_gp_round_over_many_candidates_prunes_without_changing_a_pick(cifar10_oracle, monkeypatch) -> None:
    # candidates="all" scores every unseen class (over 6,000): pruned, the run is the one of
    # scoring all of them, also with several picks per fit and three objectives
    import robnas.searchers._hypervolume_search as module

    for objectives, refit in ((["pgd@1/255", "clean"], 1), (["pgd@1/255", "clean", "params:min"], 3)):
        make = lambda refit=refit: HypervolumeImprovementSearch(  # noqa: E731
            surrogate="gp", features="edges", ucb=1.0, candidates="all", refit_every=refit, seed=3)
        pruned = run_multi_search(make(), cifar10_oracle, objectives, 40)
        with monkeypatch.context() as patch:
            patch.setattr(module, "_PRUNE_FROM", 10 ** 9)
            full = run_multi_search(make(), cifar10_oracle, objectives, 40)
        assert [t["arch"] for t in pruned.trials] == [t["arch"] for t in full.trials]
