"""robnas: robust neural architecture search on NAS-Bench-201.

The core types: :class:`Arch` (a cell), :class:`Objective` (what to maximise), the
:class:`Oracle` contract and its :class:`Evaluations`. Backends live in ``robnas.benchmark``
(tabular) and ``robnas.evaluation`` (live); searchers in ``robnas.searchers``.

Names are resolved on first access (PEP 562), so importing a submodule stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas._lazy import lazy_exports
from robnas._version import __version__

_EXPORTS = {
    "EDGES": "robnas.arch",
    "NUM_CELLS": "robnas.arch",
    "OPS": "robnas.arch",
    "Arch": "robnas.arch",
    "all_archs": "robnas.arch",
    "DataFormatError": "robnas.errors",
    "DataNotFoundError": "robnas.errors",
    "InvalidArchError": "robnas.errors",
    "InvalidObjectiveError": "robnas.errors",
    "RobnasError": "robnas.errors",
    "Grid": "robnas.objective",
    "Objective": "robnas.objective",
    "Term": "robnas.objective",
    "Evaluations": "robnas.oracle",
    "Oracle": "robnas.oracle",
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

if TYPE_CHECKING:
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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
