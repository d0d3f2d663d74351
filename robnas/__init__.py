"""robnas: robust neural architecture search on NAS-Bench-201.

The core types: :class:`Arch` (a cell), :class:`Objective` (what to maximise), the
:class:`Oracle` contract and its :class:`Evaluations`. Backends live in ``robnas.benchmark``
(tabular) and ``robnas.evaluation`` (live); searchers in ``robnas.searchers``.
"""

from robnas._version import __version__
from robnas.arch import EDGES, NUM_CELLS, OPS, Arch, all_archs
from robnas.errors import (
    DataFormatError,
    DataNotFoundError,
    InvalidArchError,
    InvalidObjectiveError,
    RobnasError,
)
from robnas.objective import Grid, Objective, Term
from robnas.oracle import Evaluations, Oracle
from robnas.vocabulary import Attack, Corruption, Dataset, Measure

__all__ = [
    "EDGES",
    "NUM_CELLS",
    "OPS",
    "Arch",
    "Attack",
    "Corruption",
    "DataFormatError",
    "DataNotFoundError",
    "Dataset",
    "Evaluations",
    "Grid",
    "InvalidArchError",
    "InvalidObjectiveError",
    "Measure",
    "Objective",
    "Oracle",
    "RobnasError",
    "Term",
    "__version__",
    "all_archs",
]
