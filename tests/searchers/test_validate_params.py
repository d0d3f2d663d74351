"""Each searcher checks its hyperparameters in one pure place, ``validate_params``.

Pure: it builds nothing (no Optuna study, no random generator), so the CLI can call it before a
run record exists. The error is both a ``RobnasError`` (one CLI line) and a ``ValueError``.
"""

from __future__ import annotations

import re

import pytest

from robnas.arch import CLASS_COUNT
from robnas.errors import InvalidParameterError, RobnasError
from robnas.searchers import (
    MULTI_OBJECTIVE_SEARCHERS,
    SEARCHERS,
    LocalSearch,
    OptunaSearch,
    RegularizedEvolution,
    validate_params,
)

BAD: list[tuple[str, dict[str, object], str]] = [
    ("ls", {"num_init": 0}, "num_init must be an integer in 1..6466, got 0"),
    ("ls", {"num_init": CLASS_COUNT + 1}, "num_init must be an integer in 1..6466, got 6467"),
    ("ls", {"num_init": 2.0}, "num_init must be an integer in 1..6466, got 2.0 (float)"),
    ("ls", {"variant": "middle"}, "variant must be one of best, first; got 'middle'"),
    ("re", {"population_size": 1e9}, "population_size must be an integer in 1..6466, got 1000000000.0 (float)"),
    ("re", {"population_size": "abc"}, "population_size must be an integer in 1..6466, got 'abc' (str)"),
    ("re", {"population_size": True}, "population_size must be an integer in 1..6466, got True (bool)"),
    ("re", {"population_size": 5, "sample_size": 6}, "sample_size must be an integer in 1..5"),
    ("re", {"population_size": 5},
     "sample_size must be an integer in 1..5 (population_size), got 10 (its default): set sample_size too"),
    ("re", {"sample_size": 0}, "sample_size must be an integer >= 1, got 0"),
    ("bo", {"n_startup_trials": -3}, "n_startup_trials must be an integer in 0..6466, got -3"),
    ("bo", {"max_repeats": -1}, "max_repeats must be an integer >= 1, got -1"),
    ("bo", {"max_repeats": 0}, "max_repeats must be an integer >= 1, got 0"),
    ("bo", {"sampler": "cmaes"}, "sampler must be one of tpe, gp; got 'cmaes'"),
    ("bo", {"design": "sobol"}, "design must be one of random, orthogonal; got 'sobol'"),
    ("re", {"design": "lhs"}, "design must be one of random, orthogonal; got 'lhs'"),
    ("ls", {"design": "grid"}, "design must be one of random, orthogonal; got 'grid'"),
    ("random", {"seed": -1}, "seed must be an integer in 0..4294967295, got -1"),
    ("bo", {"seed": 2**32}, "seed must be an integer in 0..4294967295, got 4294967296"),
    ("re", {"seed": 1.5}, "seed must be an integer in 0..4294967295, got 1.5 (float)"),
    ("re", {"warmup": "params"}, "warmup='params' needs its scores"),
    ("ls", {"warmup": "flops"}, "warmup='flops' needs its scores"),
    ("ls", {"warmup": ""}, "warmup must be a measure name"),
    ("re", {"warmup": 3}, "warmup must be a measure name"),
    ("predictor", {"prior": "params"}, "prior='params' needs its scores"),
    ("bo", {"warmup": "params"}, "warmup='params' needs its scores"),
    ("bo", {"warmup": 7}, "warmup must be a measure name"),
    ("predictor", {"n_estimators": 0}, "n_estimators must be an integer in 1..1000, got 0"),
    ("bo", {"storage": "nosuchdb://x"}, "storage 'nosuchdb://x' is not a usable database URL"),
    ("bo", {"storage": ""}, "storage must be a database URL"),
    ("bo", {"study_name": ""}, "study_name must be a non-empty string"),
]


@pytest.mark.parametrize(("name", "params", "message"), BAD, ids=[f"{n}-{p}" for n, p, _ in BAD])
def test_bad_parameters_are_refused_by_validate_and_by_the_first_ask(name, params, message) -> None:
    searcher = SEARCHERS[name](**params)
    with pytest.raises(InvalidParameterError) as info:
        validate_params(searcher)
    assert message in str(info.value)
    assert isinstance(info.value, RobnasError) and isinstance(info.value, ValueError)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        searcher.ask()  # the same check guards Python users who never call validate_params


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_defaults_and_the_edges_of_each_range_are_accepted(name) -> None:
    validate_params(SEARCHERS[name]())
    validate_params(SEARCHERS[name](seed=0))
    validate_params(SEARCHERS[name](seed=2**32 - 1))


