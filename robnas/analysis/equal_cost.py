"""Equal cost: how far apart networks of the same size are on an objective.

The NB201 network's parameter count (and FLOPs) depends only on how many 1x1 and 3x3
convolutions its cell holds, so the 6,466 classes fall into at most 28 groups of equal cost.
:func:`equal_cost` gives each group's size and the minimum, median, maximum and spread of an
objective, with the classes at both extremes; :func:`equal_cost_findings` picks, for each
objective, the widest group among the large ones and says it in a sentence, like the paper's
"networks with the same parameter count range in mean adversarial accuracy from 20% to 41%".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from robnas.cost import METRICS as COST_METRICS
from robnas.cost import check_metric

if TYPE_CHECKING:
    import pandas as pd

MIN_GROUP_SHARE = 0.05
"""A group counts as large when it holds at least this share of the (analysed) classes."""
_UNITS = {"params": "M parameters", "flops": "M FLOPs"}


def equal_cost(frame: pd.DataFrame, objectives: Sequence[str], by: str = "params", *,
               exclude_degenerate: bool = True) -> pd.DataFrame:
    """Each group of equal cost, for each objective: size, min, median, max, spread, extremes.

    Args:
        frame: a :func:`robnas.analysis.class_frame`.
        objectives: its objective columns.
        by: ``params`` or ``flops``.
        exclude_degenerate: leave out the constant-output classes (default).

    Returns:
        One row per objective and cost group (``objective``, ``by``, ``cost``, ``n``, ``min``,
        ``median``, ``max``, ``spread``, ``worst_index``, ``best_index``: NB201 indices of the
        classes at the extremes, the smallest index on ties), sorted by objective then cost.
    """
    import pandas as pd

    from robnas.analysis.frame import checked_objectives

    by = check_metric(by)
    objectives = checked_objectives(frame, objectives)
    data = frame.loc[~frame["degenerate"]] if exclude_degenerate else frame
    names = list(objectives)
    columns = ["objective", "by", "cost", "n", "min", "median", "max", "spread", "worst_index", "best_index"]
    if not names:
        return pd.DataFrame(columns=columns)
    groups = data[[by, *names]].groupby(by, sort=True)
    stats = {
        "n": groups.count(), "min": groups.min(), "median": groups.median(), "max": groups.max(),
        "worst_index": groups.idxmin(), "best_index": groups.idxmax(),
    }
    table = pd.concat({k: v.melt(ignore_index=False, var_name="objective", value_name=k)[k]
                       for k, v in stats.items()}, axis=1)
    table["objective"] = stats["n"].melt(ignore_index=False, var_name="objective")["objective"].to_numpy()
    table = table.reset_index(names="cost")
    table["by"] = by
    table["spread"] = table["max"] - table["min"]
    order = {name: i for i, name in enumerate(names)}
    table = table.sort_values(["objective", "cost"], key=lambda c: c.map(order) if c.name == "objective" else c)
    return table[columns].reset_index(drop=True)


def equal_cost_findings(table: pd.DataFrame, frame: pd.DataFrame, *,
                        min_share: float = MIN_GROUP_SHARE) -> pd.DataFrame:
    """For each objective of an :func:`equal_cost` table: the widest large group, in words.

    Args:
        table: from :func:`equal_cost`.
        frame: the :func:`robnas.analysis.class_frame` it came from (for the extremes' cells).
        min_share: a group is large when it holds at least this share of the classes analysed.

    Returns:
        One row per objective: the group (``by``, ``cost``, ``n``, ``min``, ``max``, ``spread``),
        its extremes (``worst_index``, ``worst_arch``, ``best_index``, ``best_arch``), the
        number of large groups, and ``statement``.
    """
    import numpy as np

    total = table.groupby("objective", sort=False)["n"].transform("sum")
    large = table["n"] >= min_share * total
    biggest = table["n"] == table.groupby("objective", sort=False)["n"].transform("max")
    has_large = large.groupby(table["objective"], sort=False).transform("any")
    eligible = table.loc[large | (~has_large & biggest)]
    widest = eligible.loc[eligible.groupby("objective", sort=False)["spread"].idxmax()].copy()
    widest["large_groups"] = eligible.groupby("objective", sort=False)["n"].transform("size").loc[widest.index]
    widest["worst_arch"] = frame.loc[widest["worst_index"], "arch"].to_numpy()
    widest["best_arch"] = frame.loc[widest["best_index"], "arch"].to_numpy()
    units = widest["by"].map(_UNITS)
    widest["statement"] = [
        f"Networks with {c:.4g} {u} ({n} classes) range in {o} from {lo:.3f} (index {wi}) to "
        f"{hi:.3f} (index {bi}), a spread of {sp:.3f}."
        for c, u, n, o, lo, wi, hi, bi, sp in zip(
            widest["cost"], units, widest["n"], widest["objective"], widest["min"], widest["worst_index"],
            widest["max"], widest["best_index"], widest["spread"], strict=True)
    ]
    columns = ["objective", "by", "cost", "n", "min", "max", "spread", "worst_index", "worst_arch",
               "best_index", "best_arch", "large_groups", "statement"]
    return widest[columns].astype({"n": np.int64, "large_groups": np.int64}).reset_index(drop=True)


__all__ = ["COST_METRICS", "MIN_GROUP_SHARE", "equal_cost", "equal_cost_findings"]
