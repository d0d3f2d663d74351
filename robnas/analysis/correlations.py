"""Correlations: rank agreement between objectives on one dataset, and between datasets.

Kendall's tau (tau-b, which accounts for the many ties of 3-decimal accuracies) and Spearman's
rho, from :mod:`scipy.stats`, over the isomorphism classes, with the number of classes used.
Spearman's rho of every pair comes from one rank-matrix computation; Kendall's tau costs a few
milliseconds a pair, so over very many objectives (a whole table has over a hundred: about
8,000 pairs) it can be limited to the pairs with a chosen few (``focus``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

COLUMNS: tuple[str, ...] = ("kendall_tau", "spearman_rho", "n")
"""The statistics of every pair."""
TOP_AGREEMENT = 10
"""How many best classes of one dataset :func:`dataset_correlations` ranks on the other."""


def correlations(frame: pd.DataFrame, objectives: Sequence[str], *,
                 focus: Sequence[str] | None = None, exclude_degenerate: bool = False) -> pd.DataFrame:
    """Kendall's tau and Spearman's rho between every two objectives over the classes of ``frame``.

    Args:
        frame: a :func:`robnas.analysis.class_frame`.
        objectives: its objective columns.
        focus: limit Kendall's tau (a few milliseconds a pair) to the pairs within ``focus``
            and every objective's pair with ``focus[0]`` (e.g. ``clean``); the other pairs get
            NaN. ``None`` (default): Kendall's tau for every pair. Spearman's rho is always
            given for every pair.
        exclude_degenerate: leave out the constant-output classes.

    Returns:
        One row per unordered pair (``a`` before ``b`` in ``objectives``) with :data:`COLUMNS`;
        a pair with a constant column has NaN statistics.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    from robnas.analysis.frame import checked_objectives

    objectives = checked_objectives(frame, objectives)
    if focus is not None:
        focus = checked_objectives(frame, focus)
    data = frame.loc[~frame["degenerate"]] if exclude_degenerate else frame
    names = list(dict.fromkeys(objectives))
    values = data[names].to_numpy(dtype=np.float64)
    complete = ~np.isnan(values).any(axis=1)
    rho = _spearman_matrix(values[complete]) if len(names) > 1 else np.ones((1, 1))
    present = ~np.isnan(values)
    first, second = np.triu_indices(len(names), k=1)
    weights = present.astype(np.float64)
    counts = (weights.T @ weights)[first, second].astype(np.int64)
    chosen = set(focus or ())
    tau = np.full(len(first), np.nan)
    with warnings.catch_warnings():  # a constant column: NaN, as documented, not a warning
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for k, (i, j) in enumerate(zip(first, second, strict=True)):
            a, b = names[i], names[j]
            if focus is None or {a, b} <= chosen or focus[0] in (a, b):
                ok = present[:, i] & present[:, j]
                if ok.sum() > 1:
                    tau[k] = stats.kendalltau(values[ok, i], values[ok, j]).statistic
    return pd.DataFrame({
        "a": [names[i] for i in first],
        "b": [names[j] for j in second],
        "kendall_tau": tau,
        "spearman_rho": rho[first, second] if len(first) else np.zeros(0),
        "n": counts,
    })