def test_edges() -> None:
    validate_params(LocalSearch(num_init=1))
    validate_params(LocalSearch(num_init=CLASS_COUNT, variant="first"))
    validate_params(RegularizedEvolution(population_size=1, sample_size=1))
    validate_params(OptunaSearch(n_startup_trials=0, max_repeats=1, sampler="gp"))


def test_validation_builds_no_study_and_no_generator() -> None:
    searcher = OptunaSearch(sampler="gp", n_startup_trials=3, seed=1)
    validate_params(searcher)
    assert searcher.study is None and searcher._rng is None
    evolution = RegularizedEvolution(seed=1)
    validate_params(evolution)
    assert evolution._rng is None


def test_a_searcher_without_validate_params_passes_unchecked() -> None:
    class Plain:
        seed = None

    validate_params(Plain())


def test_handed_scores_satisfy_the_warm_start(tmp_path) -> None:
    import numpy as np

    from robnas.arch import NUM_CELLS

    for searcher in (RegularizedEvolution(warmup="params"), LocalSearch(warmup="params")):
        searcher.use_scores(np.zeros(NUM_CELLS))
        validate_params(searcher)
    validate_params(OptunaSearch(storage=f"sqlite:///{tmp_path / 'optuna.db'}", study_name="s"))
    assert not any(tmp_path.iterdir())  # the storage is checked, not opened


@pytest.mark.parametrize("searcher_class", [RegularizedEvolution, LocalSearch, OptunaSearch])
def test_an_orthogonal_design_and_a_warmup_are_refused_together(searcher_class) -> None:
    import numpy as np

    from robnas.arch import NUM_CELLS

    searcher = searcher_class(design="orthogonal", warmup="flops")
    searcher.use_scores(np.zeros(NUM_CELLS))
    with pytest.raises(InvalidParameterError, match="design=orthogonal and warmup=flops both pick"):
        validate_params(searcher)
    validate_params(searcher_class(design="orthogonal"))  # either alone is fine
    searcher = searcher_class(design="random", warmup="flops")
    searcher.use_scores(np.zeros(NUM_CELLS))
    validate_params(searcher)


MULTI_BAD: list[tuple[str, dict[str, object], str]] = [
    ("pls", {"num_init": 0}, "num_init must be an integer in 1..6466, got 0"),
    ("pls", {"variant": "best"}, "variant must be one of first, full; got 'best'"),
    ("pls", {"seed": -1}, "seed must be an integer in 0..4294967295, got -1"),
    ("parego", {"num_init": 2.5}, "num_init must be an integer in 1..6466, got 2.5 (float)"),
    ("parego", {"ridge": 0.0}, "ridge must be a number > 0.0, got 0.0"),
    ("parego", {"ridge": float("nan")}, "ridge must be a number > 0.0, got nan"),
    ("parego", {"explore": 1.5}, "explore must be a number >= 0.0 and <= 1.0, got 1.5"),
    ("parego", {"explore": "often"}, "explore must be a number >= 0.0 and <= 1.0, got 'often' (str)"),
    ("parego", {"rho": -0.1}, "rho must be a number >= 0.0, got -0.1"),
    ("hvi", {"surrogate": "svm"},
     "surrogate must be one of random_forest, extra_trees, bayes_ridge, ridge, gp; got 'svm'"),
    ("hvi", {"acquisition": "ei"}, "acquisition must be one of hvi, tchebycheff; got 'ei'"),
    ("hvi", {"candidates": "near"}, "candidates must be one of neighbours, neighbours+twins, all; got 'near'"),
    ("hvi", {"features": "quad"},
     "features must be one of cells, pairs, cells+function, cells+cost, pairs+cost, edges; got 'quad'"),
    ("hvi", {"surrogate": "gp", "features": "cells+cost"},
     "features must be one of cells, edges with surrogate=gp; got 'cells+cost'"),
    ("hvi", {"ucb": 1.0}, "ucb must be 0 unless surrogate=gp; got 1.0 with surrogate=ridge"),
    ("hvi", {"surrogate": "gp", "ucb": -1}, "ucb must be a number >= 0.0 and <= 10.0, got -1"),
    ("hvi", {"surrogate": "gp", "kernel_every": 0}, "kernel_every must be an integer in 1..6466, got 0"),
    ("hvi", {"n_estimators": 0}, "n_estimators must be an integer in 1..1000, got 0"),
    ("hvi", {"refit_every": 0}, "refit_every must be an integer in 1..6466, got 0"),
    ("hvi", {"explore": -0.5}, "explore must be a number >= 0.0 and <= 1.0, got -0.5"),
    ("hvi", {"margin": float("inf")}, "margin must be a number >= 0.0 and <= 10.0, got inf"),
    ("hvi", {"ridge": 0}, "ridge must be a number > 0.0, got 0"),
    ("nsga2", {"population_size": 1}, "population_size must be an integer in 2..6466, got 1"),
    ("nsga2", {"sampler": "gp"}, "sampler must be one of nsga2, tpe; got 'gp'"),
    ("motpe", {"n_startup_trials": -1}, "n_startup_trials must be an integer in 0..6466, got -1"),
    ("motpe", {"max_repeats": 0}, "max_repeats must be an integer >= 1, got 0"),
    ("motpe", {"multivariate": "yes"}, "multivariate must be true or false, got 'yes'"),
    ("nsga2", {"multivariate": 1}, "multivariate must be true or false, got 1"),
]


