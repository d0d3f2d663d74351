"""Distributions: each objective's spread over the isomorphism classes (box-plot statistics).

One row per objective with its family (``clean``, an attack, a corruption or an aggregate),
its point (epsilon in units of 1/255, or severity) and the five-number summary plus Tukey's
whiskers (the most extreme values within 1.5 IQR of the quartiles), so
:func:`robnas.analysis.plots.plot_distributions` draws the box plots from this table alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from robnas.objective import Objective

if TYPE_CHECKING:
    import pandas as pd

STAT_COLUMNS: tuple[str, ...] = ("n", "mean", "std", "min", "q1", "median", "q3", "max", "whislo", "whishi")
"""The statistics :func:`distributions` gives for every objective."""


def distributions(frame: pd.DataFrame, objectives: Sequence[str], *,
                  exclude_degenerate: bool = False) -> pd.DataFrame:
    """Box-plot statistics of each objective over the classes of ``frame``.

    Args:
        frame: a :func:`robnas.analysis.class_frame`.
        objectives: its objective columns to summarise.
        exclude_degenerate: leave out the constant-output classes.

    Returns:
        One row per objective (index ``objective``): ``family``, ``point`` (NaN for clean and
        aggregates) and :data:`STAT_COLUMNS`.
    """
    import numpy as np
    import pandas as pd

    from robnas.analysis.frame import checked_objectives

    objectives = checked_objectives(frame, objectives)
    data = frame.loc[~frame["degenerate"]] if exclude_degenerate else frame
    values = data[list(objectives)].to_numpy(dtype=np.float64)
    q1, median, q3 = np.nanquantile(values, [0.25, 0.5, 0.75], axis=0)
    reach = 1.5 * (q3 - q1)
    inside_low = np.where(values >= q1 - reach, values, np.inf)
    inside_high = np.where(values <= q3 + reach, values, -np.inf)
    families, points = zip(*(_family(o) for o in objectives), strict=True) if objectives else ((), ())
    table = pd.DataFrame(
        {
            "family": families,
            "point": points,
            "n": np.sum(~np.isnan(values), axis=0),
            "mean": np.nanmean(values, axis=0),
            "std": np.nanstd(values, axis=0, ddof=1),
            "min": np.nanmin(values, axis=0),
            "q1": q1,
            "median": median,
            "q3": q3,
            "max": np.nanmax(values, axis=0),
            "whislo": inside_low.min(axis=0),
            "whishi": inside_high.max(axis=0),
        },
        index=pd.Index(list(objectives), name="objective"),
    )
    return table


def _family(name: str) -> tuple[str, float]:
    """``("pgd", 8.0)`` for ``pgd@8/255``, ``("fog", 3)`` for ``fog@3``, ``("clean", nan)``;
    ``("other", nan)`` for a column that is not an objective (e.g. a score of one's own)."""
    from robnas.errors import InvalidObjectiveError

    try:
        objective = Objective.parse(name)
    except InvalidObjectiveError:
        return "other", float("nan")
    family = str(objective).split("@")[0]
    if objective.mean:
        return "aggregate", float("nan")
    return family, float("nan") if objective.point is None else float(objective.point)
