"""Searchers over the NB201 space, one per module, behind one protocol (``robnas.searchers``).

The public namespace is the registry: :data:`SEARCHERS` maps the names the CLI accepts to the
classes, and ``__all__`` lists everything public. A new searcher is one private module, one
entry in :data:`SEARCHERS` and one fixture entry in ``tests/searchers/test_conformance.py``
(which runs :mod:`robnas.searchers.testing` on it). A multi-objective searcher (told a
vector of values) goes into :data:`MULTI_OBJECTIVE_SEARCHERS` and is covered by
``tests/searchers/test_multi_conformance.py``.

Names resolve on first access (PEP 562, and :data:`SEARCHERS` imports a class when it is
looked up), so the CLI lists the searcher names in ``--help`` without importing NumPy.

>>> from robnas.searchers import SEARCHERS
>>> sorted(SEARCHERS)
['bo', 'ls', 'predictor', 'random', 're']
>>> searcher = SEARCHERS["re"](seed=0)
>>> searcher.population_size, searcher.sample_size
(30, 10)
"""

from __future__ import annotations

import contextlib
import importlib
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from robnas._lazy import lazy_exports
from robnas.errors import InvalidSearcherError

if TYPE_CHECKING:
    from robnas.searchers._base import (
        DESIGNS,
        Searcher,
        check_param_names,
        check_scores,
        default_params,
        get_params,
        orthogonal_array_cells,
        random_unseen,
        validate_params,
        wanted_measure,
        warm_start,
    )
    from robnas.searchers._evolution import RegularizedEvolution
    from robnas.searchers._hypervolume_search import HypervolumeImprovementSearch
    from robnas.searchers._local_search import LocalSearch
    from robnas.searchers._optuna import OptunaSearch
    from robnas.searchers._optuna_multi import MultiObjectiveTPE, OptunaMultiObjective
    from robnas.searchers._parego import ParEGOSearch
    from robnas.searchers._pareto_local_search import ParetoLocalSearch
    from robnas.searchers._predictor import PredictorSearch
    from robnas.searchers._random import RandomSearch

_EXPORTS = {
    "DESIGNS": "robnas.searchers._base",
    "Searcher": "robnas.searchers._base",
    "default_params": "robnas.searchers._base",
    "get_params": "robnas.searchers._base",
    "check_param_names": "robnas.searchers._base",
    "check_scores": "robnas.searchers._base",
    "orthogonal_array_cells": "robnas.searchers._base",
    "random_unseen": "robnas.searchers._base",
    "validate_params": "robnas.searchers._base",
    "wanted_measure": "robnas.searchers._base",
    "warm_start": "robnas.searchers._base",
    "RegularizedEvolution": "robnas.searchers._evolution",
    "LocalSearch": "robnas.searchers._local_search",
    "OptunaSearch": "robnas.searchers._optuna",
    "PredictorSearch": "robnas.searchers._predictor",
    "RandomSearch": "robnas.searchers._random",
    "OptunaMultiObjective": "robnas.searchers._optuna_multi",
    "MultiObjectiveTPE": "robnas.searchers._optuna_multi",
    "ParEGOSearch": "robnas.searchers._parego",
    "ParetoLocalSearch": "robnas.searchers._pareto_local_search",
    "HypervolumeImprovementSearch": "robnas.searchers._hypervolume_search",
}


