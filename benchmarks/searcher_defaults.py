"""How every searcher's hyperparameters were chosen: a grid, measured on the tabular data.

For each searcher and each setting of its grid (:data:`GRIDS`), runs ``--seeds`` seeds to
``max(--budgets)`` distinct cells on ``--objective`` for each ``--dataset`` and prints the mean
best value after each budget (with the 95% Student-t half-width) and the share of runs that
found the optimum. Runs are independent processes' work (``--jobs``), without run records.
Nothing here is a pass/fail test; README and ``benchmarks/README.md`` quote its output.

Usage: python benchmarks/searcher_defaults.py --data PATH [--searchers re,ls] [--seeds 30]
       [--budgets 50,100] [--dataset cifar10 --dataset ImageNet16-120] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from itertools import product
from typing import Any

from _common import check_names, data_root, fail, print_provenance, run, seed_range

GRIDS: dict[str, list[dict[str, Any]]] = {
    "re": [*({"population_size": p, "sample_size": s}
             for p, s in product((10, 20, 30, 50), (5, 10)) if s <= p),
           {"warmup": "params"}],
    "ls": [*({"variant": v, "num_init": n} for v, n in product(("best", "first"), (5, 10, 20))),
           {"warmup": "params"}],
    "bo": [{"n_startup_trials": n} for n in (5, 10, 20)],
    "predictor": [
        *({"acquisition": "thompson", "surrogate": s, "n_estimators": 5, "refit_every": 5}
          for s in ("random_forest", "extra_trees")),
        *({"acquisition": "thompson", "n_estimators": r, "refit_every": r, "num_init": n,
           "local": 0, "explore": 0} for r, n in product((1, 3, 10), (5, 10, 20))),
        *({"acquisition": a, "n_estimators": 30, "refit_every": 5} for a in ("ucb", "ei", "mean")),
        {"prior": "params"},
        *({"local": n, "local_top": k, "explore": e}
          for n, k, e in ((0, 3, 0), (2, 3, 0), (3, 3, 0), (2, 3, 1), (3, 1, 1))),
        {"features": "cells+cost"},
    ],
}
"""Searcher name -> the parameter settings measured (defaults fill the rest)."""

_ORACLES: dict[str, Any] = {}


def _run(task: tuple[str, str, str, dict[str, Any], int, int, str]) -> list[float]:
    name, dataset, objective, params, seed, budget, data = task
    from robnas.benchmark import TabularOracle
    from robnas.cli.common import quiet_optuna
    from robnas.loop import run_search
    from robnas.searchers import SEARCHERS

    quiet_optuna(0)  # as the robnas command does (in each worker): no INFO line per Optuna study
    if dataset not in _ORACLES:
        _ORACLES[dataset] = TabularOracle(dataset, data=data)
    result = run_search(SEARCHERS[name](**params, seed=seed), _ORACLES[dataset], objective, budget)
    best, out = float("-inf"), []
    for trial in result.trials:
        best = max(best, trial["value"])
        out.append(best)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data root (default: $ROBNAS_DATA)")
    parser.add_argument("--searchers", default="re,ls,predictor,bo")
    parser.add_argument("--only", help="measure only the settings whose label contains this")
    parser.add_argument("--dataset", action="append")
    parser.add_argument("--objective", default="pgd@1/255")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--budgets", default="50,100")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        budgets = sorted({int(b) for b in args.budgets.split(",")})
    except ValueError:
        parser.error(f"--budgets needs comma-separated whole numbers, got {args.budgets!r}")
    if args.seeds < 2 or args.jobs < 1 or budgets[0] < 1:
        parser.error("--seeds must be at least 2 (for a 95% interval), --jobs and --budgets at least 1")
    names = [name for name in args.searchers.split(",") if name]
    check_names("searcher with a grid", names, GRIDS)
    if args.only and not any(args.only in _label(params) for name in names for params in GRIDS[name]):
        fail(f"--only {args.only!r} matches no setting of {', '.join(names)}")
    data = data_root(args.data)
    from scipy import stats

    from robnas.benchmark import TabularOracle

    datasets = args.dataset or ["cifar10", "ImageNet16-120"]
    optima = {dataset: TabularOracle(dataset, data=data).optimum(args.objective) for dataset in datasets}
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print_provenance(data, seeds=seed_range(0, args.seeds))
    print(f"objective {args.objective}, {args.seeds} seeds; mean best [95% half-width] "
          f"(found = share of runs at the optimum)")
    with ProcessPoolExecutor(args.jobs) as pool:
        for dataset in datasets:
            optimum = optima[dataset]
            print(f"\n{dataset} (optimum {optimum:.3f})")
            for name in names:
                for params in GRIDS[name]:
                    if args.only and args.only not in _label(params):
                        continue
                    tasks = [(name, dataset, args.objective, params, seed, max(budgets), data)
                             for seed in range(args.seeds)]
                    runs = list(pool.map(_run, tasks))
                    cells = []
                    for budget in budgets:
                        bests = [run[budget - 1] for run in runs]
                        half = stats.t.ppf(0.975, len(bests) - 1) * statistics.stdev(bests) / len(bests) ** 0.5
                        found = sum(b >= optimum - 1e-9 for b in bests) / len(bests)
                        cells.append(f"@{budget} {statistics.mean(bests):.4f} [{half:.4f}] "
                                     f"found {found:4.0%}")
                    print(f"  {name:9s} {_label(params):62s} " + "  ".join(cells), flush=True)
    return 0


def _label(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


if __name__ == "__main__":
    run(main)
