"""Every searcher of ``robnas.searchers.SEARCHERS`` (and the listed variants) passes the
conformance suite of :mod:`robnas.searchers.testing` on the real CIFAR-10 table.

A new searcher is covered by its entry in ``SEARCHERS``; a variant worth checking separately
needs one entry in ``VARIANTS``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from robnas.searchers import SEARCHERS, LocalSearch, PredictorSearch
from robnas.searchers.testing import SearcherConformance

VARIANTS: dict[str, Any] = {
    **SEARCHERS,
    "ls-best": partial(LocalSearch, variant="best"),
    "predictor-orthogonal": partial(PredictorSearch, design="orthogonal"),
    "predictor-thompson": partial(PredictorSearch, global_pick="thompson"),
    "predictor-early-batches": partial(PredictorSearch, late_from=6466),
}


@pytest.fixture(params=sorted(VARIANTS))
def make_searcher(request: pytest.FixtureRequest):
    factory = VARIANTS[request.param]
    return lambda seed: factory(seed=seed)


@pytest.fixture
def oracle(cifar10_oracle):
    return cifar10_oracle


class TestConformance(SearcherConformance):
    pass


def test_every_registered_searcher_is_covered() -> None:
    assert set(SEARCHERS) <= set(VARIANTS)
