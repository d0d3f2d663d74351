"""Statistics of a comparison: summaries at checkpoints and a ranking with significance.

Both work on an expanded trajectory table (:func:`robnas.compare.trajectories.expand_to_budget`: every
run on the grid ``n = 1..budget`` with its best value so far).

* :func:`summarize` — per dataset, objective, searcher and checkpoint: the mean and a 95%
  **Student-t interval** of the best value and of the regret across runs, the share of runs that
  found the optimum, and the mean number of evaluations those runs needed (with their count).
* :func:`rank_searchers` — at one budget (the final one by default), per dataset and objective:
  runs are paired by seed; the **Friedman test** asks whether the searchers differ at all, and
  pairwise **Wilcoxon signed-rank tests** (two-sided) say which pairs differ, with p-values
  adjusted by **Holm's step-down method** over the pairs of that dataset and objective.

>>> holm([0.01, 0.04, 0.03])
[0.03, 0.06, 0.06]
>>> [round(x, 3) for x in mean_interval([1.0, 2.0, 3.0])]
[2.0, -0.484, 4.484]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from robnas.errors import RobnasError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CHECKPOINTS: tuple[int, ...] = (10, 25, 50, 100, 300)
"""Checkpoints (distinct evaluations) of the summary table, clipped to the budget."""

CONFIDENCE = 0.95
"""Confidence level of every interval."""

ALPHA = 0.05
"""Family-wise error rate of the pairwise tests (after Holm's correction)."""

INTERVAL_METHOD = "Student-t 95% interval of the mean across runs"
CORRECTION_METHOD = "Holm step-down correction over all searcher pairs of a dataset and objective"
DIFF_DECIMALS = 12
"""Paired differences are rounded to this many decimals before the signed-rank test, so that
differences equal in decimals are tied whatever their floating-point noise."""
GROUP_KEYS: tuple[str, ...] = ("dataset", "objective")
SEARCHER_ORDER: tuple[str, ...] = ("random", "re", "ls", "bo", "predictor", "nsga2", "motpe", "pls",
                                   "parego", "hvi")
"""The order in which tables and legends list the built-in searchers (others follow, sorted)."""


def searcher_sort_key(name: str) -> tuple[int, str]:
    """Sort key listing searchers in :data:`SEARCHER_ORDER`, unknown names after, by name; a
    label with hyperparameters (``re:warmup=params``) right after its searcher's name."""
    base = name.split(":", 1)[0]
    return (SEARCHER_ORDER.index(base) if base in SEARCHER_ORDER else len(SEARCHER_ORDER), name)


def checkpoints_for(budget: int, checkpoints: Iterable[int] = DEFAULT_CHECKPOINTS) -> list[int]:
    """The checkpoints not beyond ``budget``, sorted, always ending with ``budget`` itself.

    >>> checkpoints_for(60)
    [10, 25, 50, 60]
    """
    points = sorted({int(c) for c in checkpoints if 1 <= int(c) <= budget} | {int(budget)})
    return points


def mean_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of ``values`` (NaNs dropped).

    One value gives NaN bounds; identical values give a zero-width interval.
    """
    import numpy as np
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size == 1:
        return (mean, math.nan, math.nan)
    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=x.size - 1)) * sem
    return (mean, mean - half, mean + half)


def clip_regret(interval: tuple[float, float, float], optimum: float = math.nan) -> tuple[float, float, float]:
    """A regret's ``(mean, low, high)`` with the bounds clipped to ``[0, optimum]`` (NaN stays NaN).

    A regret is never negative, nor above the optimum (the best value found is at least 0: a
    hypervolume regret is at most the whole true hypervolume, 1 as a share), but a symmetric
    t-interval around a small or a large mean reaches past them (``0.001 [-0.002, 0.004]``,
    ``0.914 [0.546, 1.282]``); the clipped interval still covers every possible regret it
    covered before. A NaN ``optimum`` (unknown: live mode) leaves the top open.

    >>> clip_regret((0.001, -0.002, 0.004)), clip_regret((0.914, 0.546, 1.282), 1.0)
    ((0.001, 0.0, 0.004), (0.914, 0.546, 1.0))
    """
    mean, low, high = interval
    if not math.isnan(low):
        low = max(low, 0.0)
    if not math.isnan(high):
        high = max(high, 0.0) if math.isnan(optimum) else min(max(high, 0.0), optimum)
    return (mean, low, high)


def clip_best(interval: tuple[float, float, float], optimum: float) -> tuple[float, float, float]:
    """A best value's ``(mean, low, high)`` with the bounds clipped to ``[0, optimum]`` (an
    accuracy or a hypervolume share is never below 0 nor above the table's optimum; a NaN
    ``optimum`` (live mode) leaves the top open), as :func:`clip_regret` does for regrets.

    >>> clip_best((0.191, -2.229, 2.612), 1.0), clip_best((0.5, 0.4, 0.6), math.nan)
    ((0.191, 0.0, 1.0), (0.5, 0.4, 0.6))
    """
    mean, low, high = interval
    if not math.isnan(low):
        low = max(low, 0.0)
    if not (math.isnan(high) or math.isnan(optimum)):
        high = min(high, optimum)
    return (mean, low, high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone, capped at 1), in the input order.

    NaN p-values (tests that could not run) stay NaN and do not count as hypotheses.
    """
    indexed = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(indexed)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = round(running, 15)
    return adjusted


