"""The error hierarchy of robnas: every error class robnas defines lives here.

Every error that a user can cause (bad input, missing data, a corrupt file) subclasses
:class:`RobnasError`. The CLI turns these into a one-line message and exit code 2; anything
else is a bug and keeps its traceback. Errors about a bad value also subclass
:class:`ValueError`, and missing data :class:`FileNotFoundError`, so Python code can catch
them either way. The modules that raise them re-export them under their old names
(``robnas.run_record.RunRecordError``, ``robnas.benchmark.DownloadError``, ...).

>>> from robnas.errors import RobnasError, InvalidObjectiveError
>>> issubclass(InvalidObjectiveError, RobnasError), issubclass(InvalidObjectiveError, ValueError)
(True, True)
"""

from __future__ import annotations


class RobnasError(Exception):
    """Base class of all errors robnas raises on purpose."""


# -- input ------------------------------------------------------------------------------------
class InvalidArchError(RobnasError, ValueError):
    """An architecture string, index or encoding that does not denote an NB201 cell."""


class InvalidObjectiveError(RobnasError, ValueError):
    """An objective that cannot be parsed or is not on the data's grid."""


class InvalidSearcherError(RobnasError, ValueError):
    """A searcher name robnas does not know, or keywords its constructor does not take."""


class InvalidDatasetError(RobnasError, ValueError):
    """A dataset name robnas does not know."""


# -- data -------------------------------------------------------------------------------------
class DataNotFoundError(RobnasError, FileNotFoundError):
    """The released data (or a file of it) is not where robnas looked."""


class DataFormatError(RobnasError):
    """A data file exists but does not have the release's format."""


class DataUnreadableError(DataFormatError):
    """A data file or folder exists but cannot be read (no permission, an I/O error)."""


class ChecksumMismatchError(DataFormatError):
    """A release file's bytes differ from its pinned SHA-256 (refused when installing, and
    when loading under ``strict_data``)."""


class UnsafeArchiveError(RobnasError):
    """An archive holds an entry that could write outside its destination, or a link/device."""


class DownloadError(RobnasError):
    """A file could not be downloaded (HTTP error, or the server stayed unreachable)."""


class InvalidParameterError(RobnasError, ValueError):
    """A searcher hyperparameter (or other numeric setting) outside what it accepts.

    Both a :class:`RobnasError` (the CLI prints it as one line, exit 2) and a
    :class:`ValueError` (what Python users expect from a bad argument).
    """


class ScoresNotGivenError(InvalidParameterError):
    """A searcher names a prior or warm-up measure whose scores it was not handed yet
    (``use_scores``; :func:`robnas.priors.provide_scores` resolves them against the oracle).
    A check made before the oracle exists skips this one and runs every other."""


class OutputPathError(RobnasError, ValueError):
    """A place to write output that cannot be written (a folder, a read-only place, ...)."""


class ParetoError(RobnasError, ValueError):
    """Objective arrays that do not fit together (shape, direction flags, NaN)."""


# -- runs and comparisons ---------------------------------------------------------------------
class RunRecordError(RobnasError):
    """A run folder that cannot be created, read or resumed."""


class ComparisonError(RobnasError, ValueError):
    """A comparison that cannot be planned (bad searchers, objectives, seeds or budget), run or
    reported."""


class NoRunsError(RobnasError):
    """A folder that should hold run records holds none."""


class ExecutorError(RobnasError):
    """An executor that cannot start or run its tasks (e.g. Ray missing, its address unreachable)."""


class TableBuildError(RobnasError):
    """A table build that cannot run, or would write over a different table."""


class PriorError(RobnasError, ValueError):
    """A prior or warm-up measure that cannot be resolved to per-cell scores."""


# -- live evaluation --------------------------------------------------------------------------
class UnsafePickleError(DataFormatError):
    """A pickle asked for a global (a class or function) that robnas does not allow."""


class StoreError(RobnasError):
    """The results store cannot be opened or written."""


class MeasureError(RobnasError):
    """A measure that is unknown, cannot be imported, or cannot be computed as asked."""


__all__ = [
    "ChecksumMismatchError",
    "ComparisonError",
    "DataFormatError",
    "DataNotFoundError",
    "DataUnreadableError",
    "DownloadError",
    "ExecutorError",
    "InvalidArchError",
    "InvalidDatasetError",
    "InvalidObjectiveError",
    "InvalidParameterError",
    "InvalidSearcherError",
    "MeasureError",
    "NoRunsError",
    "OutputPathError",
    "ParetoError",
    "PriorError",
    "RobnasError",
    "RunRecordError",
    "ScoresNotGivenError",
    "StoreError",
    "TableBuildError",
    "UnsafeArchiveError",
    "UnsafePickleError",
]
