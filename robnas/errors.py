"""The error hierarchy of robnas.

Every error that a user can cause (bad input, missing data, a corrupt file) subclasses
:class:`RobnasError`. The CLI turns these into a one-line message and exit code 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class RobnasError(Exception):
    """Base class of all errors robnas raises on purpose."""


class InvalidArchError(RobnasError, ValueError):
    """An architecture string, index or encoding that does not denote an NB201 cell."""


class InvalidObjectiveError(RobnasError, ValueError):
    """An objective that cannot be parsed or is not on the data's grid."""


class DataNotFoundError(RobnasError, FileNotFoundError):
    """The released data (or a file of it) is not where robnas looked."""


class DataFormatError(RobnasError):
    """A data file exists but does not have the release's format."""


class ComparisonError(RobnasError):
    """A comparison that cannot be planned, run or reported."""


class NoRunsError(RobnasError):
    """A folder that should hold run records holds none."""
