"""Pareto utilities on arrays: dominance, fronts, non-dominated sorting, hypervolume.

Plain functions on ``(n, k)`` arrays of objective values (one row per cell, one column per
objective), after :mod:`sklearn.metrics`: inputs are validated, and ``maximize`` (one flag per
column) says which way each objective is better. Internally every function works on *losses*
(``-value`` for a maximised objective, ``value`` for a minimised one), the convention of the
library that does the heavy lifting:

* non-dominated sorting: Optuna's fast non-dominated sort
  (``optuna.study._multi_objective._fast_non_domination_rank``, Deb et al. 2002);
* hypervolume: Optuna's exact hypervolume (``optuna._hypervolume.compute_hypervolume``:
  a sweep in 2-D, an exact 3-D algorithm and WFG above).

Why Optuna and not pymoo: Optuna is already robnas's dependency for Bayesian optimisation and
NSGA-II (the ``[search]`` extra), its hypervolume is exact and fast for the 2-3 objectives
used here (about 20 us for a 2-D front of 30 points), whereas pymoo would add a second
optimisation framework and its dependencies for two functions. Both Optuna functions are
private names (Optuna 5.0 has no public hypervolume or non-dominated sort), so ``setup.cfg``
pins the tested Optuna range (:data:`OPTUNA_TESTED`), :func:`_optuna_private` turns a missing
name into a :class:`ParetoError` that says so, and ``tests/test_pareto.py`` checks both
functions against an independent brute-force computation.

>>> import numpy as np
>>> points = np.array([[0.5, 0.9], [0.6, 0.8], [0.4, 0.85], [0.6, 0.7]])
>>> non_dominated_mask(points, [True, True]).tolist()
[True, True, False, False]
>>> round(hypervolume(points, [0.3, 0.6], [True, True]), 4)
0.08
>>> reference_point(points[:2], [True, True]).round(3).tolist()
[0.49, 0.79]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from robnas.errors import ParetoError

if TYPE_CHECKING:
    import numpy as np

OPTUNA_TESTED = ">=5.0,<6"
"""The Optuna versions whose private hypervolume and non-dominated sort robnas was tested with
(the ``optuna`` requirement of ``setup.cfg``'s ``search`` extra)."""

REFERENCE_MARGIN = 0.1
"""How far beyond the nadir of the true front the reference point lies, as a share of each
objective's range over that front."""


def direction_flags(maximize: Sequence[bool]) -> np.ndarray:
    """``maximize`` as a boolean array, one flag per objective (``True``: larger is better).

    Only booleans are flags: ``["max", "min"]`` would otherwise read as two ``True``s (any
    non-empty string is true), and every dominance and hypervolume answer would be wrong.

    >>> direction_flags(["max", "min"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    robnas.errors.ParetoError: maximize must be a list of booleans, ... got ['max', 'min']
    """
    import numpy as np

    flags = None
    if not isinstance(maximize, (str, bytes)) and isinstance(maximize, (Sequence, np.ndarray)):
        flags = np.asarray(maximize, dtype=object).ravel()
        if len(flags) == 0 or np.ndim(maximize) != 1 or not all(isinstance(f, (bool, np.bool_)) for f in flags):
            flags = None
    if flags is None:
        raise ParetoError("maximize must be a list of booleans, one per objective (True: larger is "
                          f"better), got {maximize!r}")
    return flags.astype(bool)


def as_losses(points: np.ndarray | Sequence[Sequence[float]], maximize: Sequence[bool]) -> np.ndarray:
    """``(n, k)`` losses: maximised columns negated, so that smaller is better everywhere.

    Raises:
        ParetoError: ``maximize`` not a list of booleans (:func:`direction_flags`), values that
            are not numbers in a 2-D array with one column per flag, or NaN values.
    """
    import numpy as np

    flags = direction_flags(maximize)
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParetoError(f"expected an (n, {len(flags)}) array of numbers, got {points!r}") from None
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, len(flags))
    if array.ndim != 2 or array.shape[1] != len(flags):
        raise ParetoError(f"expected an (n, {len(flags)}) array of objective values, "
                          f"got shape {array.shape}")
    if np.isnan(array).any():
        raise ParetoError("objective values contain NaN")
    return array * np.where(flags, -1.0, 1.0)


