"""Local search (White et al., 2021, "Exploring the loss landscape in neural architecture
search"): random starts, hill climbing over the 24 one-edge neighbours, random restarts."""

from __future__ import annotations

from collections import deque

import numpy as np

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.searchers._base import (
    MAX_COUNT,
    check_choice,
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

VARIANTS = ("best", "first")


class LocalSearch:
    """Hill climbing over one-edge neighbourhoods with random restarts.

    The first ``num_init`` proposals are random cells (with ``design="orthogonal"``: cells of
    an orthogonal array, the predictor's start); the best of them is the first current
    cell. Its 24 neighbours are then visited in random order: with ``variant="best"``
    (best-improvement, as in NASLib) the whole neighbourhood is evaluated and the search moves
    to the best neighbour if it beats the current cell; with ``variant="first"``
    (first-improvement) it moves to the first neighbour that beats it. When no neighbour is
    better the current cell is a local optimum and the search restarts from a random cell.
    Neighbours whose isomorphism class is already known are scored from memory, without
    being proposed, so every proposal is a new class.

    Several proposals may be pending (asked, not yet told; a loop with several workers): the
    search walks on through the neighbourhood while results are out, and never proposes a
    pending class again. It decides with what it knows: a neighbourhood whose last cells are
    still pending ends as if they were no better, and a neighbour's value that arrives after
    the search moved on is compared with the current cell then (moving there if better). While
    a restart cell is pending, further proposals are random unseen cells; the random starts
    last until ``num_init`` values are told.

    Args:
        variant: ``"first"`` (default) or ``"best"`` improvement. First-improvement measured at
            least as good at 50 and 100 cells on CIFAR-10 and ImageNet16-120 pgd@1/255
            (``benchmarks/searcher_defaults.py``).
        num_init: random cells evaluated before the first climb.
        warmup: name of a per-cell measure (e.g. ``"params"``, or ``"imagenet16-120"``: another
            table of the release, :mod:`robnas.priors`): the ``num_init`` starting cells
            are the best-scored of a random pool (:func:`~robnas.searchers.warm_start`) instead
            of random cells. The caller hands the scores over with :meth:`use_scores`
            (:func:`robnas.priors.provide_scores`). ``None``: random cells.
        design: ``"random"`` (default) or ``"orthogonal"``: the ``num_init`` starting cells
            are cells of a randomised orthogonal array
            (:func:`~robnas.searchers.orthogonal_array_cells`, the predictor's default start;
            at most its 25, random cells after them). Not with ``warmup``.
        seed: seed of the private random generator (``None``: fresh entropy).

    >>> searcher = LocalSearch(num_init=1, seed=0)
    >>> start = searcher.ask()
    >>> searcher.tell(start, 0.5)
    >>> sum(a != b for a, b in zip(searcher.ask().ops, start.ops))  # a neighbour
    1
    """

    def __init__(
        self,
        *,
        variant: str = "first",
        num_init: int = 10,
        warmup: str | None = None,
        design: str = "random",
        seed: int | None = None,
    ) -> None:
        self.variant = variant
        self.num_init = num_init
        self.warmup = warmup
        self.design = design
        self.seed = seed
        self._scores: np.ndarray | None = None
        self._initial: list[Arch] = []
        self._rng: np.random.Generator | None = None
        self._values: dict[int, float] = {}  # class code -> value, from every tell
        self._seen: set[int] = set()  # classes proposed or told
        self._told = 0
        self._best_told: tuple[Arch, float] | None = None
        self._current: tuple[Arch, float] | None = None
        self._best_neighbour: tuple[Arch, float] | None = None
        self._queue: deque[Arch] = deque()
        self._pending_restart: Arch | None = None
        self._pending_neighbours: set[Arch] = set()  # asked, not yet told
        self._restarts = 0
        self._trajectory: list[tuple[str, Arch, float]] = []

    @property
    def restarts(self) -> int:
        """How many times the search reached a local optimum and restarted."""
        return self._restarts

    @property
    def trajectory(self) -> list[tuple[str, Arch, float]]:
        """The cells climbed from, in order: ``(how, arch, value)`` with ``how`` one of
        ``"start"`` (best random start), ``"move"`` (an improving neighbour) or ``"restart"``;
        the entry before a ``"restart"`` is a local optimum."""
        return list(self._trajectory)

    @property
    def current(self) -> tuple[Arch, float] | None:
        """The cell being climbed from, with its value (``None`` before the first climb)."""
        return self._current

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters (pure: builds nothing).

        Raises:
            InvalidParameterError: ``variant`` not ``"best"`` or ``"first"``, ``num_init`` not an
                integer in 1..6466, ``warmup`` named without its scores handed over
                (:meth:`use_scores`), ``design`` not one of :data:`~robnas.searchers.DESIGNS`
                or ``"orthogonal"`` with a ``warmup``, or ``seed`` not ``None`` or in
                0..2**32-1.
        """
        check_choice("variant", self.variant, VARIANTS)
        check_int("num_init", self.num_init, 1, MAX_COUNT)
        check_measure("warmup", self.warmup, self._scores)
        check_design(self.design, self.warmup)
        check_seed(self.seed)

    def ask(self) -> Arch:
        """The next unknown neighbour of the current cell, or a random (re)start."""
        if self._rng is None:
            self.validate_params()
            self._rng = np.random.default_rng(self.seed)
            if self._scores is not None:
                self._initial = warm_start(self._rng, self._scores, self._seen, self.num_init)[::-1]
            elif self.design == "orthogonal":
                self._initial = orthogonal_array_cells(self._rng)[: self.num_init][::-1]
        if self._pending_restart is not None:  # asked again before the restart was told
            return self._propose(random_unseen(self._rng, self._seen))
        if self._told < self.num_init:
            while self._initial:  # best-scored (or the design's) first
                candidate = self._initial.pop()
                if class_code(candidate) not in self._seen:
                    return self._propose(candidate)
            return self._propose(random_unseen(self._rng, self._seen))
        if self._current is None:  # end of the random starts: climb from the best of them
            assert self._best_told is not None
            self._move_to(*self._best_told, how="start")
        while True:
            while self._queue:
                neighbour = self._queue.popleft()
                code = class_code(neighbour)
                if code not in self._seen:
                    self._pending_neighbours.add(neighbour)
                    return self._propose(neighbour)
                if code in self._values and self._consider(neighbour, self._values[code]):
                    continue  # moved (first-improvement): a fresh neighbourhood is queued
            if not self._finish_neighbourhood():
                self._restarts += 1
                self._pending_restart = random_unseen(self._rng, self._seen)
                return self._propose(self._pending_restart)

    def tell(self, arch: Arch, value: float) -> None:
        """Record ``value``; a restart cell becomes current, a neighbour may be moved to."""
        code = class_code(arch)
        value = float(value)
        self._values[code] = value
        self._seen.add(code)
        self._told += 1
        if self._best_told is None or value > self._best_told[1]:
            self._best_told = (arch, value)
        if arch == self._pending_restart:
            self._pending_restart = None
            self._move_to(arch, value, how="restart")
        elif arch in self._pending_neighbours:
            self._pending_neighbours.discard(arch)
            self._consider(arch, value)

    def use_scores(self, scores: np.ndarray) -> None:
        """Hand over the ``warmup`` measure's score of every cell (``(15625,)``, by
        :attr:`Arch.code <robnas.arch.Arch.code>`)."""
        self._scores = check_scores(scores)

    # -- internals -----------------------------------------------------------------------------
    def _propose(self, arch: Arch) -> Arch:
        self._seen.add(class_code(arch))
        return arch

    def _move_to(self, arch: Arch, value: float, how: str = "move") -> None:
        assert self._rng is not None
        self._current = (arch, value)
        self._trajectory.append((how, arch, value))
        self._best_neighbour = None
        neighbours = arch.neighbours()
        order = self._rng.permutation(len(neighbours))
        self._queue = deque(neighbours[int(i)] for i in order)

    def _consider(self, arch: Arch, value: float) -> bool:
        """Score one neighbour; returns whether the search moved (first-improvement only)."""
        assert self._current is not None
        if value <= self._current[1]:
            return False
        if self.variant == "first":
            self._move_to(arch, value)
            return True
        if self._best_neighbour is None or value > self._best_neighbour[1]:
            self._best_neighbour = (arch, value)
        return False

    def _finish_neighbourhood(self) -> bool:
        """At the end of a neighbourhood: move to the best neighbour if it improves."""
        if self._best_neighbour is not None:
            self._move_to(*self._best_neighbour)
            return True
        return False
