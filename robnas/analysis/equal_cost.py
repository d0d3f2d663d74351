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

    by = check_metric(by)
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
    import pandas as pd

    rows = []
    for objective, groups in table.groupby("objective", sort=False):
        total = groups["n"].sum()
        large = groups.loc[groups["n"] >= min_share * total]
        if large.empty:
            large = groups.loc[groups["n"] == groups["n"].max()]
        widest = large.loc[large["spread"].idxmax()]
        by = widest["by"]
        statement = (
            f"Networks with {widest['cost']:.4g} {_UNITS[by]} ({widest['n']} classes) range in "
            f"{objective} from {widest['min']:.3f} (index {widest['worst_index']}) to "
            f"{widest['max']:.3f} (index {widest['best_index']}), a spread of {widest['spread']:.3f}."
        )
        rows.append({
            "objective": objective, "by": by, "cost": widest["cost"], "n": int(widest["n"]),
            "min": widest["min"], "max": widest["max"], "spread": widest["spread"],
            "worst_index": int(widest["worst_index"]), "worst_arch": frame.at[widest["worst_index"], "arch"],
            "best_index": int(widest["best_index"]), "best_arch": frame.at[widest["best_index"], "arch"],
            "large_groups": len(large), "statement": statement,
        })
    return pd.DataFrame(rows)


__all__ = ["COST_METRICS", "MIN_GROUP_SHARE", "equal_cost", "equal_cost_findings"]
