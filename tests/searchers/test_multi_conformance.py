"""Every multi-objective searcher (``robnas.searchers.MULTI_OBJECTIVE_SEARCHERS``) passes the
vector conformance suite of :mod:`robnas.searchers.testing` on the real CIFAR-10 table."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, HypervolumeImprovementSearch, ParetoLocalSearch
from robnas.searchers.testing import MultiObjectiveConformance

VARIANTS: dict[str, Any] = {
    **MULTI_OBJECTIVE_SEARCHERS,
    "pls-full": partial(ParetoLocalSearch, variant="full"),
    "hvi-forest": partial(HypervolumeImprovementSearch, surrogate="random_forest", candidates="all"),
    "hvi-bayes": partial(HypervolumeImprovementSearch, surrogate="bayes_ridge", refit_every=3,
                         acquisition="tchebycheff"),
    "hvi-gp": partial(HypervolumeImprovementSearch, surrogate="gp", features="edges", ucb=1.0),
    "hvi-gp-cells": partial(HypervolumeImprovementSearch, surrogate="gp", kernel_every=3),
    "hvi-cost": partial(HypervolumeImprovementSearch, features="pairs+cost"),
    "hvi-lead": partial(HypervolumeImprovementSearch, lead_every=2),
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


class TestSidePickConformance(MultiObjectiveConformance):
    """``hvi`` with the side picks (``lead="gp"`` and ``constrained_every``), the best measured
    on CIFAR-10 (pgd@1/255, clean): both kinds of side pick chase the first objective, so with
    a first objective that bad cells maximise (pgd@1/255 minimised) they spend 5 of every 9
    proposals there, and the top tenth of clean accuracy is missed in 2 of 20 runs even by 100
    cells (seed 1: 0.931, the tenth begins at 0.932), where random search misses it with
    probability 0.9**60 = 0.002 by 60: a known weakness, kept visible (strict: the check must
    fail until it is fixed)."""

    @pytest.fixture
    def make_searcher(self):
        return lambda seed: HypervolumeImprovementSearch(surrogate="gp", features="edges", ucb=1.0, lead="gp",
                                                         lead_every=3, constrained_every=3, seed=seed)

    @pytest.mark.xfail(strict=True, reason="the side picks chase a first objective that bad cells maximise")
    def test_follows_each_direction(self, make_searcher, oracle) -> None:
        super().test_follows_each_direction(make_searcher, oracle)


class TestThreeObjectives(MultiObjectiveConformance):
    """The registered searchers on three objectives, one of them minimised (the vector checks
    that drive a searcher without the loop negate it as the loop does)."""

    objectives = ("pgd@1/255", "clean", "params:min")

    @pytest.fixture(params=sorted(MULTI_OBJECTIVE_SEARCHERS))
    def make_searcher(self, request: pytest.FixtureRequest):
        cls = MULTI_OBJECTIVE_SEARCHERS[request.param]
        return lambda seed: cls(seed=seed)


PRIOR_VARIANTS: dict[str, Any] = {
    "hvi-gp-prior": partial(HypervolumeImprovementSearch, surrogate="gp", features="edges", ucb=1.0,
                            prior="imagenet16-120"),
    "hvi-prior-start": partial(HypervolumeImprovementSearch, prior="imagenet16-120", prior_use="start"),
    "hvi-ridge-prior": partial(HypervolumeImprovementSearch, features="pairs+cost", prior="imagenet16-120"),
    "pls-warmup": partial(ParetoLocalSearch, warmup="imagenet16-120"),
}
"""Variants with a transfer prior (ImageNet16-120's table of the same objectives): the fixture
hands the scores over as the loop does (:func:`robnas.priors.provide_scores`), so the checks
that drive a searcher without the loop see the prior too."""


class TestPriorConformance(MultiObjectiveConformance):
    @pytest.fixture(params=sorted(PRIOR_VARIANTS))
    def make_searcher(self, request: pytest.FixtureRequest, cifar10_oracle):
        from robnas.priors import provide_scores

        def make(seed: int) -> Any:
            searcher = PRIOR_VARIANTS[request.param](seed=seed)
            provide_scores(searcher, cifar10_oracle, list(self.objectives))
            return searcher

        return make


def test_every_registered_searcher_is_covered() -> None:
    assert set(MULTI_OBJECTIVE_SEARCHERS) <= set(VARIANTS)
