"""ParEGO-style search (multi-objective): a ridge model per objective, random Tchebycheff weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robnas.arch import NUM_EDGES, NUM_OPS, Arch, all_ops_array
from robnas.isomorphism import class_code, class_code_array
from robnas.searchers._base import (
    MAX_COUNT,
    check_float,
    check_int,
    check_seed,
    params_repr,
    random_unseen,
)
from robnas.searchers._blas import one_blas_thread


class ParEGOSearch:
    """Random scalarisations of cheap surrogate models, maximised over the whole space.

    After Knowles's ParEGO (2006): each proposal draws a weight vector uniformly from the
    simplex and proposes the unseen class that maximises the augmented Tchebycheff
    scalarisation of the *predicted* objectives (normalised by the ranges seen so far). The
    predictions come from one ridge regression per objective on the one-hot encoding of the six
    edges (30 features), refitted after every evaluation. NB201 is small enough to score every
    one of its 6,466 classes exactly, so no inner optimiser is needed (the step where ParEGO
    runs an evolutionary algorithm on the acquisition).

    Values are vectors, larger-is-better in every component; a plain number is read as a
    one-element vector.

    Pending proposals (asked, not yet told; a loop with several workers) are closed as
    candidates; the models are fitted on told cells only, and each proposal draws its own
    weights, so concurrent proposals spread along the front.

    Args:
        num_init: random cells before the model is used.
        ridge: L2 penalty of the ridge regressions.
        explore: probability of proposing a random unseen cell instead.
        rho: weight of the linear term of the augmented Tchebycheff scalarisation.
        seed: seed of the private random generator (``None``: fresh entropy).

    >>> searcher = ParEGOSearch(num_init=2, seed=0)
    >>> for value in ((0.5, 0.8), (0.6, 0.7)):
    ...     searcher.tell(searcher.ask(), value)
    >>> isinstance(searcher.ask(), Arch)
    True
    """

    def __init__(self, *, num_init: int = 10, ridge: float = 1.0, explore: float = 0.1,
                 rho: float = 0.05, seed: int | None = None) -> None:
        self.num_init = num_init
        self.ridge = ridge
        self.explore = explore
        self.rho = rho
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._seen: set[int] = set()
        self._told: set[int] = set()
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._classes: np.ndarray | None = None  # representative code of every class
        self._features: np.ndarray | None = None  # their one-hot encodings
        self._open: np.ndarray | None = None  # per class: not yet proposed or told

    def __repr__(self) -> str:
        return params_repr(self)

    def validate_params(self) -> None:
        """Check the hyperparameters (pure: builds nothing).

        Raises:
            InvalidParameterError: ``num_init`` not an integer in 1..6466, ``ridge`` not a
                number > 0, ``explore`` not a probability in 0..1, ``rho`` not a number >= 0,
                or ``seed`` not ``None`` or in 0..2**32-1.

        >>> ParEGOSearch(explore=1.5).validate_params()
        Traceback (most recent call last):
        ...
        robnas.errors.InvalidParameterError: explore must be a number >= 0.0 and <= 1.0, got 1.5
        """
        check_int("num_init", self.num_init, 1, MAX_COUNT)
        check_float("ridge", self.ridge, 0.0, low_open=True)
        check_float("explore", self.explore, 0.0, 1.0)
        check_float("rho", self.rho, 0.0)
        check_seed(self.seed)

    @one_blas_thread()
    def ask(self) -> Arch:
        """The unseen class that maximises a random scalarisation of the predictions (with one BLAS thread)."""
        rng = self._ensure()
        if len(self._y) < self.num_init or rng.random() < self.explore:
            return self._propose(random_unseen(rng, self._seen))
        assert self._classes is not None and self._features is not None
        y = np.asarray(self._y)
        coef, intercept = self._fit(np.asarray(self._x), y)
        predicted = self._features @ coef + intercept
        low, high = y.min(axis=0), y.max(axis=0)
        scaled = (predicted - low) / np.where(high > low, high - low, 1.0)
        weights = rng.dirichlet(np.ones(y.shape[1]))
        score = (weights * scaled).min(axis=1) + self.rho * (weights * scaled).sum(axis=1)
        score[~self._open] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            return self._propose(random_unseen(rng, self._seen))
        return self._propose(Arch.from_code(int(self._classes[best])))

    def tell(self, arch: Arch, value: float | Sequence[float]) -> None:
        """Learn ``arch``'s vector (a class told twice is learnt once)."""
        code = class_code(arch)
        self._seen.add(code)
        self._close(code)
        if code in self._told:
            return
        self._told.add(code)
        self._x.append(_one_hot(np.asarray(Arch.from_code(code).ops)))
        self._y.append(np.atleast_1d(np.asarray(value, dtype=np.float64)))

    # -- internals -----------------------------------------------------------------------------
    def _ensure(self) -> np.random.Generator:
        if self._rng is None:
            self.validate_params()
            self._rng = np.random.default_rng(self.seed)
            self._classes = np.unique(class_code_array())
            self._features = _one_hot(all_ops_array()[self._classes].astype(np.int64))
            self._open = np.ones(len(self._classes), dtype=bool)
            for code in self._seen:
                self._close(code)
        return self._rng

    def _fit(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ridge coefficients ``(features, objectives)`` and the (unpenalised) intercepts."""
        mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
        xc, yc = x - mean_x, y - mean_y
        gram = xc.T @ xc + float(self.ridge) * np.eye(x.shape[1])
        coef = np.linalg.solve(gram, xc.T @ yc)
        return coef, mean_y - mean_x @ coef

    def _propose(self, arch: Arch) -> Arch:
        self._seen.add(class_code(arch))
        self._close(class_code(arch))
        return arch

    def _close(self, code: int) -> None:
        if self._open is not None and self._classes is not None:
            self._open[int(np.searchsorted(self._classes, code))] = False


def _one_hot(ops: np.ndarray) -> np.ndarray:
    """``(..., 6) -> (..., 30)`` one-hot encoding of the ops of each edge."""
    eye = np.eye(NUM_OPS)
    encoded = eye[ops]
    return encoded.reshape(*ops.shape[:-1], NUM_EDGES * NUM_OPS)