def dataset_correlations(frames: Mapping[str, pd.DataFrame], objectives: Sequence[str] | None = None,
                         *, exclude_degenerate: bool = False) -> pd.DataFrame:
    """Kendall's tau and Spearman's rho of each objective between every two datasets.

    Args:
        frames: dataset name -> its :func:`robnas.analysis.class_frame` (same class rows).
        objectives: the objectives to compare (default: every column all frames share).
        exclude_degenerate: leave out classes that are constant-output on either dataset.

    Returns:
        One row per objective and pair of datasets: ``objective``, ``dataset_a``, ``dataset_b``,
        :data:`COLUMNS`, and whether the two agree on the *best* classes (what a transfer prior,
        :mod:`robnas.priors`, relies on): ``top10_rank_in_b``, the worst rank on ``dataset_b``
        (1 = best; ties share the better rank) of ``dataset_a``'s 10 best classes (and any
        tied with the 10th), and
        ``top10_rank_in_a`` the other way round.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    from robnas.analysis.frame import checked_objectives, objective_columns

    names = list(frames)
    if objectives is None:
        shared = set.intersection(*(set(objective_columns(f)) for f in frames.values())) if frames else set()
        objectives = [o for o in objective_columns(frames[names[0]]) if o in shared] if names else []
    else:
        for frame in frames.values():  # each objective a column of every frame
            objectives = checked_objectives(frame, objectives)
    rows = []
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            left, right = frames[first].align(frames[second], join="inner", axis=0)
            keep = np.ones(len(left), dtype=bool)
            if exclude_degenerate:
                keep = ~(left["degenerate"].to_numpy() | right["degenerate"].to_numpy())
            for objective in objectives:
                x = left[objective].to_numpy(dtype=np.float64)[keep]
                y = right[objective].to_numpy(dtype=np.float64)[keep]
                ok = ~(np.isnan(x) | np.isnan(y))
                with warnings.catch_warnings():  # a constant column: NaN, not a warning
                    warnings.simplefilter("ignore", stats.ConstantInputWarning)
                    tau = stats.kendalltau(x[ok], y[ok]).statistic
                    rho = stats.spearmanr(x[ok], y[ok]).statistic
                rows.append((objective, first, second, float(tau), float(rho), int(ok.sum()),
                             _worst_rank_of_best(x[ok], y[ok]), _worst_rank_of_best(y[ok], x[ok])))
    return pd.DataFrame(rows, columns=["objective", "dataset_a", "dataset_b", *COLUMNS,
                                       "top10_rank_in_b", "top10_rank_in_a"])


def _worst_rank_of_best(source, target) -> int:
    """The worst rank in ``target`` (1 = best, competition ranking) of the
    :data:`TOP_AGREEMENT` classes best in ``source`` (with every class tied with the last)."""
    import numpy as np

    if not len(source):
        return 0
    cut = np.sort(source)[::-1][min(TOP_AGREEMENT, len(source)) - 1]
    best = np.flatnonzero(source >= cut)
    ordered = np.sort(target)
    # rank = 1 + how many classes are strictly better on the target
    ranks = 1 + len(ordered) - np.searchsorted(ordered, target[best], side="right")
    return int(ranks.max())


def correlation_matrix(table: pd.DataFrame, statistic: str = "kendall_tau",
                       columns: Sequence[str] | None = None, rows: Sequence[str] | None = None) -> pd.DataFrame:
    """A :func:`correlations` table as a matrix: ``rows`` (default: every objective of the
    table) by ``columns`` (default: the rows), symmetric, 1 on the diagonal, NaN for pairs not
    computed."""
    import numpy as np
    import pandas as pd

    if statistic not in COLUMNS[:-1] or statistic not in table.columns:
        from robnas.errors import InvalidParameterError

        raise InvalidParameterError(f"statistic must be one of {', '.join(COLUMNS[:-1])}, got {statistic!r}")
    order = list(rows) if rows is not None else list(dict.fromkeys([*table["a"], *table["b"]]))
    cols = list(columns) if columns is not None else order
    matrix = pd.DataFrame(np.nan, index=pd.Index(order, name="a"), columns=pd.Index(cols, name="b"))
    for a, b, value in zip(table["a"], table["b"], table[statistic], strict=True):
        for row, col in ((a, b), (b, a)):
            if row in matrix.index and col in matrix.columns:
                matrix.loc[row, col] = value
    for name in set(order) & set(cols):
        matrix.loc[name, name] = 1.0
    return matrix


def _spearman_matrix(values):
    """Spearman's rho of every two columns: Pearson's r of their average ranks, as
    :func:`scipy.stats.spearmanr` computes it, in one matrix product; NaN for a pair with a
    constant column (``spearmanr`` of a matrix gives one NaN for every pair when its first or
    second column is constant)."""
    import numpy as np
    from scipy import stats

    if values.shape[0] < 2:
        return np.full((values.shape[1],) * 2, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.atleast_2d(np.corrcoef(stats.rankdata(values, axis=0), rowvar=False))
