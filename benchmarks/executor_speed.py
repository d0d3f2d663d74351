"""Ray's overhead: the same comparison on the local process pool and on a local Ray instance.

Runs 4 searchers x ``--seeds`` seeds x ``--budget`` distinct evaluations on the tabular CIFAR-10
table twice, on the same ``--jobs`` cores: first with :class:`robnas.execution.LocalExecutor`
(the default of ``robnas compare``), then with :class:`robnas.execution.RayExecutor` on a Ray
instance started here with ``num_cpus=--jobs`` (its start-up time is printed separately and
included in Ray's wall time, as a user of ``--executor ray`` pays it). Prints the wall time of
each, runs (tasks) per second and the ratio Ray / pool, with the load average (other users
share the CPUs, so compare the two figures of one run, not figures of different runs).

Usage::

    ROBNAS_DATA=../shared/robustness-data python benchmarks/executor_speed.py [--seeds 100]
        [--budget 300] [--jobs 2] [--objective pgd@1/255]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from robnas.compare import load_oracles, plan_runs, run_comparison
from robnas.execution import LocalExecutor, RayExecutor

SEARCHERS = ["random", "re", "ls", "bo"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--objective", default="pgd@1/255")
    parser.add_argument("--data", default=None, help="data root (default: $ROBNAS_DATA)")
    args = parser.parse_args()

    specs = plan_runs(SEARCHERS, [args.objective], ["cifar10"], range(args.seeds), args.budget)
    oracles = load_oracles(specs, args.data)
    base = Path(tempfile.mkdtemp(prefix="robnas-executor-speed-"))
    rows = []
    try:
        for name in ("pool", "ray"):
            load = os.getloadavg()[0]
            started = time.perf_counter()
            executor = LocalExecutor(args.jobs) if name == "pool" else RayExecutor(jobs=args.jobs)
            startup = time.perf_counter() - started
            with executor:
                result = run_comparison(specs, base / name, oracles=oracles, executor=executor)
            wall = time.perf_counter() - started
            rows.append((name, wall, startup, result.ran, load, len(result.workers)))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"comparison: {len(SEARCHERS)} searchers x {args.seeds} seeds x {args.budget} evaluations "
          f"on cifar10 {args.objective}; {args.jobs} cores for each engine, {os.cpu_count()} CPUs")
    print(f"  {'engine':<6} {'wall s':>8} {'start s':>8} {'runs':>5} {'runs/s':>7} {'workers':>8} {'load':>5}")
    for name, wall, startup, ran, load, workers in rows:
        print(f"  {name:<6} {wall:8.1f} {startup:8.1f} {ran:5d} {ran / wall:7.2f} {workers:8d} {load:5.1f}")
    (_, pool, *_), (_, ray, *_) = rows
    print(f"  ratio ray / pool: {ray / pool:.2f} (Ray's overhead on one machine: start-up, "
          "scheduling, object transfer)")


if __name__ == "__main__":
    main()
