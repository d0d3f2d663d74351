"""Regularized evolution (Real et al., 2019, "Regularized evolution for image classifier
architecture search"): tournament selection, one-edge mutation, the oldest member dies."""

from __future__ import annotations

from collections import deque

import numpy as np

from robnas.arch import Arch
from robnas.errors import InvalidParameterError
from robnas.isomorphism import class_code
from robnas.searchers._base import (
    MAX_COUNT,
    check_design,
    check_int,
    check_measure,
    check_scores,
    check_seed,
    orthogonal_array_cells,
    params_repr,
    random_unseen,
    warm_start,
)

MUTATION_TRIES = 100
"""Tournaments tried per ask for a child of an unseen class before a random unseen cell is
proposed instead (a random immigrant), so evolution never stalls on known cells."""


class RegularizedEvolution:
    """Aging evolution over NB201 cells.

    The first ``population_size`` proposals are random cells (with ``design="orthogonal"``:
    first the cells of a randomised orthogonal array, the predictor's start). After that, each proposal draws
    ``sample_size`` members of the population uniformly without replacement, takes the best of
    them as parent and changes one of its edges to a different operation
    (:meth:`Arch.mutate <robnas.arch.Arch.mutate>`). Every told cell joins the population and
    the oldest member leaves it once it holds more than ``population_size``. A child whose
    isomorphism class is already known is redrawn (up to :data:`MUTATION_TRIES` tournaments),
    so the budget is spent on new cells.

    With several proposals pending (a loop with several workers), a pending cell counts as
    seen but is not in the population until it is told: the random phase lasts until
    ``population_size`` values are told, and tournaments draw from the told members only
    (asynchronous evolution, as Real et al. ran it on many workers).

    Args:
        population_size: members kept alive (NASLib default 30).
        sample_size: tournament size (NASLib default 10).
        warmup: name of a per-cell measure (e.g. ``"params"``, or ``"imagenet16-120"``: another
            table of the release, :mod:`robnas.priors`): the first population is the
            best-scored of a random pool (:func:`~robnas.searchers.warm_start`, Abdelfattah et
            al.'s warm-up) instead of random cells. The caller hands the scores over with
            :meth:`use_scores` (:func:`robnas.priors.provide_scores`). ``None``: random cells.
        design: ``"random"`` (default) or ``"orthogonal"``: the first population begins with
            the 25 cells of a randomised orthogonal array
            (:func:`~robnas.searchers.orthogonal_array_cells`, the predictor's default start;
            random cells fill the rest), so evolution and the predictor can be compared from the
            same kind of start. Not with ``warmup``, which picks the first population itself.
        seed: seed of the private random generator (``None``: fresh entropy).

    >>> searcher = RegularizedEvolution(population_size=3, sample_size=2, seed=0)
    >>> for value in (0.1, 0.2, 0.3):
    ...     searcher.tell(searcher.ask(), value)
    >>> [round(v, 1) for _, v in searcher.population]
    [0.1, 0.2, 0.3]
    """

    def __init__(
        self,
        *,
        population_size: int = 30,
        sample_size: int = 10,
        warmup: str | None = None,
        design: str = "random",
        seed: int | None = None,
    ) -> None:
        self.population_size = population_size
        self.sample_size = sample_size
        self.warmup = warmup
        self.design = design
        self.seed = seed
        self._scores: np.ndarray | None = None
        self._initial: list[Arch] = []
        self._rng: np.random.Generator | None = None
        self._population: deque[tuple[Arch, float]] = deque()
        self._seen: set[int] = set()
        self._told = 0

    @property
    def population(self) -> list[tuple[Arch, float]]:
        """The living members ``(arch, value)``, oldest first."""
        return list(self._population)

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters (pure: builds nothing).

        Raises:
            InvalidParameterError: ``population_size`` not an integer in 1..6466, ``sample_size``
                not in 1..``population_size``, ``warmup`` named without its scores handed over
                (:meth:`use_scores`), ``design`` not one of :data:`~robnas.searchers.DESIGNS`
                or ``"orthogonal"`` with a ``warmup``, or ``seed`` not ``None`` or in 0..2**32-1.

        >>> RegularizedEvolution(population_size=5, sample_size=6).validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: sample_size must be an integer in 1..5 (population_size), got 6
        """
        check_int("population_size", self.population_size, 1, MAX_COUNT)
        check_int("sample_size", self.sample_size, 1)
        if self.sample_size > self.population_size:
            default = self.sample_size == type(self)().sample_size  # the user set only population_size
            raise InvalidParameterError(
                f"sample_size must be an integer in 1..{self.population_size} (population_size), "
                f"got {self.sample_size}" + (" (its default): set sample_size too" if default else "")
            )
        check_measure("warmup", self.warmup, self._scores)
        check_design(self.design, self.warmup)
        check_seed(self.seed)

    def ask(self) -> Arch:
        """A random cell while the population fills up, then a mutated tournament winner."""
        if self._rng is None:
            self.validate_params()
            self._rng = np.random.default_rng(self.seed)
            if self._scores is not None:
                self._initial = warm_start(self._rng, self._scores, self._seen, self.population_size)
                self._initial.reverse()  # popped from the end: best first
            elif self.design == "orthogonal":
                self._initial = orthogonal_array_cells(self._rng)[: self.population_size]
                self._initial.reverse()  # popped from the end: in the design's (random) order
        if self._told >= self.population_size:
            for _ in range(MUTATION_TRIES):
                child = self._tournament_winner().mutate(self._rng)
                if class_code(child) not in self._seen:
                    break
            else:
                child = random_unseen(self._rng, self._seen)
        else:
            child = self._next_initial() or random_unseen(self._rng, self._seen)
        self._seen.add(class_code(child))
        return child

    def use_scores(self, scores: np.ndarray) -> None:
        """Hand over the ``warmup`` measure's score of every cell (``(15625,)``, by
        :attr:`Arch.code <robnas.arch.Arch.code>`)."""
        self._scores = check_scores(scores)

    def tell(self, arch: Arch, value: float) -> None:
        """Add ``arch`` to the population; the oldest member dies when it is full."""
        self._seen.add(class_code(arch))
        self._population.append((arch, float(value)))
        self._told += 1
        if len(self._population) > self.population_size:
            self._population.popleft()

    def _next_initial(self) -> Arch | None:
        while self._initial:
            candidate = self._initial.pop()
            if class_code(candidate) not in self._seen:
                return candidate
        return None

    def _tournament_winner(self) -> Arch:
        assert self._rng is not None
        picks = self._rng.choice(len(self._population), size=self.sample_size, replace=False)
        best = max(picks, key=lambda i: (self._population[i][1], -i))
        return self._population[int(best)][0]
