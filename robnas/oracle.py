"""The oracle contract: what the search loop asks of the tabular and the live backends.

An oracle answers "how good is this cell on this objective" for a fixed dataset. The search
loop is the only caller; searchers never see an oracle, and an oracle never knows which
searcher asks. :class:`~robnas.benchmark.TabularOracle` and
:class:`~robnas.evaluation.LiveOracle` both implement :class:`Oracle` and return
:class:`Evaluations`, so the loop cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from robnas.arch import Arch
from robnas.objective import Objective, Term
from robnas.vocabulary import Dataset

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Evaluations:
    """The answers for a batch of cells, aligned with the cells asked.

    Attributes:
        values: objective value of each cell (float64; an accuracy in [0, 1]).
        clean: clean accuracy of each cell (float64; NaN where unknown).
        cost_seconds: wall-clock seconds spent to evaluate each cell (0 for a table lookup).
        terms: the columns the objective averaged, as validated by the oracle.
    """

    values: np.ndarray
    clean: np.ndarray
    cost_seconds: np.ndarray
    terms: tuple[Term, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.values.shape[0])


def check_cells(archs: object) -> None:
    """Refuse one cell where ``evaluate`` takes a list of them, in one line: a single NB201
    string would be read as a list of its characters, an index as nothing iterable.

    >>> check_cells(5)
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidArchError: evaluate takes a list of cells, got one: 5; use evaluate([5], ...) or value(5, ...)
    """
    import numbers

    if isinstance(archs, (str, Arch, numbers.Integral)) or not hasattr(archs, "__iter__"):
        from robnas.errors import InvalidArchError

        raise InvalidArchError(f"evaluate takes a list of cells, got one: {archs!r}; use "
                               f"evaluate([{archs!r}], ...) or value({archs!r}, ...)")


@runtime_checkable
class Oracle(Protocol):
    """What the search loop needs from a backend, for one dataset."""

    @property
    def dataset(self) -> Dataset:
        """The dataset this oracle answers for."""
        ...

    def validate(self, objective: Objective) -> tuple[Term, ...]:
        """Check ``objective`` against what this oracle can evaluate; return its terms.

        Raises:
            InvalidObjectiveError: with a one-line message listing the valid choices.
        """
        ...

    def evaluate(self, archs: Sequence[Arch], objective: Objective) -> Evaluations:
        """Evaluate every cell of ``archs`` on ``objective`` (isomorphs give equal values)."""
        ...

    def optimum(self, objective: Objective) -> float | None:
        """The best value over the whole space where known (tabular), else ``None``."""
        ...

    def rank(self, arch: Arch, objective: Objective) -> int | None:
        """Rank of ``arch`` among the 6,466 classes (1 = best, ties share) where known."""
        ...

    def provenance(self) -> dict[str, Any]:
        """What a run record stores about this oracle: mode, data root and checksums, etc."""
        ...


def run_provenance(oracle: Oracle, objectives: Sequence[Objective | str]) -> dict[str, Any]:
    """What a run record stores about ``oracle`` for a run on ``objectives``.

    An oracle whose ``provenance`` takes ``objectives`` (:class:`~robnas.benchmark.TabularOracle`)
    names only the data files of these objectives, so the record is the same whether the oracle
    is fresh or was shared with earlier runs on other objectives (a comparison's worker, a
    Python loop over objectives); any other oracle gives its ``provenance()``.
    """
    import inspect

    try:
        takes = "objectives" in inspect.signature(oracle.provenance).parameters
    except (TypeError, ValueError):  # no signature to read (a builtin): the plain call
        takes = False
    return oracle.provenance(objectives=list(objectives)) if takes else oracle.provenance()  # type: ignore[call-arg]