def first_found(expanded: pd.DataFrame) -> pd.Series:
    """Per run id: the first ``n`` at which the run had found the optimum (NaN if never)."""
    hits = expanded[expanded["found"]]
    first = hits.groupby("run_id")["n"].min()
    runs = expanded["run_id"].unique()
    return first.reindex(runs).astype("float64")


def summarize(
    expanded: pd.DataFrame, checkpoints: Iterable[int] = DEFAULT_CHECKPOINTS
) -> pd.DataFrame:
    """The summary table at checkpoints (clipped to each group's budget).

    Returns:
        One row per dataset, objective, searcher and checkpoint ``evaluations`` with ``runs``,
        ``best_mean/best_low/best_high`` (clipped to [0, optimum], :func:`clip_best`),
        ``regret_mean/regret_low/regret_high`` (the regret's interval clipped to [0, optimum],
        see :func:`clip_regret`),
        ``found_share`` (runs whose best equals the optimum by then), ``reached`` (their count)
        and ``evals_to_optimum`` (mean first evaluation at which those runs found it).
    """
    import pandas as pd

    if expanded.empty:
        raise RobnasError("no trajectories to summarise")
    first = first_found(expanded)
    rows = []
    for (dataset, objective, searcher), group in expanded.groupby(
        ["dataset", "objective", "searcher"], sort=True
    ):
        budget = int(group["n"].max())
        run_first = first.reindex(group["run_id"].unique())
        for c in checkpoints_for(budget, checkpoints):
            at = group[group["n"] == c]
            optimum = float((at["best"] + at["regret"]).max()) if at["regret"].notna().any() else math.nan
            best = clip_best(mean_interval(at["best"].to_numpy()), optimum)
            regret = clip_regret(mean_interval(at["regret"].to_numpy()), optimum)
            reached = run_first[run_first <= c]
            runs = int(at["run_id"].nunique())
            rows.append({
                "dataset": dataset, "objective": objective, "searcher": searcher,
                "evaluations": c, "runs": runs,
                "best_mean": best[0], "best_low": best[1], "best_high": best[2],
                "regret_mean": regret[0], "regret_low": regret[1], "regret_high": regret[2],
                "found_share": len(reached) / runs if runs else math.nan,
                "reached": len(reached),
                "evals_to_optimum": float(reached.mean()) if len(reached) else math.nan,
            })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Ranking:
    """The outcome of :func:`rank_searchers`.

    Attributes:
        ranks: per dataset, objective and searcher: ``mean_rank`` (1 = best, ties averaged,
            over the seeds all searchers ran), ``best_mean``, ``seeds`` (paired seeds),
            ``friedman_statistic`` and ``friedman_p`` (the group's omnibus test).
        pairwise: per dataset, objective and pair ``a``/``b``: ``seeds``, ``mean_diff``
            (mean of a - b), ``wins/losses/ties`` of a, Wilcoxon ``statistic`` and ``p_value``,
            ``p_holm``, ``significant`` (``p_holm < alpha``) and ``better``: the searcher the
            signed ranks favour (``a`` if the ranks of its wins outweigh those of its losses,
            else ``b``; empty when they balance), which a significant test calls better (the
            sign of ``mean_diff`` may differ: one large loss outweighs many small wins).
        evaluations: the budget the ranking was taken at (``None``: each group's final one).
        alpha: the family-wise error rate.
    """

    ranks: pd.DataFrame
    pairwise: pd.DataFrame
    evaluations: int | None
    alpha: float = ALPHA

    @property
    def method(self) -> str:
        """One sentence that states the tests and the correction."""
        return (
            "Runs paired by seed; Friedman test across searchers; pairwise two-sided Wilcoxon "
            f"signed-rank tests on the best value; {CORRECTION_METHOD}; alpha = {self.alpha}."
        )


