"""Search quality over many seeds, and the wall time of one search run, on the tabular data.

For each searcher, runs ``--seeds`` seeds (``--bo-seeds`` for the Optuna searcher, which is
slower) to ``max(--budgets)`` distinct cells on one objective, in this one process with one
oracle, and prints the best value found after each budget: mean over seeds and the 95%
confidence interval of that mean (Student t). Budgets count distinct isomorphism classes
evaluated, and no searcher depends on its budget, so the best after ``b`` cells of a 300-cell
run is the best of a ``b``-cell run with the same seed.

On CIFAR-10 ``pgd@1/255`` (optimum 0.588) it also prints reference figures from standard
implementations over 100 seeds (issue 4) and ``z``: the difference from the reference in units
of the standard error of a difference of two 100-seed means (taking the reference's spread to
equal ours); ``|z| < 2`` is within noise.

Then it times one ``--budget``-cell run per searcher (median of ``--repeats`` runs, seed 0, no
run record), excluding start-up: the oracle is loaded and every searcher has run once before
the clock starts. The baseline is the same number of bare ``oracle.evaluate([cell])`` calls,
so the ratio is what the loop and the searcher add on top of the table look-ups. Nothing here
is a pass/fail test.

Usage: python benchmarks/search_quality.py [--data PATH] [--seeds 100] [--bo-seeds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
from _common import check_names, data_root, print_provenance, run, seed_range

REFERENCE = {  # CIFAR-10 pgd@1/255, 100 seeds: best value after (100, 300) distinct cells
    "random": {100: 0.558, 300: 0.576},
    "re": {100: 0.570, 300: 0.584},
    "ls": {100: 0.568, 300: 0.583},
}
REFERENCE_SEEDS = 100


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from robnas.benchmark import TabularOracle
    from robnas.cli.common import quiet_optuna
    from robnas.searchers import SEARCHERS

    quiet_optuna(0)  # as the robnas command does: no INFO line per Optuna study
    check_names("searcher", args.searchers, SEARCHERS)
    data = data_root(args.data)
    oracle = TabularOracle(args.dataset, data=data)
    oracle.objective_values(args.objective)  # start-up: read the table before any clock runs
    budgets = sorted(set(args.budgets))
    bo_seeds = args.seeds if args.bo_seeds is None else args.bo_seeds
    print_provenance(data, seeds=seed_range(0, args.seeds) + (
        f"; bo {seed_range(0, bo_seeds)}" if "bo" in args.searchers and bo_seeds != args.seeds else "")
        + "; the timed runs: seed 0")
    with_reference = args.dataset == "cifar10" and args.objective == "pgd@1/255"
    print(f"{args.dataset} {args.objective}: optimum {oracle.optimum(args.objective):.4g}; "
          f"best value after b distinct cells, mean and 95% CI of the mean over seeds")
    header = f"{'searcher':<8} {'seeds':>5} {'budget':>6} {'mean':>7} {'95% CI':>17}"
    print(header + ("  reference      z" if with_reference else ""))
    names = list(dict.fromkeys(args.searchers))
    for name in names:
        seeds = bo_seeds if name == "bo" else args.seeds
        start = time.perf_counter()
        curves, extra = _curves(SEARCHERS[name], oracle, args.objective, budgets, seeds)
        elapsed = time.perf_counter() - start
        for column, budget in enumerate(budgets):
            mean, low, high, sem = _mean_ci(curves[:, column])
            line = f"{name:<8} {seeds:>5} {budget:>6} {mean:>7.4f}  [{low:.4f}, {high:.4f}]"
            ref = REFERENCE.get(name, {}).get(budget) if with_reference else None
            if ref is not None:
                z = (mean - ref) / (sem * np.sqrt(1 + seeds / REFERENCE_SEEDS)) if sem else 0.0
                line += f"  {ref:>9.3f} {z:>+6.1f}"
            print(line)
        note = f"  ({seeds} runs in {elapsed:.1f} s{extra})"
        print(note)
    _timings(names, SEARCHERS, oracle, args.objective, args.budget, args.repeats)
    return 0


def _curves(
    cls: type, oracle: Any, objective: str, budgets: list[int], seeds: int
) -> tuple[np.ndarray, str]:
    """Best-so-far after each budget, one row per seed (seeds 0..seeds-1)."""
    from robnas.loop import run_search

    rows, repeats = [], []
    for seed in range(seeds):
        searcher = cls(seed=seed)
        result = run_search(searcher, oracle, objective, budgets[-1])
        rows.append([result.trials[b - 1]["best"] for b in budgets])
        if hasattr(searcher, "repeats_told"):
            repeats.append(searcher.repeats_told)
    extra = ""
    if repeats:
        extra = (f"; Optuna proposed {budgets[-1] + statistics.mean(repeats):.0f} cells per run "
                 f"on average, {statistics.mean(repeats):.0f} of them known and told for free")
    return np.asarray(rows, dtype=float), extra


def _mean_ci(values: np.ndarray) -> tuple[float, float, float, float]:
    from scipy import stats

    mean = float(values.mean())
    if values.size < 2:
        return mean, mean, mean, 0.0
    sem = float(values.std(ddof=1) / np.sqrt(values.size))
    half = float(stats.t.ppf(0.975, values.size - 1)) * sem
    return mean, mean - half, mean + half, sem


def _timings(
    names: list[str], searchers: dict[str, type], oracle: Any, objective: str, budget: int,
    repeats: int,
) -> None:
    from robnas.arch import Arch
    from robnas.isomorphism import class_code
    from robnas.loop import run_search
    from robnas.searchers import random_unseen

    rng = np.random.default_rng(0)
    cells: list[Arch] = []
    seen: set[int] = set()
    for _ in range(budget):
        cells.append(random_unseen(rng, seen))
        seen.add(class_code(cells[-1]))

    def bare() -> None:
        for cell in cells:
            oracle.evaluate([cell], objective)

    base = _median_time(bare, repeats)
    print(f"\nwall time of one {budget}-cell run (median of {repeats}, start-up excluded); "
          f"baseline: {budget} bare oracle.evaluate([cell]) calls = {base * 1e3:.1f} ms")
    print(f"{'searcher':<8} {'run (s)':>9} {'per cell (ms)':>14} {'x baseline':>11}")
    for name in names:
        run_search(searchers[name](seed=1), oracle, objective, 5)  # warm imports and caches
        seconds = _median_time(
            lambda n=name: run_search(searchers[n](seed=0), oracle, objective, budget), repeats
        )
        print(f"{name:<8} {seconds:>9.3f} {seconds / budget * 1e3:>14.2f} {seconds / base:>11.1f}")


def _median_time(function: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder of the released data (default: $ROBNAS_DATA)")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--objective", default="pgd@1/255")
    parser.add_argument("--searchers", nargs="+", default=["random", "re", "ls", "bo"])
    parser.add_argument("--seeds", type=int, default=100, help="seeds per searcher")
    parser.add_argument("--bo-seeds", type=int, help="seeds for bo, the slowest (default: --seeds)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 25, 50, 100, 300])
    parser.add_argument("--budget", type=int, default=300, help="cells in the timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per searcher")
    args = parser.parse_args(argv)
    if min(args.seeds, args.bo_seeds or 1, args.budget, args.repeats, *args.budgets) < 1:
        parser.error("--seeds, --bo-seeds, --budgets, --budget and --repeats must be at least 1")
    return args


if __name__ == "__main__":
    run(main)
