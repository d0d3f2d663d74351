"""Search quality and simulated makespan with N evaluations in flight (table mode).

For each searcher and each worker count N, runs ``--seeds`` seeds of ``robnas.run_search(...,
workers=N)`` to ``max(--budgets)`` distinct cells on the tabular data and prints, after each
budget ``b``: the mean best value over seeds (with the 95% confidence interval of the mean,
Student t), the mean simulated makespan of the first ``b`` results and the speed-up against one
worker. The schedule is the loop's deterministic discrete-event simulation
(:mod:`robnas.schedule`): each evaluation takes its cell's FLOPs over the mean FLOPs of all
cells (the release records no evaluation times), so times are in *mean evaluations* and one
worker needs about ``b`` units for ``b`` cells. ``speed-up`` is one worker's mean makespan
over N workers' (the searcher may choose cheaper or dearer cells with N workers, so it can
exceed N); ``busy`` is the share of the N workers' time spent evaluating (the cells' total cost
over N x makespan). The best after ``b`` results is that of the first ``b`` results to come
back. Nothing here is a pass/fail test.

Usage: python benchmarks/async_workers.py [--data PATH] [--seeds 20] [--bo-seeds N] [--workers 1 2 4 8]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import check_names, data_root, print_provenance, run, seed_range


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    import optuna

    from robnas.arch import Arch
    from robnas.benchmark import TabularOracle
    from robnas.loop import run_search
    from robnas.schedule import simulated_cost
    from robnas.searchers import SEARCHERS

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_names("searcher", args.searchers, SEARCHERS)
    data = data_root(args.data)
    oracle = TabularOracle(args.dataset, data=data)
    oracle.objective_values(args.objective)
    budgets = sorted(set(args.budgets))
    bo_seeds = args.bo_seeds or args.seeds
    print_provenance(data, seeds=seed_range(0, args.seeds) + (
        f"; bo {seed_range(0, bo_seeds)}" if "bo" in args.searchers and bo_seeds != args.seeds else ""))
    print(f"{args.dataset} {args.objective}: optimum {oracle.optimum(args.objective):.4g}; "
          f"{args.seeds} seeds ({args.bo_seeds or args.seeds} for bo); best value after b distinct cells "
          "(mean, 95% CI of the mean) and "
          "simulated makespan of the first b results in mean evaluations (FLOPs cost model)")
    print(f"{'searcher':<9} {'N':>2} {'b':>4} {'mean best':>9} {'95% CI':>17} {'makespan':>9} "
          f"{'speed-up':>8} {'busy':>5} {'CPU s/run':>9}")
    for name in args.searchers:
        sequential: dict[int, float] = {}
        for workers in sorted(args.workers):
            best = {b: [] for b in budgets}
            span = {b: [] for b in budgets}
            busy = {b: [] for b in budgets}
            cpu = time.process_time()
            seeds = bo_seeds if name == "bo" else args.seeds
            for seed in range(seeds):
                result = run_search(name, oracle, args.objective, max(budgets),
                                    params={"seed": seed}, workers=workers)
                for b in budgets:
                    first = result.trials[:b]
                    best[b].append(max(t["value"] for t in first))
                    cost = sum(simulated_cost(Arch.from_string(t["arch"]), args.dataset) for t in first)
                    span[b].append(cost if workers == 1 else max(t["finished"] for t in first))
                    busy[b].append(cost / (workers * span[b][-1]))
            per_run = (time.process_time() - cpu) / seeds
            for b in budgets:
                mean, half = _mean_ci(best[b])
                makespan = statistics.fmean(span[b])
                if workers == 1:
                    sequential[b] = makespan
                speedup = sequential[b] / makespan if b in sequential else float("nan")
                print(f"{name:<9} {workers:>2} {b:>4} {mean:>9.4f} [{mean - half:.4f}, {mean + half:.4f}] "
                      f"{makespan:>9.1f} {speedup:>7.2f}x {statistics.fmean(busy[b]):>5.2f} "
                      f"{per_run:>9.2f}", flush=True)
    return 0


def _mean_ci(values: list[float]) -> tuple[float, float]:
    from scipy import stats

    array = np.asarray(values, dtype=float)
    if array.size < 2:
        return float(array.mean()), float("nan")
    half = stats.t.ppf(0.975, array.size - 1) * array.std(ddof=1) / np.sqrt(array.size)
    return float(array.mean()), float(half)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the release folder (default: $ROBNAS_DATA)")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--objective", default="pgd@1/255")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--bo-seeds", type=int, help="seeds of bo, the slowest (default: --seeds)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--searchers", nargs="+", default=["random", "re", "ls", "bo", "predictor"])
    args = parser.parse_args(argv)
    if min(args.seeds, args.bo_seeds or 1, *args.budgets, *args.workers) < 1:
        parser.error("--seeds, --bo-seeds, --budgets and --workers must be at least 1")
    return args


if __name__ == "__main__":
    run(main)
