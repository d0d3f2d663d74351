"""Pareto local search (multi-objective): expand the non-dominated archive one neighbourhood at a time."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.searchers._base import (
    MAX_COUNT,
    check_choice,
    check_int,
    check_measure,
    check_score_columns,
    check_seed,
    front_order,
    next_queued,
    params_repr,
    random_unseen,
)

VARIANTS = ("first", "full")


class ParetoLocalSearch:
    """Pareto local search (Paquete, Chiarandini & Stützle 2004) over one-edge neighbourhoods.

    Keeps an archive of the cells no other evaluated cell dominates. After ``num_init`` random
    cells it picks an archive member whose neighbourhood it has not explored yet (at random)
    and evaluates that cell's 24 one-edge neighbours in random order, skipping known classes;
    a neighbour that enters the archive is queued for exploration in turn, and a member that
    gets dominated is not explored further. When every archive member is explored it draws a
    random unseen cell (a restart). On NB201 the fronts are made of neighbouring cells, so the
    search walks along them instead of sampling the whole space.

    Values are vectors, larger-is-better in every component (the multi-objective loop negates
    minimised objectives); a plain number is read as a one-element vector.

    Pending proposals (asked, not yet told; a loop with several workers) count as seen, so the
    search walks on through the queued neighbours while results are out; the archive holds
    told cells only.

    Args:
        num_init: random cells before the local search starts.
        variant: ``"first"`` (after the random cells) queues the neighbours of a cell as soon
            as it enters the archive; ``"full"`` explores one archive member's whole
            neighbourhood before picking the next member.
        warmup: name of another table of the release (``DATASET``, e.g. ``"imagenet16-120"``):
            the ``num_init`` starting cells are that table's best non-dominated fronts of the
            same objectives (:func:`~robnas.searchers._base.front_order`) instead of random
            cells. The caller hands one score column per objective over with
            :meth:`use_scores` (:func:`robnas.priors.objective_scores`). ``None``: random cells.
        seed: seed of the private random generator (``None``: fresh entropy).

    >>> searcher = ParetoLocalSearch(num_init=1, seed=0)
    >>> start = searcher.ask()
    >>> searcher.tell(start, (0.5, 0.8))
    >>> sum(a != b for a, b in zip(searcher.ask().ops, start.ops))  # a neighbour
    1
    """

    def __init__(self, *, num_init: int = 10, variant: str = "first", warmup: str | None = None,
                 seed: int | None = None) -> None:
        self.num_init = num_init
        self.variant = variant
        self.warmup = warmup
        self.seed = seed
        self._scores: np.ndarray | None = None  # (15625, k) prior scores, larger = better
        self._starts: deque[int] = deque()  # the prior's front classes, proposed first
        self._rng: np.random.Generator | None = None
        self._seen: set[int] = set()
        self._told: dict[int, tuple[Arch, np.ndarray]] = {}
        self._archive: dict[int, np.ndarray] = {}  # class code -> vector, mutually non-dominated
        self._explored: set[int] = set()
        self._current: int | None = None
        self._queue: deque[Arch] = deque()
        self._restarts = 0

    @property
    def archive(self) -> list[Arch]:
        """The cells of the current non-dominated archive."""
        return [self._told[code][0] for code in self._archive]

    @property
    def restarts(self) -> int:
        """Random cells drawn after the archive was fully explored."""
        return self._restarts

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters (pure: builds nothing).

        Raises:
            InvalidParameterError: ``num_init`` not an integer in 1..6466, ``variant`` not
                ``"first"`` or ``"full"``, ``warmup`` named without its scores handed over
                (:meth:`use_scores`), or ``seed`` not ``None`` or in 0..2**32-1.

        >>> ParetoLocalSearch(num_init=0).validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: num_init must be an integer in 1..6466, got 0
        """
        check_int("num_init", self.num_init, 1, MAX_COUNT)
        check_choice("variant", self.variant, VARIANTS)
        check_measure("warmup", self.warmup, self._scores)
        check_seed(self.seed)

    def use_scores(self, scores: np.ndarray) -> None:
        """Take the prior's ``(15625, k)`` scores (one column per objective, larger = better)."""
        self._scores = check_score_columns(scores)

    def ask(self) -> Arch:
        """The next unknown neighbour of an archive member, or a random cell."""
        if self._rng is None:
            self.validate_params()
            self._rng = np.random.default_rng(self.seed)
            if self._scores is not None:
                self._starts.extend(front_order(self._scores, self.num_init))
        start = next_queued(self._starts, self._seen)
        if start is not None:  # the prior's fronts first
            return self._propose(start)
        if len(self._told) >= self.num_init:
            while True:
                while self._queue:
                    neighbour = self._queue.popleft()
                    if class_code(neighbour) not in self._seen:
                        return self._propose(neighbour)
                if not self._next_member():
                    self._restarts += 1
                    break
        return self._propose(random_unseen(self._rng, self._seen))

    def tell(self, arch: Arch, value: float | Sequence[float]) -> None:
        """Learn ``arch``'s vector and update the archive."""
        code = class_code(arch)
        self._seen.add(code)
        if code in self._told:
            return
        vector = np.atleast_1d(np.asarray(value, dtype=np.float64))
        self._told[code] = (arch, vector)
        others = np.array(list(self._archive.values())).reshape(-1, vector.size)
        if len(others) and np.any((others >= vector).all(axis=1) & (others > vector).any(axis=1)):
            return
        for other in [c for c, v in self._archive.items() if (vector >= v).all() and (vector > v).any()]:
            del self._archive[other]
        self._archive[code] = vector
        if self.variant == "first" and self._rng is not None and len(self._told) > self.num_init:
            self._expand(code)

    # -- internals -----------------------------------------------------------------------------
    def _propose(self, arch: Arch) -> Arch:
        self._seen.add(class_code(arch))
        return arch

    def _next_member(self) -> bool:
        """Queue the neighbours of an unexplored archive member; ``False`` if there is none."""
        assert self._rng is not None
        open_members = [code for code in self._archive if code not in self._explored]
        if not open_members:
            return False
        self._expand(open_members[int(self._rng.integers(len(open_members)))])
        return True

    def _expand(self, code: int) -> None:
        assert self._rng is not None
        self._explored.add(code)
        neighbours = self._told[code][0].neighbours()
        order = self._rng.permutation(len(neighbours))
        self._queue = deque(neighbours[int(i)] for i in order)
        self._current = code
