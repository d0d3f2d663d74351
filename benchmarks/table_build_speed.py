"""Wall time of ``robnas table build`` for a small table: the local process pool vs Ray.

Writes a NATS-format weights archive for ``--cells`` cells (random weights, written by the test
suite's fixture helper: the fixture's small network, C=4, N=1, or the real NB201 size, C=16,
N=5, with ``--full-size``), ``--images`` random CIFAR-10 test
images and a ``meta.json`` whose isomorphism classes are exactly those cells, then builds the
table (clean + FGSM at 0.5, 1 and 2/255) twice from an empty store, on ``--jobs`` cores each:
with :class:`~robnas.execution.LocalExecutor` and with :class:`~robnas.execution.RayExecutor`
(a local Ray instance started here; its start-up is included). Prints wall time, cells/s,
the summed compute seconds of the workers and the ratio Ray / pool; then a third build on the
filled store (what a resumed build costs when nothing is left).

Usage: python benchmarks/table_build_speed.py [--cells 20] [--images 100] [--jobs 2] [--full-size]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import print_provenance, run

# the test suite's fixture helpers write the NATS-format archive and the CIFAR-10 batch
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ATTACK = "fgsm@0.5,1,2"


def main() -> None:
    from robnas.arch import Arch
    from robnas.evaluation.attacks import AttackProtocol
    from robnas.evaluation.cell_tasks import LiveSettings
    from robnas.evaluation.store import ResultStore
    from robnas.evaluation.table_build import build_table, parse_attack
    from robnas.execution import LocalExecutor, RayExecutor
    from tests.evaluation.dataset_fixtures import write_cifar10
    from tests.evaluation.nats_fixture import write_nats_archive
    from tests.evaluation.table_fixture import write_coarse_meta

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--full-size", action="store_true", help="C=16, N=5 instead of the fixture's C=4, N=1")
    args = parser.parse_args()
    channels, per_stage = (16, 5) if args.full_size else (4, 1)

    print_provenance()
    base = Path(tempfile.mkdtemp(prefix="robnas-table-build-speed-"))
    try:
        cells = tuple(range(7, 15625, 15625 // args.cells))[: args.cells]
        data = write_coarse_meta(base / "data", cells)
        write_nats_archive(base / "weights", {c: Arch.from_code(c) for c in cells}, datasets=("cifar10",),
                           epochs=(200,), seeds=(777,), channels=channels, cells=per_stage)
        write_cifar10(base / "images", n=args.images)
        settings = LiveSettings("cifar10", str(base / "weights"), str(base / "images"), str(data),
                                args.images, AttackProtocol(), "cpu", 200, None, 256)
        key, epsilons = parse_attack(ATTACK, {})
        rows = []
        for name in ("pool", "ray", "resumed"):
            load = os.getloadavg()[0]
            started = time.perf_counter()
            executor = RayExecutor(jobs=args.jobs) if name == "ray" else LocalExecutor(args.jobs)
            store = ResultStore(base / ("pool" if name == "resumed" else name) / "store.sqlite")
            with executor:
                done = build_table(settings, key, epsilons, list(cells), base / name / "table",
                                   store=store, executor=executor)
            rows.append((name, time.perf_counter() - started, done.evaluated, done.compute_seconds, load))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"table build: {args.cells} cells (NB201 C={channels}, N={per_stage}) x clean + FGSM at 0.5, 1, 2/255 on "
          f"{args.images} CIFAR-10-sized images, CPU, {args.jobs} cores per engine, {os.cpu_count()} CPUs")
    print(f"  {'engine':<8} {'wall s':>8} {'cells':>6} {'cells/s':>8} {'compute s':>10} {'load':>5}")
    for name, wall, evaluated, compute, load in rows:
        print(f"  {name:<8} {wall:8.1f} {evaluated:6d} {evaluated / wall:8.2f} {compute:10.1f} {load:5.1f}")
    print(f"  ratio ray / pool: {rows[1][1] / rows[0][1]:.2f}; 'resumed' = the pool's build again on its "
          "filled store (nothing evaluated)")


if __name__ == "__main__":
    run(main)
