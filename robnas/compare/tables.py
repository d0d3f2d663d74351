"""Markdown renderings of a comparison's summary and ranking (for files and the terminal).

The tables come from :func:`robnas.compare.stats.summarize` and
:func:`robnas.compare.stats.rank_searchers`; this module only formats them.

>>> import pandas as pd
>>> markdown_table(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
'| a | b |\\n|---|---|\\n| 1 | x |\\n| 2 | y |'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from robnas.compare.stats import INTERVAL_METHOD, Ranking, searcher_sort_key
from robnas.vocabulary import counted

if TYPE_CHECKING:
    import pandas as pd

def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub Markdown table (cells rendered with ``str``, ``|`` escaped)."""
    header = "| " + " | ".join(_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def summary_markdown(
    summary: pd.DataFrame, optima: dict[tuple[str, str], float] | None = None, digits: int = 3
) -> str:
    """The summary table, one section per dataset and objective.

    Args:
        summary: output of :func:`robnas.compare.stats.summarize`.
        optima: ``(dataset, objective) -> optimum`` to name in each heading.
        digits: decimals of accuracies and regrets.
    """
    import pandas as pd

    sections = [f"Mean over runs with the {INTERVAL_METHOD} in brackets. *found*: share of runs "
                "whose best equals the table optimum by then; *evals to optimum*: mean first "
                "evaluation at which those runs found it (their count)."]
    if any("," in str(objective) for objective in summary["objective"]):
        sections.append("In a multi-objective group (objectives joined by commas) *best value* is the "
                        "share of the true front's hypervolume that the run's front holds (optimum 1), "
                        "*regret* the share it misses, and *found* the share of runs holding all of it.")
    for (dataset, objective), group in summary.groupby(["dataset", "objective"], sort=True):
        heading = f"### {dataset} · {objective}"
        optimum = (optima or {}).get((dataset, objective))
        low, high = int(group["runs"].min()), int(group["runs"].max())
        runs = f"{counted(high, 'run')} per searcher" if low == high else f"{low}-{high} runs per searcher"
        heading += f" (optimum {optimum:.{digits}f}; {runs})" if (
            optimum is not None and not math.isnan(optimum)) else f" ({runs})"
        rows = pd.DataFrame({
            "searcher": group["searcher"],
            "evals": group["evaluations"],
            "best value": [_interval(r.best_mean, r.best_low, r.best_high, digits)
                           for r in group.itertuples()],
            "regret": [_interval(r.regret_mean, r.regret_low, r.regret_high, digits)
                       for r in group.itertuples()],
            "found": [f"{r.found_share:.0%}" for r in group.itertuples()],
            "evals to optimum": [_reach(r.evals_to_optimum, r.reached) for r in group.itertuples()],
        })
        rows = rows.sort_values(["evals", "searcher"], kind="stable",
                                key=lambda c: c.map(_order) if c.name == "searcher" else c)
        sections += [heading, markdown_table(rows)]
    return "\n\n".join(sections) + "\n"


def ranking_markdown(ranking: Ranking, digits: int = 3) -> str:
    """Mean ranks, the Friedman test and the Holm-adjusted pairwise tests, per group."""
    import pandas as pd

    sections = [ranking.method]
    for (dataset, objective), group in ranking.ranks.groupby(["dataset", "objective"], sort=True):
        first = group.iloc[0]
        at = int(first["evaluations"])
        seeds = int(first["seeds"])
        if not math.isnan(first["friedman_p"]):
            friedman = (f"Friedman chi² = {first['friedman_statistic']:.2f}, "
                        f"p = {_p(first['friedman_p'], ranking.alpha)}")
        elif len(group) < 3:
            friedman = "Friedman test: not run (fewer than 3 searchers)"
        else:
            friedman = f"Friedman test: not run (fewer than 2 seeds run by every searcher: {seeds})"
        sections.append(f"### {dataset} · {objective}, after {at} evaluations "
                        f"({counted(seeds, 'paired seed')})\n\n{friedman}")
        sections.append(markdown_table(pd.DataFrame({
            "searcher": group["searcher"],
            "mean rank": group["mean_rank"].map(lambda v: f"{v:.2f}"),
            "mean best": group["best_mean"].map(lambda v: f"{v:.{digits}f}"),
        })))
        pairs = ranking.pairwise[(ranking.pairwise["dataset"] == dataset)
                                 & (ranking.pairwise["objective"] == objective)]
        if not pairs.empty:
            sections.append(markdown_table(pd.DataFrame({
                "pair": pairs["a"] + " vs " + pairs["b"],
                "mean diff": pairs["mean_diff"].map(lambda v: f"{v:+.{digits + 1}f}"),
                "wins/ties/losses": [f"{r.wins}/{r.ties}/{r.losses}" for r in pairs.itertuples()],
                "p": pairs["p_value"].map(lambda p: _p(p, ranking.alpha)),
                "p (Holm)": pairs["p_holm"].map(lambda p: _p(p, ranking.alpha)),
                "verdict": [_verdict(r) for r in pairs.itertuples()],
            })))
    return "\n\n".join(sections) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|")


def _order(name: str) -> int:
    return searcher_sort_key(name)[0]


def _interval(mean: float, low: float, high: float, digits: int) -> str:
    if math.isnan(mean):
        return "–"
    if math.isnan(low):
        return _fixed(mean, digits)
    return f"{_fixed(mean, digits)} [{_fixed(low, digits)}, {_fixed(high, digits)}]"


def _fixed(x: float, digits: int) -> str:
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def _reach(mean: float, count: int) -> str:
    """The mean evaluation at which runs reached the optimum (to one decimal where it is not
    whole: ``64.5``, which ``:.0f`` would show as 64), and their count."""
    if count == 0 or math.isnan(mean):
        return "–"
    return f"{mean:.0f} ({count})" if float(mean).is_integer() else f"{mean:.1f} ({count})"


def _p(p: float, alpha: float) -> str:
    """``p`` to 3 significant digits, more where fewer would round it across ``alpha``."""
    if math.isnan(p):
        return "–"
    if p < 1e-3:
        return f"{p:.1e}"
    for digits in range(3, 8):
        text = f"{p:.{digits}g}"
        if (float(text) < alpha) == (p < alpha):
            return text
    return text


def _verdict(row: Any) -> str:
    if not row.significant:
        return "no significant difference"
    # the searcher the signed ranks favour; a frame without that column: the mean difference's
    better = getattr(row, "better", "") or (row.a if row.mean_diff > 0 else row.b)
    return f"{better} better"
