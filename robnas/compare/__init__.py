"""Comparing searchers: many seeded runs, then tables, statistics and figures.

A comparison folder holds::

    comparison.json          what was asked (searchers, objectives, datasets, seeds, budget)
    runs/<run-id>/           one ordinary run record per searcher, objective, dataset and seed
    trajectories.parquet     the tidy table: one row per run and evaluation
    summary.md, summary.csv  mean and 95% interval at checkpoints, share that found the optimum
    ranking.md, ranking.csv, pairwise.csv
                             mean ranks, Friedman test, Holm-adjusted pairwise Wilcoxon tests
    figures/anytime-*.png    one anytime plot per dataset and objective (+ all panels in one)

One module per step: :mod:`~robnas.compare.plan` (which runs), :mod:`~robnas.compare.pool`
(running them in worker processes), :mod:`~robnas.compare.trajectories` (run records -> a tidy
table), :mod:`~robnas.compare.stats` (checkpoint summaries, paired tests),
:mod:`~robnas.compare.tables` (Markdown), :mod:`~robnas.compare.plots` (figures) and
:mod:`~robnas.compare.report` (all of them written into the folder). :func:`write_reports`
draws the tables and figures from whatever runs the folder holds, so it also re-draws a
finished comparison.

Names are resolved on first access, so importing the package does not load pandas or scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas._lazy import lazy_exports

_EXPORTS = {
    "ComparisonError": "robnas.errors",
    "NoRunsError": "robnas.errors",
    "RunSpec": "robnas.compare.plan",
    "plan_runs": "robnas.compare.plan",
    "load_oracles": "robnas.compare.plan",
    "ComparisonRun": "robnas.compare.pool",
    "run_comparison": "robnas.compare.pool",
    "ComparisonReport": "robnas.compare.report",
    "write_reports": "robnas.compare.report",
    "load_trajectories": "robnas.compare.trajectories",
    "expand_to_budget": "robnas.compare.trajectories",
    "summarize": "robnas.compare.stats",
    "rank_searchers": "robnas.compare.stats",
    "plot_anytime": "robnas.compare.plots",
}

__all__ = [
    "ComparisonError",
    "ComparisonReport",
    "ComparisonRun",
    "NoRunsError",
    "RunSpec",
    "expand_to_budget",
    "load_oracles",
    "load_trajectories",
    "plan_runs",
    "plot_anytime",
    "rank_searchers",
    "run_comparison",
    "summarize",
    "write_reports",
]

if TYPE_CHECKING:
    from robnas.compare.plan import RunSpec, load_oracles, plan_runs
    from robnas.compare.plots import plot_anytime
    from robnas.compare.pool import ComparisonRun, run_comparison
    from robnas.compare.report import ComparisonReport, write_reports
    from robnas.compare.stats import rank_searchers, summarize
    from robnas.compare.trajectories import expand_to_budget, load_trajectories
    from robnas.errors import ComparisonError, NoRunsError

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