@pytest.mark.parametrize(("name", "params", "message"), MULTI_BAD,
                         ids=[f"{n}-{p}" for n, p, _ in MULTI_BAD])
def test_multi_objective_searchers_validate_too(name, params, message) -> None:
    searcher = MULTI_OBJECTIVE_SEARCHERS[name](**params)
    with pytest.raises(InvalidParameterError) as info:
        validate_params(searcher)
    assert message in str(info.value)
    with pytest.raises(InvalidParameterError, match="must be"):
        searcher.ask()


@pytest.mark.parametrize("name", sorted(MULTI_OBJECTIVE_SEARCHERS))
def test_multi_objective_defaults_and_edges_are_accepted(name) -> None:
    validate_params(MULTI_OBJECTIVE_SEARCHERS[name]())
    validate_params(MULTI_OBJECTIVE_SEARCHERS[name](seed=2**32 - 1))
    validate_params(MULTI_OBJECTIVE_SEARCHERS["parego"](ridge=1e-9, explore=1.0, rho=0.0))
    validate_params(MULTI_OBJECTIVE_SEARCHERS["hvi"](explore=1.0, margin=0.0, n_estimators=1000,
                                                     refit_every=6466, surrogate="extra_trees"))
    validate_params(MULTI_OBJECTIVE_SEARCHERS["hvi"](surrogate="gp", features="edges", ucb=10.0,
                                                     kernel_every=6466))
    validate_params(MULTI_OBJECTIVE_SEARCHERS["hvi"](features="pairs+cost"))
    validate_params(MULTI_OBJECTIVE_SEARCHERS["nsga2"](population_size=2, n_startup_trials=0))


@pytest.mark.parametrize("registry", [SEARCHERS, MULTI_OBJECTIVE_SEARCHERS], ids=["single", "multi"])
def test_check_param_names_takes_every_constructor_keyword_and_nothing_else(registry) -> None:
    """One check of keyword names serves make_searcher, make_multi_searcher, the CLI and compare:
    every keyword a searcher's constructor takes passes, a misspelt one is refused by name, and a
    keyword the caller sets apart (its own --seed) is neither accepted nor listed as valid."""
    from robnas.errors import InvalidSearcherError
    from robnas.searchers import check_param_names, get_params

    for name in registry:
        cls = registry[name]
        keywords = list(get_params(cls()))
        check_param_names(cls, name, keywords)
        with pytest.raises(InvalidSearcherError, match=f"^searcher {name} has no parameter 'seeed'; valid: "):
            check_param_names(cls, name, [*keywords, "seeed"])
        with pytest.raises(InvalidSearcherError) as caught:
            check_param_names(cls, name, ["seed"], set_apart=("seed",))
        listed = str(caught.value).split("valid: ", 1)[1]
        assert listed == (", ".join(k for k in keywords if k != "seed") or "none")


def test_check_param_names_lists_the_constructor_order_and_names_the_first_unknown() -> None:
    from robnas.errors import InvalidSearcherError
    from robnas.searchers import check_param_names

    with pytest.raises(InvalidSearcherError) as caught:
        check_param_names(RegularizedEvolution, "re", ["zeta", "alpha", "sample_size"],
                          set_apart=("seed",), none="-")
    assert str(caught.value) == ("searcher re has no parameter 'alpha'; valid: population_size, "
                                 "sample_size, warmup, design")
