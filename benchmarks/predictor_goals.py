"""The predictor searcher against issue 13's goals, from ``robnas compare`` folders.

Reads the run records of one or more comparison folders (``robnas compare --out DIR``) and, for
every dataset and objective, prints at 50, 100 and 300 distinct cells: each searcher's mean best
value and share of runs at the optimum, and the predictor's paired Wilcoxon tests against
evolution (``re``) and Optuna TPE (``bo``) with Holm's correction over every pair of searchers,
computed by the same code as ``robnas compare``'s ranking (``robnas.compare.stats``), at each
budget instead of the final one only. ``--searcher``/``--rival`` name other labels (e.g. the
predictor with a transfer prior, ``predictor:prior=imagenet16-120``, against
``re:warmup=imagenet16-120``); Holm's correction is over every pair of the searchers read.
Nothing here is a pass/fail test.

Usage: python benchmarks/predictor_goals.py DIR [DIR ...] [--searcher LABEL ...] [--rival LABEL ...]
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import check_names, fail, print_provenance, run

BUDGETS = (50, 100, 300)
RIVALS = ("re", "bo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="robnas compare output folders")
    parser.add_argument("--searcher", action="append", metavar="LABEL",
                        help="the searcher tested (repeat; default: predictor)")
    parser.add_argument("--rival", action="append", metavar="LABEL",
                        help="a searcher it is tested against (repeat; default: re, bo)")
    args = parser.parse_args(argv)
    dirs, tested, rivals = args.dirs, args.searcher or ["predictor"], args.rival or list(RIVALS)
    import pandas as pd

    from robnas.compare.stats import rank_searchers
    from robnas.compare.trajectories import expand_to_budget, load_trajectories

    frames = [load_trajectories(d) for d in dirs]
    check_distinct_runs(dirs, [frame["run_id"] for frame in frames])
    expanded = expand_to_budget(pd.concat(frames, ignore_index=True))
    check_names("searcher label (not in these folders)", [*(args.searcher or []), *(args.rival or [])],
                sorted(set(expanded["searcher"])))
    print_provenance(seeds="those of the run records read (counted per searcher below)")
    for (dataset, objective), group in expanded.groupby(["dataset", "objective"], sort=True):
        seeds = group.groupby("searcher")["seed"].nunique()
        print(f"\n{dataset} {objective} (optimum {group['optimum'].max():.3f}; "
              f"seeds per searcher: {', '.join(f'{s} {n}' for s, n in seeds.items())})")
        for budget in (b for b in BUDGETS if b <= group["n"].max()):  # not past the runs' budget
            at = group[group["n"] == budget]
            means = at.groupby("searcher")["best"].mean()
            found = at.groupby("searcher")["found"].mean()
            pairs = rank_searchers(group, evaluations=budget).pairwise
            cells = "  ".join(f"{s} {means[s]:.4f} ({found[s]:.0%})" for s in means.index)
            print(f"  @{budget:<3d} {cells}")
            for searcher in tested:
                tests = []
                for rival in rivals:
                    row = pairs[((pairs["a"] == searcher) & (pairs["b"] == rival))
                                | ((pairs["a"] == rival) & (pairs["b"] == searcher))]
                    if row.empty:
                        continue
                    row = row.iloc[0]
                    diff = row["mean_diff"] if row["a"] == searcher else -row["mean_diff"]
                    verdict = verdict_of(row, searcher)
                    tests.append(f"vs {rival}: {diff:+.4f} p_holm={row['p_holm']:.3g} {verdict}")
                if tests:
                    print(f"        {searcher} " + "; ".join(tests))
    return 0


def verdict_of(row: Any, searcher: str) -> str:
    """``better``/``worse`` for ``searcher`` in a significant pairwise row, as the signed ranks
    favour (the row's ``better``; a mean difference's sign can disagree: 19 small wins and one
    large loss), else ``n.s.``."""
    if not row["significant"]:
        return "n.s."
    return "better" if row["better"] == searcher else "worse"


def check_distinct_runs(dirs: list[str], run_ids: list[Any]) -> None:
    """One line, exit 2, if two folders hold a run of one id (one searcher, objective, dataset
    and seed): read together they would count as one run (two comparisons of the same plan)."""
    seen: dict[str, str] = {}
    for folder, ids in zip(dirs, run_ids, strict=True):
        for run_id in dict.fromkeys(ids):
            if run_id in seen:
                fail(f"run {run_id} is in {seen[run_id]} and in {folder}: give each run once")
            seen[run_id] = folder


if __name__ == "__main__":
    run(main)