class _Registry(Mapping[str, "type[Searcher]"]):
    """A read-only name -> class mapping that imports a class when it is looked up."""

    def __init__(self, classes: dict[str, str]) -> None:
        self._classes = classes

    def __getitem__(self, name: str) -> type[Searcher]:
        class_name = self._classes[name]
        return getattr(importlib.import_module(_EXPORTS[class_name]), class_name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __repr__(self) -> str:
        return f"SEARCHERS({', '.join(f'{k}={v}' for k, v in self._classes.items())})"


SEARCHERS: Mapping[str, type[Searcher]] = _Registry({
    "random": "RandomSearch",
    "re": "RegularizedEvolution",
    "ls": "LocalSearch",
    "bo": "OptunaSearch",
    "predictor": "PredictorSearch",
})
"""Searcher name (as the CLI and run records spell it) -> class."""

MULTI_OBJECTIVE_SEARCHERS: Mapping[str, type[Searcher]] = _Registry({
    "random": "RandomSearch",
    "nsga2": "OptunaMultiObjective",
    "motpe": "MultiObjectiveTPE",
    "pls": "ParetoLocalSearch",
    "parego": "ParEGOSearch",
    "hvi": "HypervolumeImprovementSearch",
})
"""Searchers that accept a vector of values in ``tell`` (multi-objective search), by name.

>>> sorted(MULTI_OBJECTIVE_SEARCHERS)
['hvi', 'motpe', 'nsga2', 'parego', 'pls', 'random']
"""


def make_searcher(searcher: Searcher | str, **params: Any) -> Searcher:
    """A searcher from its :data:`SEARCHERS` name and constructor keywords (an object is returned
    unchanged, and then takes no keywords).

    >>> make_searcher("re", seed=0)
    RegularizedEvolution(seed=0)

    Raises:
        InvalidSearcherError: an unknown name, or keywords the searcher does not take.
    """
    if not isinstance(searcher, str):
        if isinstance(searcher, type):  # its ask/tell are functions: it failed later, in a TypeError
            raise InvalidSearcherError(
                f"a searcher is a name ({', '.join(SEARCHERS)}) or an object; got the class "
                f"{searcher.__name__}: write {searcher.__name__}(seed=...)"
            )
        if not (callable(getattr(searcher, "ask", None)) and callable(getattr(searcher, "tell", None))):
            raise InvalidSearcherError(f"a searcher is a name ({', '.join(SEARCHERS)}) or an object "
                                       f"with ask() and tell(), got {searcher!r}")
        if params:
            raise InvalidSearcherError(
                f"parameters {sorted(params)} apply to a searcher given by name, not to "
                f"{searcher!r}; set them on the object"
            )
        check_fresh(searcher)
        return searcher
    cls = SEARCHERS.get(searcher)
    if cls is None:
        raise InvalidSearcherError(f"unknown searcher {searcher!r}; valid: {', '.join(SEARCHERS)}")
    from robnas.searchers._base import check_param_names

    check_param_names(cls, searcher, params)
    return cls(**params)


def other_kind(name: str, *, multi_objective: bool) -> str | None:
    """Why ``name`` is refused when it names a searcher of the other kind (``re`` with two or
    three objectives, ``hvi`` with one), naming the right ones; ``None`` for any other name.

    >>> other_kind("re", multi_objective=True)
    "searcher 're' takes one objective; with two or three use one of random, nsga2, motpe, pls, parego, hvi"
    >>> other_kind("random", multi_objective=True) is None and other_kind("zz", multi_objective=False) is None
    True
    """
    wanted, other = ((MULTI_OBJECTIVE_SEARCHERS, SEARCHERS) if multi_objective
                     else (SEARCHERS, MULTI_OBJECTIVE_SEARCHERS))
    if name in wanted or name not in other:
        return None
    takes, here = ("one objective", "two or three") if multi_objective else ("two or three objectives", "one")
    return f"searcher {name!r} takes {takes}; with {here} use one of {', '.join(wanted)}"


def make_multi_searcher(searcher: Searcher | str, **params: Any) -> Searcher:
    """As :func:`make_searcher`, from :data:`MULTI_OBJECTIVE_SEARCHERS`; a searcher of robnas' own
    that takes one value (``RegularizedEvolution(seed=0)``) is refused too.

    >>> make_multi_searcher("pls", seed=0)
    ParetoLocalSearch(seed=0)

    Raises:
        InvalidSearcherError: an unknown name, keywords the searcher does not take, or one of
            robnas' single-objective searchers.
    """
    if isinstance(searcher, str):
        wrong = other_kind(searcher, multi_objective=True)
        if wrong is not None:
            raise InvalidSearcherError(wrong)
        if searcher not in MULTI_OBJECTIVE_SEARCHERS:
            raise InvalidSearcherError(f"unknown multi-objective searcher {searcher!r}; valid: "
                                       f"{', '.join(MULTI_OBJECTIVE_SEARCHERS)}")
        cls = MULTI_OBJECTIVE_SEARCHERS[searcher]
        from robnas.searchers._base import check_param_names

        check_param_names(cls, searcher, params)
        return cls(**params)
    multi = tuple(MULTI_OBJECTIVE_SEARCHERS.values())
    if type(searcher) in tuple(SEARCHERS.values()) and type(searcher) not in multi:
        raise InvalidSearcherError(f"{type(searcher).__name__} takes one value per cell; a "
                                   f"multi-objective search needs one of {', '.join(MULTI_OBJECTIVE_SEARCHERS)}")
    return make_searcher(searcher, **params)


_DRIVEN: dict[int, weakref.ref[Any]] = {}
"""``id`` -> weak reference of every searcher object a search loop has driven."""


def mark_driven(searcher: object) -> None:
    """Note that a search loop drives ``searcher`` (its state now holds that run), so that
    :func:`make_searcher` refuses it for another run. An object without weak references
    (``__slots__``) is not tracked."""
    key = id(searcher)
    with contextlib.suppress(TypeError):
        _DRIVEN[key] = weakref.ref(searcher, lambda _ref: _DRIVEN.pop(key, None))


def check_fresh(searcher: object) -> None:
    """Refuse a searcher object that already drove a search: it would continue from that run's
    state (its random generator, population, model), so the same seed would give another run.

    Raises:
        InvalidSearcherError: ``searcher`` was given to ``run_search``/``run_multi_search`` before.
    """
    ref = _DRIVEN.get(id(searcher))
    if ref is not None and ref() is searcher:
        raise InvalidSearcherError(
            f"this {searcher!r} object already drove a search and holds that run's state; pass a "
            f"new one ({searcher!r} again) or the searcher's name with params, so that one seed "
            "gives one run"
        )


def searcher_name(searcher: object) -> str:
    """The :data:`SEARCHERS` name of ``searcher``'s class (else its qualified class name)."""
    for name, cls in (*SEARCHERS.items(), *MULTI_OBJECTIVE_SEARCHERS.items()):
        if type(searcher) is cls:
            return name
    return f"{type(searcher).__module__}.{type(searcher).__qualname__}"


__all__ = [
    "DESIGNS",
    "MULTI_OBJECTIVE_SEARCHERS",
    "SEARCHERS",
    "HypervolumeImprovementSearch",
    "LocalSearch",
    "MultiObjectiveTPE",
    "OptunaMultiObjective",
    "OptunaSearch",
    "ParEGOSearch",
    "ParetoLocalSearch",
    "PredictorSearch",
    "RandomSearch",
    "RegularizedEvolution",
    "Searcher",
    "check_fresh",
    "check_param_names",
    "check_scores",
    "default_params",
    "get_params",
    "make_multi_searcher",
    "make_searcher",
    "mark_driven",
    "orthogonal_array_cells",
    "other_kind",
    "random_unseen",
    "searcher_name",
    "validate_params",
    "wanted_measure",
    "warm_start",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
