"""Wall time of a searcher comparison on the tabular CIFAR-10 table.

The target of issue 5: 4 searchers x 100 seeds x 300 distinct evaluations on CIFAR-10 in under
two minutes on a 2-core machine, with Optuna's TPE the dominant cost. Prints the wall time, the
runs per second and each searcher's share of the summed run time (measured inside the worker
processes), plus the time to write the reports. With ``--seeds`` below 100 it also prints the
linear extrapolation to 100 seeds (runs are independent, so the time scales with their number).

Usage::

    ROBNAS_DATA=../shared/robustness-data python benchmarks/compare_speed.py [--seeds 100]
        [--budget 300] [--jobs 2] [--objective pgd@1/255] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import data_root, print_provenance, run, seed_range

from robnas.compare import load_oracles, plan_runs, run_comparison, write_reports

SEARCHERS = ["random", "re", "ls", "bo"]
TARGET_SEEDS = 100
TARGET_BUDGET = 300
TARGET_SECONDS = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=TARGET_SEEDS)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--objective", default="pgd@1/255")
    parser.add_argument("--data", default=None, help="data root (default: $ROBNAS_DATA)")
    parser.add_argument("--keep", metavar="DIR", help="keep the comparison folder here")
    args = parser.parse_args()
    if min(args.seeds, args.budget, args.jobs) < 1:
        parser.error("--seeds, --budget and --jobs must be at least 1")
    data = data_root(args.data)

    specs = plan_runs(SEARCHERS, [args.objective], ["cifar10"], range(args.seeds), args.budget)
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="robnas-compare-speed-"))
    if args.keep and out.exists():
        shutil.rmtree(out)
    load_before = os.getloadavg()
    try:
        started = time.perf_counter()
        oracles = load_oracles(specs, data)
        loaded = time.perf_counter() - started
        result = run_comparison(specs, out, jobs=args.jobs, oracles=oracles)
        total = loaded + result.wall_seconds
        started = time.perf_counter()
        write_reports(out)
        report_seconds = time.perf_counter() - started
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)

    load = os.getloadavg()
    print_provenance(data, seeds=seed_range(0, args.seeds))
    print(f"comparison: {len(SEARCHERS)} searchers x {args.seeds} seeds x {args.budget} "
          f"evaluations on cifar10 {args.objective}, {args.jobs} worker processes, "
          f"{os.cpu_count()} CPUs")
    print(f"  load average (1/5/15 min) before {'/'.join(f'{x:.2f}' for x in load_before)}, "
          f"after {'/'.join(f'{x:.2f}' for x in load)} (other users share the CPUs)")
    for pid, worker in sorted(result.workers.items()):
        print(f"  worker {pid}: {worker['runs']} runs, {worker['oracle_loads']} oracle load(s), "
              f"OPENBLAS_NUM_THREADS={worker['threads']}")
    print(f"  wall time of the runs      {total:8.1f} s   ({len(specs) / total:.1f} runs/s; "
          f"oracle load {loaded:.2f} s)")
    print(f"  reports (table, stats, figures) {report_seconds:5.1f} s")
    busy = sum(result.run_seconds.values())
    print(f"  summed run time in workers {busy:8.1f} s; per searcher:")
    print(f"    {'searcher':<8} {'seconds':>9} {'share':>7} {'per run':>9}")
    for name in SEARCHERS:
        seconds = result.run_seconds.get(name, 0.0)
        print(f"    {name:<8} {seconds:9.1f} {seconds / busy:7.1%} {seconds / args.seeds:8.3f}s")
    if args.seeds != TARGET_SEEDS:
        projected = total * TARGET_SEEDS / args.seeds
        print(f"  extrapolated to {TARGET_SEEDS} seeds: {projected:.1f} s "
              f"(linear in the number of runs)")
    else:
        projected = total
    if args.budget == TARGET_BUDGET:
        print(f"  target {TARGET_SECONDS:.0f} s: ratio {projected / TARGET_SECONDS:.2f} "
              f"({'met' if projected <= TARGET_SECONDS else 'missed'})")
    else:
        print(f"  target {TARGET_SECONDS:.0f} s: not compared (it is for {TARGET_BUDGET}-cell runs, "
              f"these had {args.budget})")


if __name__ == "__main__":
    run(main)