def rank_searchers(expanded: pd.DataFrame, evaluations: int | None = None,
                   alpha: float = ALPHA) -> Ranking:
    """Rank searchers by their best value at ``evaluations`` (default: the final budget).

    Runs are paired by seed; seeds that not every searcher of a group ran are left out.

    Raises:
        RobnasError: ``evaluations`` is not in 1..a group's budget.
    """
    import pandas as pd

    rank_rows: list[dict[str, object]] = []
    pair_rows: list[dict[str, object]] = []
    for (dataset, objective), group in expanded.groupby(list(GROUP_KEYS), sort=True):
        budget = int(group["n"].max())
        at = budget if evaluations is None else int(evaluations)
        if not 1 <= at <= budget:
            raise RobnasError(f"cannot rank {dataset} {objective} after {at} evaluations: its runs "
                              f"have a budget of {budget}; give evaluations in 1..{budget}")
        final = group[group["n"] == at]
        table = final.pivot_table(index="seed", columns="searcher", values="best", aggfunc="mean")
        table = table.dropna(axis=0, how="any")
        searchers = list(table.columns)
        stat, p = _friedman(table)
        ranks = table.rank(axis=1, ascending=False, method="average").mean(axis=0)
        for s in searchers:
            rank_rows.append({
                "dataset": dataset, "objective": objective, "evaluations": at, "searcher": s,
                "mean_rank": float(ranks[s]), "best_mean": float(table[s].mean()),
                "seeds": len(table), "friedman_statistic": stat, "friedman_p": p,
            })
        group_pairs = [_wilcoxon(table, a, b) for a, b in combinations(searchers, 2)]
        adjusted = holm([row["p_value"] for row in group_pairs])
        for row, p_holm in zip(group_pairs, adjusted, strict=True):
            row.update(dataset=dataset, objective=objective, evaluations=at, p_holm=p_holm,
                       significant=bool(p_holm < alpha) if not math.isnan(p_holm) else False)
            pair_rows.append(row)
    ranks_frame = pd.DataFrame(rank_rows)
    if not ranks_frame.empty:
        ranks_frame = ranks_frame.sort_values(["dataset", "objective", "mean_rank"]).reset_index(
            drop=True)
    pair_columns = ["dataset", "objective", "evaluations", "a", "b", "seeds", "mean_diff", "wins",
                    "losses", "ties", "statistic", "p_value", "p_holm", "significant", "better"]
    return Ranking(ranks=ranks_frame, pairwise=pd.DataFrame(pair_rows, columns=pair_columns),
                   evaluations=evaluations, alpha=alpha)


def _friedman(table: pd.DataFrame) -> tuple[float, float]:
    import numpy as np
    from scipy import stats

    if table.shape[1] < 3 or table.shape[0] < 2:
        return (math.nan, math.nan)
    data = table.to_numpy()
    if np.all(data == data[:, :1]):  # every seed tied across searchers: no evidence of a difference
        return (0.0, 1.0)
    result = stats.friedmanchisquare(*[data[:, j] for j in range(data.shape[1])])
    return (float(result.statistic), float(result.pvalue))


def _wilcoxon(table: pd.DataFrame, a: str, b: str) -> dict[str, object]:
    import numpy as np
    from scipy import stats

    # rounded: equal differences of decimals (0.505 - 0.500, 0.563 - 0.558) differ in their last
    # bits, which would break the signed-rank test's ties and rank them apart
    diff = np.round((table[a] - table[b]).to_numpy(dtype=np.float64), DIFF_DECIMALS) + 0.0
    row: dict[str, object] = {
        "a": a, "b": b, "seeds": int(diff.size),
        "mean_diff": float(diff.mean()) if diff.size else math.nan,
        "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum()),
        "ties": int((diff == 0).sum()), "statistic": math.nan, "p_value": math.nan,
        "better": "",
    }
    if diff.size == 0:
        return row
    if np.all(diff == 0):
        row["p_value"] = 1.0
        return row
    nonzero = diff[diff != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    plus, minus = float(ranks[nonzero > 0].sum()), float(ranks[nonzero < 0].sum())
    row["better"] = a if plus > minus else b if minus > plus else ""
    result = stats.wilcoxon(diff, zero_method="wilcox", alternative="two-sided")
    row["statistic"] = float(result.statistic)
    row["p_value"] = float(result.pvalue)
    return row
