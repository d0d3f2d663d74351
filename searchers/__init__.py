"""Searchers over the NB201 space, one per module, behind one protocol (``robnas.searchers``).

The public namespace is the registry: :data:`SEARCHERS` maps the names the CLI accepts to the
classes, and ``__all__`` lists everything public. A new searcher is one private module, one
entry in :data:`SEARCHERS` and one fixture entry in ``tests/searchers/test_conformance.py``
(which runs :mod:`robnas.searchers.testing` on it). A multi-objective searcher (told a
vector of values) goes into :data:`MULTI_OBJECTIVE_SEARCHERS` and is covered by
``tests/searchers/test_multi_conformance.py``.

>>> from robnas.searchers import SEARCHERS
>>> sorted(SEARCHERS)
['bo', 'ls', 'random', 're']
>>> sorted(MULTI_OBJECTIVE_SEARCHERS)
['motpe', 'nsga2', 'parego', 'pls', 'random']
>>> searcher = SEARCHERS["re"](seed=0)
>>> searcher.population_size, searcher.sample_size
(30, 10)
"""

from __future__ import annotations

from robnas.searchers._base import Searcher, get_params, random_unseen
from robnas.searchers._evolution import RegularizedEvolution
from robnas.searchers._local_search import LocalSearch
from robnas.searchers._optuna import OptunaSearch
from robnas.searchers._optuna_multi import MultiObjectiveTPE, OptunaMultiObjective
from robnas.searchers._parego import ParEGOSearch
from robnas.searchers._pareto_local_search import ParetoLocalSearch
from robnas.searchers._random import RandomSearch

SEARCHERS: dict[str, type[Searcher]] = {
    "random": RandomSearch,
    "re": RegularizedEvolution,
    "ls": LocalSearch,
    "bo": OptunaSearch,
}
"""Searcher name (as the CLI and run records spell it) -> class."""

MULTI_OBJECTIVE_SEARCHERS: dict[str, type[Searcher]] = {
    "random": RandomSearch,
    "nsga2": OptunaMultiObjective,
    "motpe": MultiObjectiveTPE,
    "pls": ParetoLocalSearch,
    "parego": ParEGOSearch,
}
"""Searchers that accept a vector of values in ``tell`` (multi-objective search), by name."""


def searcher_name(searcher: object) -> str:
    """The :data:`SEARCHERS` name of ``searcher``'s class (else its qualified class name)."""
    for name, cls in (*SEARCHERS.items(), *MULTI_OBJECTIVE_SEARCHERS.items()):
        if type(searcher) is cls:
            return name
    return f"{type(searcher).__module__}.{type(searcher).__qualname__}"


__all__ = [
    "MULTI_OBJECTIVE_SEARCHERS",
    "SEARCHERS",
    "LocalSearch",
    "MultiObjectiveTPE",
    "OptunaMultiObjective",
    "OptunaSearch",
    "ParEGOSearch",
    "ParetoLocalSearch",
    "RandomSearch",
    "RegularizedEvolution",
    "Searcher",
    "get_params",
    "random_unseen",
    "searcher_name",
]
