"""Multi-objective Optuna (NSGA-II or TPE) over the six edges, on the ask-and-tell path of ``bo``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from robnas.arch import Arch
from robnas.errors import InvalidParameterError
from robnas.isomorphism import class_code
from robnas.searchers._base import MAX_COUNT, check_bool, check_choice, check_int, check_seed, random_unseen
from robnas.searchers._optuna import OptunaSearch

if TYPE_CHECKING:
    import optuna

MULTI_SAMPLERS = ("nsga2", "tpe")


class OptunaMultiObjective(OptunaSearch):
    """Optuna's :class:`~optuna.samplers.NSGAIISampler` (or TPE's multi-objective mode).

    Everything else is :class:`~robnas.searchers.OptunaSearch`: the six edges as categorical
    parameters, ask-and-tell, known proposals told at once without spending budget, a random
    unseen cell enqueued after ``max_repeats`` repeats in a row, unasked cells added as finished
    trials. Values are vectors, every component maximised. The study (and its number of
    objectives) is created at the first :meth:`tell`; the very first proposal, made before any
    value is known, is a random cell (and so is every proposal asked before the first tell).
    Pending proposals (asked, not yet told) are running trials; NSGA-II breeds from finished
    trials only, TPE treats running ones as bad results (``constant_liar``), and no pending
    class is proposed again.

    Args:
        sampler: ``"nsga2"`` (:class:`optuna.samplers.NSGAIISampler`) or ``"tpe"``
            (:class:`optuna.samplers.TPESampler`, multi-objective MOTPE).
        population_size: NSGA-II's population (its first generation is random).
        n_startup_trials: TPE's random trials before its model takes over.
        multivariate: TPE models the six edges jointly (``TPESampler(multivariate=True)``), one
            draw per proposal; ``False``: each edge on its own, as Optuna's default. Jointly is
            better and much faster here (:class:`MultiObjectiveTPE`). Unused by NSGA-II.
        max_repeats: known proposals in a row before a random unseen cell is forced.
        seed: seed of the sampler and of the private random generator.

    >>> searcher = OptunaMultiObjective(population_size=4, seed=0)
    >>> arch = searcher.ask()
    >>> searcher.tell(arch, (0.5, 0.8))
    >>> searcher.ask() != arch
    True
    """

    def __init__(
        self,
        *,
        sampler: str = "nsga2",
        population_size: int = 20,
        n_startup_trials: int = 10,
        multivariate: bool = True,
        max_repeats: int = 20,
        seed: int | None = None,
    ) -> None:
        super().__init__(sampler=sampler, n_startup_trials=n_startup_trials,
                         max_repeats=max_repeats, seed=seed)
        self.population_size = population_size
        self.multivariate = multivariate
        self._n_objectives: int | None = None

    def validate_params(self) -> None:
        """Check the hyperparameters without importing Optuna or building a study.

        Raises:
            InvalidParameterError: ``sampler`` not ``"nsga2"`` or ``"tpe"``,
                ``population_size`` not an integer in 2..6466, ``n_startup_trials`` not an
                integer in 0..6466, ``multivariate`` not a bool, ``max_repeats`` not an integer
                >= 1, or ``seed`` not ``None`` or in 0..2**32-1.

        >>> OptunaMultiObjective(population_size=1).validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: population_size must be an integer in 2..6466, got 1
        """
        check_choice("sampler", self.sampler, MULTI_SAMPLERS)
        check_int("population_size", self.population_size, 2, MAX_COUNT)
        check_int("n_startup_trials", self.n_startup_trials, 0, MAX_COUNT)
        check_bool("multivariate", self.multivariate)
        check_int("max_repeats", self.max_repeats, 1)
        check_seed(self.seed)

    def ask(self) -> Arch:
        """Optuna's next proposal of an unseen class (a random cell before the first tell)."""
        if self._study is None:
            if self._rng is None:
                self.validate_params()
                self._rng = np.random.default_rng(self.seed)
            arch = random_unseen(self._rng, set(self._values) | self._pending_classes)
            self._pending_classes.add(class_code(arch))  # several may be asked before a tell
            return arch
        return super().ask()

    def tell(self, arch: Arch, value: float | Sequence[float]) -> None:
        """Tell Optuna the vector of ``arch`` (the first tell fixes the number of objectives)."""
        if self._n_objectives is None:
            self._n_objectives = len(self._told_value(value))
        super().tell(arch, value)

    # -- hooks of OptunaSearch -----------------------------------------------------------------
    def _ensure_study(self) -> optuna.Study:
        rng = self._rng
        study = super()._ensure_study()
        if rng is not None:
            self._rng = rng  # keep the stream that drew the first cell
        return study

    def _make_sampler(self) -> optuna.samplers.BaseSampler:
        import optuna

        if self.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=self.n_startup_trials,
                                              constant_liar=True, multivariate=bool(self.multivariate))
        return optuna.samplers.NSGAIISampler(seed=self.seed, population_size=int(self.population_size))

    def _directions(self) -> list[str]:
        return ["maximize"] * (self._n_objectives or 1)

    def _told_value(self, value: Any) -> Any:
        return tuple(float(v) for v in np.atleast_1d(np.asarray(value, dtype=np.float64)))


class MultiObjectiveTPE(OptunaMultiObjective):
    """:class:`OptunaMultiObjective` with TPE's multi-objective mode (MOTPE) as the sampler.

    Args:
        sampler: ``"tpe"`` only (``"nsga2"`` is :class:`OptunaMultiObjective`, ``nsga2``).
        population_size: NSGA-II's population (unused by TPE).
        n_startup_trials: random trials before TPE's model takes over.
        multivariate: the six edges modelled jointly (default), or each on its own (``False``).
            On CIFAR-10 (pgd@1/255, clean), jointly: hypervolume regret after 100 cells 0.435
            against 0.481 each on its own (seeds 0-99, paired Wilcoxon p = 0.001), after 300
            cells 0.223 against 0.259 (3 seeds), and a 300-cell run takes about 2 s instead of
            155-224 s: on its own, TPE keeps proposing known classes (2,653 of 2,953 trials by
            300 cells), and each proposal costs six draws over every trial so far.
        max_repeats: known proposals in a row before a random unseen cell is forced.
        seed: seed of the sampler and of the private random generator.
    """

    def __init__(
        self,
        *,
        sampler: str = "tpe",
        population_size: int = 20,
        n_startup_trials: int = 10,
        multivariate: bool = True,
        max_repeats: int = 20,
        seed: int | None = None,
    ) -> None:
        super().__init__(sampler=sampler, population_size=population_size,
                         n_startup_trials=n_startup_trials, multivariate=multivariate,
                         max_repeats=max_repeats, seed=seed)

    def validate_params(self) -> None:
        """As :meth:`OptunaMultiObjective.validate_params`, and ``sampler`` must be ``"tpe"``.

        >>> MultiObjectiveTPE(sampler="nsga2").validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: motpe is TPE's multi-objective mode (sampler=tpe); ...
        """
        if self.sampler != "tpe":
            raise InvalidParameterError("motpe is TPE's multi-objective mode (sampler=tpe); for NSGA-II "
                                        "use the searcher nsga2")
        super().validate_params()
