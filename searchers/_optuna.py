"""Bayesian optimisation through Optuna's ask-and-tell interface (TPE or Optuna's GP sampler)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from robnas.arch import EDGES, OPS, Arch
from robnas.isomorphism import class_code
from robnas.searchers._base import random_unseen

if TYPE_CHECKING:
    import optuna

SAMPLERS = ("tpe", "gp")
PARAM_NAMES: tuple[str, ...] = tuple(f"edge_{a}_{b}" for a, b in EDGES)
"""Optuna parameter names of the six edges (each categorical over :data:`~robnas.arch.OPS`)."""


class OptunaSearch:
    """Optuna over the six edges as categorical parameters, driven with ask-and-tell.

    Optuna often proposes a cell (or an isomorph of one) it has already seen: such a proposal
    is told its known value at once, without being returned, so it costs no budget. After
    ``max_repeats`` such proposals in a row, a random unseen cell is enqueued as Optuna's next
    trial, so the search never stalls. Cells told without being asked are added to the study
    as completed trials.

    Args:
        sampler: ``"tpe"`` (:class:`optuna.samplers.TPESampler`) or ``"gp"``
            (:class:`optuna.samplers.GPSampler`, needs torch and scipy).
        n_startup_trials: random trials before the model-based sampler takes over.
        max_repeats: known proposals in a row before a random unseen cell is forced.
        seed: seed of the sampler and of the private random generator (``None``: fresh entropy).

    Optuna is imported on the first :meth:`ask`, and its INFO logging is muted while this
    searcher talks to it (the previous verbosity is restored after each call).
    """

    def __init__(
        self,
        *,
        sampler: str = "tpe",
        n_startup_trials: int = 10,
        max_repeats: int = 20,
        seed: int | None = None,
    ) -> None:
        self.sampler = sampler
        self.n_startup_trials = n_startup_trials
        self.max_repeats = max_repeats
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._study: optuna.Study | None = None
        self._distributions: dict[str, Any] = {}
        self._values: dict[int, float] = {}  # class code -> value
        self._pending: dict[Arch, optuna.trial.Trial] = {}
        self._repeats_told = 0
        self._forced = 0

    @property
    def study(self) -> optuna.Study | None:
        """The Optuna study (``None`` before the first call), e.g. for Optuna's plots."""
        return self._study

    @property
    def repeats_told(self) -> int:
        """How many of Optuna's proposals were known cells, told without spending budget."""
        return self._repeats_told

    @property
    def forced(self) -> int:
        """How many random unseen cells were forced after ``max_repeats`` repeats in a row."""
        return self._forced

    def ask(self) -> Arch:
        """Optuna's next proposal of an unseen class (or a forced random unseen cell)."""
        study = self._ensure_study()
        assert self._rng is not None
        with _quiet_optuna():
            repeats = 0
            while True:
                if repeats >= self.max_repeats:
                    forced = random_unseen(self._rng, set(self._values))
                    study.enqueue_trial(self._params(forced))
                    self._forced += 1
                trial = study.ask(self._distributions)
                arch = Arch.from_names(tuple(trial.params[name] for name in PARAM_NAMES))
                known = self._values.get(class_code(arch))
                if known is None:
                    self._pending[arch] = trial
                    return arch
                study.tell(trial, known)
                self._repeats_told += 1
                repeats += 1

    def tell(self, arch: Arch, value: float) -> None:
        """Tell Optuna the value of ``arch`` (added as a finished trial if it was not asked)."""
        study = self._ensure_study()
        value = self._told_value(value)
        self._values.setdefault(class_code(arch), value)
        trial = self._pending.pop(arch, None)
        with _quiet_optuna():
            if trial is not None:
                study.tell(trial, value)
            else:
                import optuna

                study.add_trial(
                    optuna.trial.create_trial(
                        params=self._params(arch), distributions=self._distributions,
                        values=list(value) if isinstance(value, tuple) else [value],
                    )
                )

    # -- internals -----------------------------------------------------------------------------
    def _ensure_study(self) -> optuna.Study:
        if self._study is None:
            import optuna

            sampler = self._make_sampler()
            self._rng = np.random.default_rng(self.seed)
            self._distributions = {
                name: optuna.distributions.CategoricalDistribution(OPS) for name in PARAM_NAMES
            }
            with _quiet_optuna():
                self._study = optuna.create_study(directions=self._directions(), sampler=sampler)
        return self._study

    def _make_sampler(self) -> optuna.samplers.BaseSampler:
        import optuna

        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        if self.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=self.n_startup_trials)
        return optuna.samplers.GPSampler(seed=self.seed, n_startup_trials=self.n_startup_trials)

    def _directions(self) -> list[str]:
        """The study's directions (one: every single objective is maximised)."""
        return ["maximize"]

    def _told_value(self, value: Any) -> Any:
        """What Optuna is told for ``value`` (a float here; a tuple in multi-objective mode)."""
        return float(value)

    @staticmethod
    def _params(arch: Arch) -> dict[str, str]:
        return dict(zip(PARAM_NAMES, arch.names, strict=True))


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Mute Optuna's INFO messages (one line per trial) and restore the verbosity after."""
    import optuna

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)
