"""The predictor searcher against issue 13's goals, from ``robnas compare`` folders.

Reads the run records of one or more comparison folders (``robnas compare --out DIR``) and, for
every dataset and objective, prints at 50, 100 and 300 distinct cells: each searcher's mean best
value and share of runs at the optimum, and the predictor's paired Wilcoxon tests against
evolution (``re``) and Optuna TPE (``bo``) with Holm's correction over every pair of searchers,
computed by the same code as ``robnas compare``'s ranking (``robnas.compare.stats``), at each
budget instead of the final one only. Nothing here is a pass/fail test.

Usage: python benchmarks/predictor_goals.py DIR [DIR ...]
"""

from __future__ import annotations

import sys

BUDGETS = (50, 100, 300)
RIVALS = ("re", "bo")


def main(argv: list[str] | None = None) -> int:
    dirs = sys.argv[1:] if argv is None else argv
    if not dirs:
        sys.exit(__doc__.splitlines()[-1])
    import pandas as pd

    from robnas.compare.stats import rank_searchers
    from robnas.compare.trajectories import expand_to_budget, load_trajectories

    expanded = expand_to_budget(pd.concat([load_trajectories(d) for d in dirs], ignore_index=True))
    for (dataset, objective), group in expanded.groupby(["dataset", "objective"], sort=True):
        seeds = group.groupby("searcher")["seed"].nunique()
        print(f"\n{dataset} {objective} (optimum {group['optimum'].max():.3f}; "
              f"seeds per searcher: {', '.join(f'{s} {n}' for s, n in seeds.items())})")
        for budget in BUDGETS:
            at = group[group["n"] == budget]
            means = at.groupby("searcher")["best"].mean()
            found = at.groupby("searcher")["found"].mean()
            pairs = rank_searchers(group, evaluations=budget).pairwise
            tests = []
            for rival in RIVALS:
                row = pairs[((pairs["a"] == "predictor") & (pairs["b"] == rival))
                            | ((pairs["a"] == rival) & (pairs["b"] == "predictor"))]
                if row.empty:
                    continue
                row = row.iloc[0]
                diff = row["mean_diff"] if row["a"] == "predictor" else -row["mean_diff"]
                verdict = ("better" if diff > 0 else "worse") if row["significant"] else "n.s."
                tests.append(f"vs {rival}: {diff:+.4f} p_holm={row['p_holm']:.3g} {verdict}")
            cells = "  ".join(f"{s} {means[s]:.4f} ({found[s]:.0%})" for s in means.index)
            print(f"  @{budget:<3d} {cells}\n        predictor " + "; ".join(tests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
