"""Bayesian optimisation through Optuna's ask-and-tell interface (TPE or Optuna's GP sampler)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from robnas.arch import EDGES, OPS, Arch
from robnas.errors import InvalidParameterError
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
        storage: an Optuna storage URL (e.g. ``"sqlite:///robnas.db"``) to keep the study in,
            so Optuna's tools (``optuna-dashboard sqlite:///robnas.db``) can show it; ``None``
            keeps it in memory. The study named ``study_name`` is replaced if it exists, so a
            resumed run (whose replay re-tells every trial) rebuilds it whole.
        study_name: the study's name in ``storage`` (``robnas search`` uses the run id).
        warmup: name of a per-cell measure (e.g. ``"params"``, or ``"imagenet16-120"``: another
            table of the release, :mod:`robnas.priors`): the first ``n_startup_trials`` trials
            are the best-scored of a random pool (:func:`~robnas.searchers.warm_start`, enqueued
            in the study) instead of the sampler's random ones. The caller hands the scores over
            with :meth:`use_scores` (:func:`robnas.priors.provide_scores`). ``None``: random.
        design: ``"random"`` (default) or ``"orthogonal"``: the first ``n_startup_trials``
            trials are cells of a randomised orthogonal array
            (:func:`~robnas.searchers.orthogonal_array_cells`, the predictor's default start;
            enqueued, at most its 25 cells, the sampler's random ones after them), so TPE and
            the predictor can be compared from the same kind of start. Not with ``warmup``.
        seed: seed of the sampler and of the private random generator (``None``: fresh entropy).

    Several proposals may be pending (asked, not yet told; a loop with several workers): they
    are Optuna trials still running. TPE is built with ``constant_liar=True``, so it models a
    running trial as a bad result and spreads the next proposals away from it (with no trial
    running, as in a sequential loop, this changes nothing); the GP sampler ignores running
    trials. A proposal of a pending class is dropped (its trial marked failed, which samplers
    ignore) and counts as a repeat, so no class is proposed while it is pending.

    Optuna is imported on the first :meth:`ask`. Its logging is left as the application set it
    (Optuna's verbosity is process-wide, so changing it belongs to the application: the
    ``robnas`` command sets it once to WARNING); through ask-and-tell, Optuna logs one INFO
    line per study ("A new study created in memory").
    """

    def __init__(
        self,
        *,
        sampler: str = "tpe",
        n_startup_trials: int = 10,
        max_repeats: int = 20,
        storage: str | None = None,
        study_name: str | None = None,
        warmup: str | None = None,
        design: str = "random",
        seed: int | None = None,
    ) -> None:
        self.sampler = sampler
        self.n_startup_trials = n_startup_trials
        self.max_repeats = max_repeats
        self.storage = storage
        self.study_name = study_name
        self.warmup = warmup
        self.design = design
        self.seed = seed
        self._scores: np.ndarray | None = None
        self._rng: np.random.Generator | None = None
        self._study: optuna.Study | None = None
        self._distributions: dict[str, Any] = {}
        self._values: dict[int, float] = {}  # class code -> value
        self._pending: dict[Arch, optuna.trial.Trial] = {}
        self._pending_classes: set[int] = set()
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

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters without importing Optuna or building a study.

        Raises:
            InvalidParameterError: ``sampler`` not ``"tpe"`` or ``"gp"``, ``n_startup_trials``
                not an integer in 0..6466, ``max_repeats`` not an integer >= 1, or ``seed`` not
                ``None`` or in 0..2**32-1, ``storage`` not ``None`` or a database URL whose
                SQLAlchemy dialect is installed (an SQLite file's folder must exist),
                ``study_name`` not ``None`` or a non-empty string, ``warmup`` named without
                its scores handed over (:meth:`use_scores`) or with ``n_startup_trials=0``, or
                ``design`` not one of :data:`~robnas.searchers.DESIGNS` or ``"orthogonal"``
                with a ``warmup``. Nothing is opened or created.

        >>> OptunaSearch(n_startup_trials=-3).validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: n_startup_trials must be an integer in 0..6466, got -3
        """
        check_choice("sampler", self.sampler, SAMPLERS)
        check_int("n_startup_trials", self.n_startup_trials, 0, MAX_COUNT)
        check_int("max_repeats", self.max_repeats, 1)
        if self.storage is not None:
            _check_storage(self.storage)
        if self.study_name is not None and (not isinstance(self.study_name, str) or not self.study_name.strip()):
            raise InvalidParameterError(f"study_name must be a non-empty string, got {self.study_name!r}")
        check_measure("warmup", self.warmup, self._scores)
        if self.warmup is not None and self.n_startup_trials == 0:
            raise InvalidParameterError("warmup replaces the n_startup_trials random trials; "
                                        "give n_startup_trials >= 1")
        check_design(self.design, self.warmup)
        check_seed(self.seed)

    def use_scores(self, scores: np.ndarray) -> None:
        """Hand over the ``warmup`` measure's score of every cell (``(15625,)``, by
        :attr:`Arch.code <robnas.arch.Arch.code>`)."""
        self._scores = check_scores(scores)

    def ask(self) -> Arch:
        """Optuna's next proposal of an unseen class (or a forced random unseen cell)."""
        study = self._ensure_study()
        assert self._rng is not None
        repeats = 0
        while True:
            if repeats >= self.max_repeats:
                forced = random_unseen(self._rng, set(self._values))
                study.enqueue_trial(self._params(forced))
                self._forced += 1
            trial = study.ask(self._distributions)
            arch = Arch.from_names(tuple(trial.params[name] for name in PARAM_NAMES))
            code = class_code(arch)
            known = self._values.get(code)
            if known is None and code not in self._pending_classes:
                self._pending[arch] = trial
                self._pending_classes.add(code)
                return arch
            if known is None:  # a class still being evaluated: this trial is dropped
                import optuna

                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, known)
            self._repeats_told += 1
            repeats += 1

    def tell(self, arch: Arch, value: float) -> None:
        """Tell Optuna the value of ``arch`` (added as a finished trial if it was not asked)."""
        study = self._ensure_study()
        value = self._told_value(value)
        self._values.setdefault(class_code(arch), value)
        self._pending_classes.discard(class_code(arch))
        trial = self._pending.pop(arch, None)
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
            self.validate_params()
            import optuna

            sampler = self._make_sampler()
            self._rng = np.random.default_rng(self.seed)
            self._distributions = {
                name: optuna.distributions.CategoricalDistribution(OPS) for name in PARAM_NAMES
            }
            storage = None if self.storage is None else _open_storage(self.storage)
            if storage is not None and self.study_name is not None:
                with contextlib.suppress(KeyError):  # no such study yet
                    optuna.delete_study(study_name=self.study_name, storage=storage)
            self._study = optuna.create_study(directions=self._directions(), sampler=sampler,
                                              storage=storage, study_name=self.study_name)
            if self._scores is not None:
                first = warm_start(self._rng, self._scores, set(self._values), self.n_startup_trials)
            elif self.design == "orthogonal":
                first = orthogonal_array_cells(self._rng)[: self.n_startup_trials]
            else:
                first = []
            for arch in first:
                self._study.enqueue_trial(self._params(arch))
        return self._study

    def _make_sampler(self) -> optuna.samplers.BaseSampler:
        """The sampler of :attr:`sampler` (parameters already checked by :meth:`validate_params`)."""
        import optuna

        if self.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=self.n_startup_trials,
                                              constant_liar=True)
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


def _check_storage(url: object) -> None:
    """Refuse a storage URL that cannot name a database, without connecting to it."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidParameterError(f"storage must be a database URL such as sqlite:///FILE.db, got {url!r}")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as err:
        raise InvalidParameterError(f"storage {url!r} is not a usable database URL "
                                    f"(e.g. sqlite:///FILE.db): {str(err).splitlines()[0]}") from None
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        folder = Path(database).expanduser().parent
        if not folder.is_dir():
            raise InvalidParameterError(f"storage {url!r}: folder {folder} does not exist")


def _open_storage(url: str) -> optuna.storages.BaseStorage:
    import optuna

    try:
        return optuna.storages.get_storage(url)
    except Exception as err:  # SQLAlchemy raises many kinds for a bad URL or file
        raise ValueError(f"cannot open the Optuna storage {url!r}: {str(err).splitlines()[0]}") from None
