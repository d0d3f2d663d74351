"""Operations: what each operation on each edge, and each operation count, does to an objective.

For every edge and operation: the mean objective of the classes whose representative cell has
that operation there, with a 95% Student-t interval, and its *enrichment*: how much more often
it appears among the top ``P``% classes than among all (``share_top / share_all``; above 1: the
operation is over-represented among the best). The same for operation counts (how many of the
six edges carry the operation), and per operation over all edges (:func:`operation_enrichment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from robnas.analysis.frame import checked_objectives
from robnas.arch import EDGES, NUM_EDGES, NUM_OPS, OPS, all_ops_array

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DEFAULT_TOP_PERCENT = 5.0
"""The share of best classes the enrichment compares with all classes."""


def top_mask(values: np.ndarray, top_percent: float) -> np.ndarray:
    """Which entries are among the best ``top_percent`` % (at least one; ties at the cut included)."""
    import math

    import numpy as np

    if not 0 < top_percent <= 100:
        from robnas.errors import InvalidParameterError  # a RobnasError and a ValueError

        raise InvalidParameterError(f"--top-percent must be in (0, 100], got {top_percent:g}")
    k = max(1, math.ceil(len(values) * top_percent / 100))
    cut = np.sort(values)[::-1][k - 1]
    return values >= cut


def operation_effects(frame: pd.DataFrame, objectives: Sequence[str], *,
                      top_percent: float = DEFAULT_TOP_PERCENT, exclude_degenerate: bool = True) -> pd.DataFrame:
    """Mean objective and enrichment among the top classes of every edge x operation.

    Args:
        frame: a :func:`robnas.analysis.class_frame`.
        objectives: its objective columns.
        top_percent: the best share of classes that enrichment looks at.
        exclude_degenerate: leave out the constant-output classes (default).

    Returns:
        One row per objective, edge and operation: ``objective``, ``edge`` (``"0->1"``...),
        ``op``, ``n``, ``mean``, ``ci_low``, ``ci_high``, ``share_all``, ``share_top``,
        ``enrichment`` and ``top_classes``: how many classes the top holds (the cut's ties
        included), which ``share_top`` is a share of; a few make a noisy enrichment.
    """
    import numpy as np

    objectives = checked_objectives(frame, objectives)
    data, ops = _ops(frame, exclude_degenerate)
    # one (class, group) indicator per edge x op
    groups = [(f"{i}->{j}", OPS[o], ops[:, e] == o) for e, (i, j) in enumerate(EDGES) for o in range(NUM_OPS)]
    return _grouped(data, objectives, groups, top_percent, ("edge", "op"), np)


def operation_counts(frame: pd.DataFrame, objectives: Sequence[str], *,
                     top_percent: float = DEFAULT_TOP_PERCENT, exclude_degenerate: bool = True) -> pd.DataFrame:
    """As :func:`operation_effects`, grouped by how many edges carry each operation (0..6).

    Returns:
        One row per objective, operation and count with at least one class: ``objective``,
        ``op``, ``count``, ``n``, ``mean``, ``ci_low``, ``ci_high``, ``share_all``,
        ``share_top``, ``enrichment``, ``top_classes``.
    """
    import numpy as np

    objectives = checked_objectives(frame, objectives)
    data, ops = _ops(frame, exclude_degenerate)
    groups = []
    for o in range(NUM_OPS):
        counts = (ops == o).sum(axis=1)
        groups += [(OPS[o], c, counts == c) for c in range(NUM_EDGES + 1) if (counts == c).any()]
    return _grouped(data, objectives, groups, top_percent, ("op", "count"), np)


def operation_enrichment(frame: pd.DataFrame, objectives: Sequence[str], *,
                         top_percent: float = DEFAULT_TOP_PERCENT, exclude_degenerate: bool = True) -> pd.DataFrame:
    """Per operation over all edges: mean count in a cell among all and among the top classes.

    Returns:
        One row per objective and operation: ``objective``, ``op``, ``mean_count_all``,
        ``mean_count_top``, ``enrichment`` (their ratio), ``top_classes`` (how many classes the
        top holds), sorted by enrichment, highest first, within each objective.
    """
    import numpy as np
    import pandas as pd

    objectives = checked_objectives(frame, objectives)
    data, ops = _ops(frame, exclude_degenerate)
    names = list(objectives)
    counts = np.stack([(ops == o).sum(axis=1) for o in range(NUM_OPS)], axis=1).astype(np.float64)
    values = data[names].to_numpy(dtype=np.float64)
    top = np.stack([top_mask(values[:, k], top_percent) for k in range(len(names))], axis=1).astype(np.float64)
    everywhere = counts.mean(axis=0)
    best = top.T @ counts / top.sum(axis=0)[:, None]  # objectives x ops
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = best / everywhere
    table = pd.DataFrame({
        "objective": np.repeat(names, NUM_OPS), "op": list(OPS) * len(names),
        "mean_count_all": np.tile(everywhere, len(names)), "mean_count_top": best.ravel(),
        "enrichment": ratio.ravel(), "top_classes": np.repeat(top.sum(axis=0).astype(np.int64), NUM_OPS),
        "_order": np.repeat(np.arange(len(names)), NUM_OPS),
    })
    table = table.sort_values(["_order", "enrichment"], ascending=[True, False], kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def _ops(frame: pd.DataFrame, exclude_degenerate: bool) -> tuple[pd.DataFrame, np.ndarray]:

    data = frame.loc[~frame["degenerate"]] if exclude_degenerate else frame
    ops = all_ops_array()[data["code"].to_numpy()]
    return data, ops


def _grouped(data, objectives, groups, top_percent, labels, np) -> pd.DataFrame:
    """Every objective x group at once: means and variances from matrix products."""
    import pandas as pd
    from scipy import stats

    names = list(objectives)
    members = np.stack([mask for _, _, mask in groups], axis=1).astype(np.float64)  # classes x groups
    values = data[names].to_numpy(dtype=np.float64)  # classes x objectives
    n = members.sum(axis=0)
    t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty group (a small table) is NaN
        mean = values.T @ members / n  # objectives x groups
        squares = (values**2).T @ members - n * mean**2
        half = np.where(n > 1, t * np.sqrt(np.maximum(squares, 0) / np.maximum(n - 1, 1) / n), np.nan)
    top = np.stack([top_mask(values[:, k], top_percent) for k in range(len(names))], axis=1).astype(np.float64)
    share_all = n / len(data)
    share_top = top.T @ members / top.sum(axis=0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        enrichment = share_top / share_all
    count = len(groups)
    return pd.DataFrame({
        "objective": np.repeat(names, count),
        labels[0]: [g[0] for g in groups] * len(names),
        labels[1]: [g[1] for g in groups] * len(names),
        "n": np.tile(n.astype(np.int64), len(names)),
        "mean": mean.ravel(),
        "ci_low": (mean - half).ravel(),
        "ci_high": (mean + half).ravel(),
        "share_all": np.tile(share_all, len(names)),
        "share_top": share_top.ravel(),
        "enrichment": enrichment.ravel(),
        "top_classes": np.repeat(top.sum(axis=0).astype(np.int64), count),  # what share_top is of
    })