def dominates(a: Sequence[float], b: Sequence[float], maximize: Sequence[bool]) -> bool:
    """Whether ``a`` Pareto-dominates ``b``: at least as good everywhere, better somewhere.

    >>> dominates([0.5, 0.9], [0.5, 0.8], [True, True]), dominates([1, 2], [1, 2], [True, False])
    (True, False)
    """
    losses = as_losses([a, b], maximize)
    return bool((losses[0] <= losses[1]).all() and (losses[0] < losses[1]).any())


def dominated_by_any(point: Sequence[float], others: np.ndarray, maximize: Sequence[bool]) -> bool:
    """Whether some row of ``others`` dominates ``point`` (vectorised :func:`dominates`)."""
    import numpy as np

    if len(others) == 0:
        return False
    losses = as_losses(others, maximize)
    mine = as_losses([point], maximize)[0]
    return bool(np.any((losses <= mine).all(axis=1) & (losses < mine).any(axis=1)))


def non_dominated_mask(points: np.ndarray | Sequence[Sequence[float]], maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (duplicates of a front point all count)."""
    return non_dominated_ranks(points, maximize) == 0


def non_dominated_ranks(points: np.ndarray | Sequence[Sequence[float]], maximize: Sequence[bool]) -> np.ndarray:
    """Front number of every row: 0 for the Pareto front, 1 for the front after removing it, ...

    Equal rows share a rank. Uses Optuna's fast non-dominated sort.
    """
    import numpy as np

    losses = as_losses(points, maximize)
    if len(losses) == 0:
        return np.zeros(0, dtype=np.int64)
    rank = _optuna_private("optuna.study._multi_objective", "_fast_non_domination_rank")
    return np.asarray(rank(losses), dtype=np.int64)


def hypervolume(
    points: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float],
    maximize: Sequence[bool],
) -> float:
    """The hypervolume dominated by ``points`` and bounded by ``reference`` (exact).

    Points that do not strictly improve on ``reference`` in every objective add nothing. Uses
    Optuna's exact hypervolume.

    Raises:
        ParetoError: shapes that do not fit, or NaN.
    """
    import numpy as np

    losses = as_losses(points, maximize)
    ref = as_losses([reference], maximize)[0]
    inside = losses[(losses < ref).all(axis=1)]
    if len(inside) == 0:
        return 0.0
    compute_hypervolume = _optuna_private("optuna._hypervolume", "compute_hypervolume")
    return float(compute_hypervolume(np.ascontiguousarray(inside), ref))


def hypervolume_improvements(
    candidates: np.ndarray | Sequence[Sequence[float]],
    front: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float],
    maximize: Sequence[bool],
) -> np.ndarray:
    """How much each candidate alone would add to the hypervolume of ``front`` (exact).

    ``HVI(c) = HV(front + [c]) - HV(front)``, for every row ``c`` of ``candidates`` at once:
    the box between ``c`` and ``reference`` minus the hypervolume of the front clipped to that
    box (every front point replaced by its component-wise worse-of with ``c``). The clipped
    hypervolumes are computed for all candidates together, by a sweep in 2-D and by slicing
    along the last objective above, so scoring the 6,466 NB201 classes against a front of 20
    points takes 5-15 ms in 2-D where one call of :func:`hypervolume` per candidate takes
    4-6 s (``tests/test_pareto.py`` checks both agree). Candidates that a front
    point weakly dominates, and those outside the reference box, get 0.

    Returns:
        ``(n,)`` non-negative improvements.

    >>> import numpy as np
    >>> front = np.array([[0.5, 0.9], [0.6, 0.8]])
    >>> hypervolume_improvements([[0.7, 0.7], [0.55, 0.95], [0.5, 0.8]], front, [0.3, 0.6],
    ...                          [True, True]).round(4).tolist()
    [0.01, 0.0175, 0.0]
    """
    import numpy as np

    cands = as_losses(candidates, maximize)
    ref = as_losses([reference], maximize)[0]
    points = as_losses(front, maximize)
    gains = np.clip(ref - cands, 0.0, None).prod(axis=1)
    points = points[(points < ref).all(axis=1)]
    if len(points) == 0 or len(cands) == 0:
        return gains
    weakly_dominated = np.zeros(len(cands), dtype=bool)
    for point in points:  # a loop over the front, vectorised over the candidates
        weakly_dominated |= (point <= cands).all(axis=1)
    rows = np.flatnonzero(~weakly_dominated & (gains > 0))
    gains[~np.isin(np.arange(len(cands)), rows)] = 0.0
    clipped = np.minimum(np.maximum(points[None, :, :], cands[rows, None, :]), ref)
    gains[rows] = np.clip(gains[rows] - _clipped_volumes(clipped, ref), 0.0, None)
    return gains


def _clipped_volumes(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume of each set ``points[i]`` (``(n, m, k)`` losses, all <= ``ref``), batched."""
    import numpy as np

    n, m, k = points.shape
    if k == 1:
        return (ref[0] - points[:, :, 0].min(axis=1)).clip(0.0)
    order = np.argsort(points[:, :, -1], axis=1, kind="stable")
    ordered = np.take_along_axis(points, order[:, :, None], axis=1)
    last = ordered[:, :, -1]
    depth = np.diff(np.concatenate([last, np.full((n, 1), ref[-1])], axis=1), axis=1)  # (n, m)
    if k == 2:  # the staircase: the best first objective among points up to each slice
        return (depth * (ref[0] - np.minimum.accumulate(ordered[:, :, 0], axis=1))).sum(axis=1)
    # slice j holds the points sorted before or at j; later points are moved onto the reference
    active = np.arange(m)[None, :] <= np.arange(m)[:, None]  # (slice, point)
    rest = np.where(active[None, :, :, None], ordered[:, None, :, :-1], ref[:-1])
    areas = _clipped_volumes(rest.reshape(n * m, m, k - 1), ref[:-1]).reshape(n, m)
    return (depth * areas).sum(axis=1)


def _optuna_private(module: str, name: str) -> Any:
    """Optuna's private ``module.name``, or a :class:`ParetoError` naming the tested versions."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = f"Optuna {version('optuna')} does not have it"
        except PackageNotFoundError:
            installed = "Optuna is not installed"
        raise ParetoError(
            f"robnas uses Optuna's private {module}.{name} ({installed}); install a tested "
            f"version: pip install 'optuna{OPTUNA_TESTED}'"
        ) from None


def reference_point(
    front: np.ndarray | Sequence[Sequence[float]],
    maximize: Sequence[bool],
    margin: float = REFERENCE_MARGIN,
) -> np.ndarray:
    """The front's nadir point moved outward by ``margin`` of each objective's range on it.

    The nadir is the worst value of each objective over ``front``; "outward" is towards worse.
    Where an objective's range over the front is zero, ``margin`` of its magnitude is used
    (or ``margin`` itself for a value of zero), so every front point dominates the result.
    """
    import math

    import numpy as np

    losses = as_losses(front, maximize)
    if len(losses) == 0:
        raise ParetoError("the reference point needs at least one front point")
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(margin) and margin >= 0):
        raise ParetoError(f"margin must be a finite number >= 0 (a share of each objective's range), "
                          f"got {margin!r}")
    nadir, ideal = losses.max(axis=0), losses.min(axis=0)
    span = nadir - ideal
    span = np.where(span > 0, span, np.where(nadir != 0, np.abs(nadir), 1.0))
    ref_loss = nadir + margin * span
    return ref_loss * np.where(direction_flags(maximize), -1.0, 1.0)


__all__ = [
    "OPTUNA_TESTED",
    "REFERENCE_MARGIN",
    "ParetoError",
    "as_losses",
    "direction_flags",
    "dominated_by_any",
    "dominates",
    "hypervolume",
    "hypervolume_improvements",
    "non_dominated_mask",
    "non_dominated_ranks",
    "reference_point",
]
