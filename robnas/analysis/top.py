"""Top cells: the best classes on an objective, with their cell, cost and every objective."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_TOP = 20
"""How many classes :func:`top_cells` lists by default."""


def top_cells(frame: pd.DataFrame, objective: str, n: int = DEFAULT_TOP, *,
              exclude_degenerate: bool = True) -> pd.DataFrame:
    """The ``n`` best classes on ``objective``: rank, NB201 index and string, cost, every objective.

    Args:
        frame: a :func:`robnas.analysis.class_frame`.
        objective: the column to rank by (larger is better).
        n: how many classes.
        exclude_degenerate: leave out the constant-output classes (the default, as ``robnas
            analyze`` does: at pgd@8/255 they would come first, at chance).

    Returns:
        ``n`` rows (index ``nb201_index``), best first (ties by smallest index): ``rank`` (1 =
        best; tied values share the rank), ``arch``, ``params``, ``flops``, ``degenerate``,
        ``objective``'s column and then the other objective columns.
    """
    from robnas.analysis.frame import checked_objectives, objective_columns

    (objective,) = checked_objectives(frame, [objective])
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        from robnas.errors import InvalidParameterError

        raise InvalidParameterError(f"n must be a whole number >= 1, got {n!r}")
    data = frame.loc[~frame["degenerate"]] if exclude_degenerate else frame
    ranks = data[objective].rank(ascending=False, method="min").astype("int64")
    order = data.assign(_rank=ranks).sort_values(["_rank"], kind="stable").head(n)
    others = [c for c in objective_columns(frame) if c not in ("code", objective)]
    table = order[["arch", "params", "flops", "degenerate", objective, *others]]
    table.insert(0, "rank", order["_rank"])
    return table
