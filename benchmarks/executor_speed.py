"""Ray's overhead: the same comparison on the local process pool and on a local Ray instance.

Runs 4 searchers x ``--seeds`` seeds x ``--budget`` distinct evaluations on the tabular CIFAR-10
table on the same ``--jobs`` cores, alternating the engines ``--rounds`` times (pool, ray,
pool, ray, ...) so that both see the same share of a machine other users load:
:class:`robnas.execution.LocalExecutor` (the default of ``robnas compare``) and
:class:`robnas.execution.RayExecutor` on a Ray instance started here with ``num_cpus=--jobs``
(its start-up and shut-down are included in Ray's wall time, as a user of ``--executor ray``
pays them; start-up is also printed alone).

Per run it prints wall time, runs (tasks) per second, and CPU time (user + system):

* ``driver``: this process (``RUSAGE_SELF``);
* ``workers``: pool -- the worker processes, reaped when the pool closes (``RUSAGE_CHILDREN``);
  Ray -- every process Ray started under this one (raylet, GCS, workers, agents), read from
  ``/proc`` just before Ray shuts down (Linux only);

and the 1-minute load average, sampled every 5 s during the run (mean and max). Wall time
on a shared machine measures the neighbours as much as the engine; CPU time does not.

Usage::

    ROBNAS_DATA=../shared/robustness-data python benchmarks/executor_speed.py [--seeds 100]
        [--budget 300] [--jobs 2] [--rounds 2] [--objective pgd@1/255]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

from _common import data_root, print_provenance, run, seed_range

from robnas.compare import load_oracles, plan_runs, run_comparison
from robnas.execution import LocalExecutor, RayExecutor

SEARCHERS = ["random", "re", "ls", "bo"]
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def descendants_cpu(root: int) -> float:
    """CPU seconds (user + system, incl. reaped children) of every live descendant of ``root``."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / _TICKS
    total = 0.0
    for pid in times:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1):
            if ancestor == root:
                total += times[pid]
                break
            ancestor = parents.get(ancestor)
    return total


class LoadSampler:
    """The 1-minute load average every ``every`` seconds, in a thread."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def measure(name: str, specs: list, oracles: dict, out: Path, jobs: int) -> dict:
    """One comparison on one engine: wall, start-up, runs, CPU of driver and workers, load."""
    self_before = _cpu(resource.getrusage(resource.RUSAGE_SELF))
    children_before = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN))
    with LoadSampler() as load:
        started = time.perf_counter()
        executor = LocalExecutor(jobs) if name == "pool" else RayExecutor(jobs=jobs)
        startup = time.perf_counter() - started
        try:
            result = run_comparison(specs, out, oracles=oracles, executor=executor)
            ray_cpu = descendants_cpu(os.getpid()) if name == "ray" else 0.0
        finally:
            executor.close()
        wall = time.perf_counter() - started
    driver = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - self_before
    workers = ray_cpu if name == "ray" else _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - children_before
    return {"engine": name, "wall": wall, "startup": startup, "runs": result.ran, "driver": driver,
            "workers": workers, "load_mean": sum(load.samples) / len(load.samples),
            "load_max": max(load.samples), "processes": len(result.workers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="pool/ray pairs (default: 2)")
    parser.add_argument("--objective", default="pgd@1/255")
    parser.add_argument("--data", default=None, help="data root (default: $ROBNAS_DATA)")
    args = parser.parse_args()
    if min(args.seeds, args.budget, args.jobs, args.rounds) < 1:
        parser.error("--seeds, --budget, --jobs and --rounds must be at least 1")
    data = data_root(args.data)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the workers copy this verbosity
    specs = plan_runs(SEARCHERS, [args.objective], ["cifar10"], range(args.seeds), args.budget)
    oracles = load_oracles(specs, data)
    print_provenance(data, seeds=seed_range(0, args.seeds))
    base = Path(tempfile.mkdtemp(prefix="robnas-executor-speed-"))
    print(f"comparison: {len(SEARCHERS)} searchers x {args.seeds} seeds x {args.budget} evaluations "
          f"on cifar10 {args.objective}; {args.jobs} worker processes / Ray CPUs for each engine, "
          f"{os.cpu_count()} CPUs on the machine", flush=True)
    print(f"  {'engine':<6} {'wall s':>8} {'start s':>8} {'runs':>5} {'runs/s':>7} {'driver cpu s':>13} "
          f"{'worker cpu s':>13} {'cpu s/run':>10} {'load mean':>10} {'load max':>9}", flush=True)
    rows = []
    try:
        for number in range(args.rounds):
            for name in ("pool", "ray"):
                row = measure(name, specs, oracles, base / f"{name}-{number}", args.jobs)
                rows.append(row)
                cpu = row["driver"] + row["workers"]
                print(f"  {name:<6} {row['wall']:8.1f} {row['startup']:8.1f} {row['runs']:5d} "
                      f"{row['runs'] / row['wall']:7.2f} {row['driver']:13.1f} {row['workers']:13.1f} "
                      f"{cpu / row['runs']:10.3f} {row['load_mean']:10.1f} {row['load_max']:9.1f}",
                      flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    def total(engine: str, what: str) -> float:
        return sum(r[what] for r in rows if r["engine"] == engine)

    wall = total("ray", "wall") / total("pool", "wall")
    cpu = (total("ray", "driver") + total("ray", "workers")) / (total("pool", "driver") + total("pool", "workers"))
    print(f"  ratio ray / pool over {args.rounds} round(s): wall {wall:.2f}, CPU {cpu:.2f} "
          "(Ray's overhead on one machine: start-up, its daemons, scheduling, object transfer)")


if __name__ == "__main__":
    run(main)
