"""Every multi-objective searcher (``robnas.searchers.MULTI_OBJECTIVE_SEARCHERS``) passes the
vector conformance suite of :mod:`robnas.searchers.testing` on the real CIFAR-10 table."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, HypervolumeImprovementSearch, ParetoLocalSearch
from robnas.searchers.testing import MultiObjectiveConformance

SLOW = {"motpe"}
"""Optuna's multi-objective TPE takes about 0.15 s per trial: checked on a smaller budget."""
VARIANTS: dict[str, Any] = {
    **{name: cls for name, cls in MULTI_OBJECTIVE_SEARCHERS.items() if name not in SLOW},
    "pls-full": partial(ParetoLocalSearch, variant="full"),
    "hvi-forest": partial(HypervolumeImprovementSearch, surrogate="random_forest", candidates="all"),
    "hvi-bayes": partial(HypervolumeImprovementSearch, surrogate="bayes_ridge", refit_every=3,
                         acquisition="tchebycheff"),
    "hvi-gp": partial(HypervolumeImprovementSearch, surrogate="gp", features="edges", ucb=1.0),
    "hvi-gp-cells": partial(HypervolumeImprovementSearch, surrogate="gp", kernel_every=3),
    "hvi-cost": partial(HypervolumeImprovementSearch, features="pairs+cost"),
}


@pytest.fixture(params=sorted(VARIANTS))
def make_searcher(request: pytest.FixtureRequest):
    factory = VARIANTS[request.param]
    return lambda seed: factory(seed=seed)


@pytest.fixture
def oracle(cifar10_oracle):
    return cifar10_oracle


class TestMultiObjectiveConformance(MultiObjectiveConformance):
    pass


class TestSlowSearchers(MultiObjectiveConformance):
    budget = 12

    @pytest.fixture(params=sorted(SLOW))
    def make_searcher(self, request: pytest.FixtureRequest):
        cls = MULTI_OBJECTIVE_SEARCHERS[request.param]
        return lambda seed: cls(seed=seed)


def test_every_registered_searcher_is_covered() -> None:
    assert set(MULTI_OBJECTIVE_SEARCHERS) <= set(VARIANTS) | SLOW
