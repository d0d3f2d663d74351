"""robnas: robust neural architecture search on NAS-Bench-201.

The core types: :class:`Arch` (a cell), :class:`Objective` (what to maximise), the
:class:`Oracle` contract and its :class:`Evaluations`; the search loop (:func:`run_search`,
:class:`SearchResult`, :class:`RunRecord`), the comparison of searchers (:func:`plan_runs`,
:func:`run_comparison`, :func:`write_reports`, :func:`load_trajectories`; more in
``robnas.compare``) and every error class (:class:`RobnasError` and its subclasses).
Backends live in ``robnas.benchmark`` (tabular) and ``robnas.evaluation`` (live); searchers in
``robnas.searchers``.

Names are resolved on first access (PEP 562), so importing a submodule stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas import errors as _errors  # tiny: class definitions only
from robnas._lazy import lazy_exports
from robnas._version import __version__

_EXPORTS = {
    "EDGES": "robnas.arch",
    "NUM_CELLS": "robnas.arch",
    "OPS": "robnas.arch",
    "Arch": "robnas.arch",
    "all_archs": "robnas.arch",
    **{name: "robnas.errors" for name in _errors.__all__},
    "ComparisonReport": "robnas.compare.report",
    "ComparisonRun": "robnas.compare.pool",
    "RunSpec": "robnas.compare.plan",
    "load_trajectories": "robnas.compare.trajectories",
    "plan_runs": "robnas.compare.plan",
    "run_comparison": "robnas.compare.pool",
    "write_reports": "robnas.compare.report",
    "Grid": "robnas.objective",
    "Objective": "robnas.objective",
    "Term": "robnas.objective",
    "SearchResult": "robnas.loop",
    "run_search": "robnas.loop",
    "MultiSearchResult": "robnas.multi_loop",
    "run_multi_search": "robnas.multi_loop",
    "ParetoProblem": "robnas.multi_objective",
    "Evaluations": "robnas.oracle",
    "Oracle": "robnas.oracle",
    "RunRecord": "robnas.run_record",
    "Attack": "robnas.vocabulary",
    "Corruption": "robnas.vocabulary",
    "Dataset": "robnas.vocabulary",
    "Measure": "robnas.vocabulary",
}

__all__ = [
    "EDGES",
    "NUM_CELLS",
    "OPS",
    "Arch",
    "Attack",
    "ChecksumMismatchError",
    "ComparisonError",
    "ComparisonReport",
    "ComparisonRun",
    "Corruption",
    "DataFormatError",
    "DataNotFoundError",
    "DataUnreadableError",
    "Dataset",
    "DownloadError",
    "Evaluations",
    "ExecutorError",
    "Grid",
    "InvalidArchError",
    "InvalidDatasetError",
    "InvalidObjectiveError",
    "InvalidParameterError",
    "InvalidSearcherError",
    "Measure",
    "MeasureError",
    "MultiSearchResult",
    "NoRunsError",
    "Objective",
    "Oracle",
    "OutputPathError",
    "ParetoError",
    "ParetoProblem",
    "PriorError",
    "RobnasError",
    "RunRecord",
    "RunRecordError",
    "RunSpec",
    "ScoresNotGivenError",
    "SearchResult",
    "StoreError",
    "TableBuildError",
    "Term",
    "UnsafeArchiveError",
    "UnsafePickleError",
    "__version__",
    "all_archs",
    "load_trajectories",
    "plan_runs",
    "run_comparison",
    "run_multi_search",
    "run_search",
    "write_reports",
]

if TYPE_CHECKING:
    from robnas.arch import EDGES, NUM_CELLS, OPS, Arch, all_archs
    from robnas.compare.plan import RunSpec, plan_runs
    from robnas.compare.pool import ComparisonRun, run_comparison
    from robnas.compare.report import ComparisonReport, write_reports
    from robnas.compare.trajectories import load_trajectories
    from robnas.errors import (
        ChecksumMismatchError,
        ComparisonError,
        DataFormatError,
        DataNotFoundError,
        DataUnreadableError,
        DownloadError,
        ExecutorError,
        InvalidArchError,
        InvalidDatasetError,
        InvalidObjectiveError,
        InvalidParameterError,
        InvalidSearcherError,
        MeasureError,
        NoRunsError,
        OutputPathError,
        ParetoError,
        PriorError,
        RobnasError,
        RunRecordError,
        ScoresNotGivenError,
        StoreError,
        TableBuildError,
        UnsafeArchiveError,
        UnsafePickleError,
    )
    from robnas.loop import SearchResult, run_search
    from robnas.multi_loop import MultiSearchResult, run_multi_search
    from robnas.multi_objective import ParetoProblem
    from robnas.objective import Grid, Objective, Term
    from robnas.oracle import Evaluations, Oracle
    from robnas.run_record import RunRecord
    from robnas.vocabulary import Attack, Corruption, Dataset, Measure


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
