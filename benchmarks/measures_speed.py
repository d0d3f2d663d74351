"""Measures at scale: seconds per cell per measure, and data-free measures vs clean accuracy.

Part 1 (``--timing-cells``): every built-in measure on the full NB201 network (C=16, N=5,
CIFAR-10, batch 64, at initialisation) for a few random cells, in this process with one torch
thread: mean seconds per cell, and the projected time for all 15,625 cells on one core and with
``--jobs`` workers. Images are random tensors of the CIFAR-10 shape (cost does not depend on
the pixels; no CIFAR images are on the machines this was written on).

Part 2 (``--cells``): the data-free measures computed by the real pipeline
(:func:`robnas.evaluation.measures.compute_measures`, ``--jobs`` worker processes, the results
store, so an interrupted run resumes) over all 15,625 cells (``--cells all``) or a seeded random
sample of cells, then Spearman's rho (and Kendall's tau, with bootstrap 95% intervals over the
cells) with the release's clean accuracy, beside the published figure (Abdelfattah et al., ICLR
2021, NB201 CIFAR-10 test accuracy, all 15,625 cells: synflow 0.737; params about 0.72-0.75).

Usage: python benchmarks/measures_speed.py [--data PATH] [--timing-cells 3] [--cells 300|all]
       [--jobs 2] [--store PATH] [--measures synflow,l2_norm,zen] [--skip-timing]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from _common import data_root, print_provenance, run

PUBLISHED_SPEARMAN = {"synflow": 0.737, "params": "0.72-0.75", "flops": "0.72-0.75"}
TOTAL = 15_625


def timing(cells: int, jobs: int) -> None:
    import numpy as np
    import torch

    from robnas.arch import Arch
    from robnas.evaluation.measures import MEASURES, Batch, synthetic_batch
    from robnas.evaluation.network import build_network
    from robnas.vocabulary import Dataset

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    generator = torch.Generator().manual_seed(0)
    real = Batch(torch.rand(64, 3, 32, 32, generator=generator), torch.randint(0, 10, (64,), generator=generator),
                 Dataset.CIFAR10, 0)
    free = synthetic_batch("cifar10", 64, 0)
    seconds: dict[str, list[float]] = {name: [] for name in MEASURES}
    build = []
    for code in rng.choice(TOTAL, size=cells, replace=False):
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = build_network(Arch.from_code(int(code)), "cifar10")
        build.append(time.perf_counter() - started)
        for name, measure in MEASURES.items():
            started = time.perf_counter()
            measure(net, real if measure.needs_data else free)
            seconds[name].append(time.perf_counter() - started)
    machine = platform.processor() or platform.machine()
    print(f"\nPart 1: seconds per cell on CPU (1 torch thread; mean of {cells} random cells, batch 64, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, {machine})\n")
    print(f"| measure | data | s/cell | 15,625 cells, 1 core | 15,625 cells, {jobs} jobs |")
    print("|---|---|---|---|---|")
    rows = [("(network build)", "", float(np.mean(build)))] + [
        (n, "labels" if MEASURES[n].needs_labels else "images" if MEASURES[n].needs_data else "free",
         float(np.mean(s))) for n, s in seconds.items()]
    for name, data, mean in rows:
        print(f"| {name} | {data} | {mean:.3f} | {_hours(mean * TOTAL)} | {_hours(mean * TOTAL / jobs)} |")


def correlations(data: str | None, cells: str, jobs: int, store: Path, measures: list[str]) -> None:
    import numpy as np

    from robnas.benchmark import TabularOracle
    from robnas.evaluation.measures import MeasureRequest, MeasureStore, compute_measures, get_measure
    from robnas.evaluation.measures._correlate import objective_table, score_correlations

    oracle = TabularOracle("cifar10", data=data)
    if cells == "all":
        indices = list(range(TOTAL))
        what = "all 15,625 cells"
    else:
        indices = sorted(int(i) for i in np.random.default_rng(0).choice(TOTAL, size=int(cells), replace=False))
        what = f"a random sample of {len(indices)} of the 15,625 cells (seed 0)"
    request = MeasureRequest(tuple(get_measure(m) for m in measures), "cifar10", batch_size=64, seed=0)
    started = time.perf_counter()
    result = compute_measures(request, indices, oracle.meta, store=MeasureStore(store), jobs=jobs, progress=True)
    wall = time.perf_counter() - started
    frame = result.frame
    table = score_correlations(frame[measures], objective_table(oracle, ["clean"]), oracle.meta,
                               isomorphs="all", bootstrap=1000, seed=0)
    print(f"\nPart 2: data-free measures over {what}, CIFAR-10, at initialisation (seed 0), --jobs {jobs}: "
          f"{result.computed} values computed, {result.cached} from the store, {wall:.0f} s wall "
          f"({len(indices) / max(wall, 1e-9):.2f} cells/s)\n")
    print("| measure | cells | Spearman rho vs clean [95% CI] | Kendall tau [95% CI] | published rho (all cells) "
          "| mean s/cell |")
    print("|---|---|---|---|---|---|")
    for row in table.to_dict("records"):
        name = row["score"]
        print(f"| {name} | {row['cells']} | {row['spearman']:.3f} [{row['spearman_low']:.3f}, "
              f"{row['spearman_high']:.3f}] | {row['kendall']:.3f} [{row['kendall_low']:.3f}, "
              f"{row['kendall_high']:.3f}] | {PUBLISHED_SPEARMAN.get(name, '–')} | "
              f"{frame[f'{name}_seconds'].mean():.3f} |")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="released data root (default: $ROBNAS_DATA)")
    parser.add_argument("--timing-cells", type=int, default=3)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--cells", default="300", help="sample size, or 'all'")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "robnas-measures-bench.sqlite",
                        help="results store (reuse to resume)")
    parser.add_argument("--measures", default="synflow,l2_norm,zen")
    args = parser.parse_args()
    if args.cells != "all" and not (args.cells.isascii() and args.cells.isdigit() and int(args.cells) >= 2):
        parser.error(f"--cells needs a whole number of at least 2, or 'all'; got {args.cells!r}")
    if args.jobs < 1 or (not args.skip_timing and args.timing_cells < 1):
        parser.error("--jobs and --timing-cells must be at least 1")
    data = data_root(args.data)  # checked before part 1, which takes minutes
    from robnas.evaluation.measures import MEASURES, get_measure

    measures = [m for m in args.measures.split(",") if m]
    for measure in measures:
        get_measure(measure)  # an unknown measure: one line now, not after part 1
    measures += [m for m in ("params", "flops") if m in MEASURES and m not in measures]
    print_provenance(data, seeds="0 (network initialisation, images, the cell sample, the bootstrap)")
    if not args.skip_timing:
        timing(args.timing_cells, args.jobs)
    correlations(data, args.cells, args.jobs, args.store, measures)


if __name__ == "__main__":
    run(main)
