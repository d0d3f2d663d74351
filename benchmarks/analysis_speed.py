"""Speed of the cost metrics and of the design-analysis report (``robnas analyze``).

1. Cost of all 15,625 cells: ``robnas.cost.cost_arrays`` (vectorised) and ``cost_frame`` (by
   NB201 index), against a baseline that calls the scalar ``robnas.cost.params`` / ``flops``
   for every cell in a Python loop (same numbers, checked). Goal: well under a second.
2. The full report for one dataset over every objective of its table (CIFAR-10: 129), with
   the between-datasets correlations: each section timed in-process (wall and CPU seconds),
   then ``robnas analyze`` as a fresh process (imports included). Goal: under 10 s on 2 cores.
   CPU seconds are printed next to wall seconds because a shared machine's load inflates wall
   time; the load average is printed too.

Usage: python benchmarks/analysis_speed.py [--data PATH] [--dataset cifar10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import data_root, print_provenance, run


def timed(fn, repeats: int = 1):
    """(median wall s, median CPU s, result) over ``repeats`` calls."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def cost_section(data: str | None, repeats: int) -> None:
    import numpy as np

    from robnas import cost
    from robnas.arch import all_archs

    print("## cost of all 15,625 cells\n")
    print(f"{'what':44s} {'wall s':>9s} {'cpu s':>9s}")
    meta = cost.load_meta(data)
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        wall, cpu, arrays = timed(lambda d=dataset: cost.cost_arrays(d), repeats)
        print(f"{'cost_arrays ' + dataset:44s} {wall:9.5f} {cpu:9.5f}")
    wall, cpu, _ = timed(lambda: cost.cost_frame("cifar10", meta=meta), repeats)
    print(f"{'cost_frame cifar10 (meta loaded)':44s} {wall:9.5f} {cpu:9.5f}")
    archs = list(all_archs())
    base_wall, base_cpu, loop = timed(
        lambda: (np.array([cost.params(a) for a in archs]), np.array([cost.flops(a) for a in archs])), 1)
    print(f"{'baseline: scalar params+flops per cell':44s} {base_wall:9.5f} {base_cpu:9.5f}")
    arrays = cost.cost_arrays("cifar10")
    assert (loop[0] == arrays["params"]).all() and (loop[1] == arrays["flops"]).all()
    print(f"\nvectorised cost_arrays is {base_wall / timed(lambda: cost.cost_arrays('cifar10'), repeats)[0]:.0f}x "
          "the scalar loop (same values)\n")


def report_section(data: str | None, dataset: str) -> None:
    import pandas  # noqa: F401  (imports are timed separately, below)
    import scipy.stats  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    from robnas import analysis as an
    from robnas.analysis.plots import DPI
    from robnas.benchmark import TabularOracle

    oracle = TabularOracle(dataset, data=data)
    print(f"## full report, {dataset}, every objective\n")
    print(f"{'section':44s} {'wall s':>9s} {'cpu s':>9s}")
    rows = []

    def step(name, fn):
        wall, cpu, result = timed(fn)
        rows.append((name, wall, cpu))
        print(f"{name:44s} {wall:9.3f} {cpu:9.3f}")
        return result

    frame = step("class_frame", lambda: an.class_frame(oracle))
    names = an.objective_columns(frame)
    headline = an.headline_objectives(names)
    print(f"({len(names)} objectives, {len(headline)} with figures)")
    table = step("distributions", lambda: an.distributions(frame, names))
    pairs = step("correlations (rho: all pairs; tau: headline)", lambda: an.correlations(frame, names, focus=headline))
    step("equal cost, params + flops, + findings",
         lambda: [an.equal_cost_findings(an.equal_cost(frame, names, b), frame) for b in ("params", "flops")])
    effects = step("operations: edge x op, counts, enrichment", lambda: (
        an.operation_effects(frame, names), an.operation_counts(frame, names), an.operation_enrichment(frame, names)))
    step("top cells", lambda: [an.top_cells(frame, o) for o in headline])
    with tempfile.TemporaryDirectory() as tmp:
        def figures():
            figs = [an.plot_distributions(table), an.plot_correlations(an.correlation_matrix(pairs, columns=headline)),
                    an.plot_equal_cost(frame, headline),
                    an.plot_operations(effects[0], headline), an.plot_operation_counts(effects[1], headline)]
            for k, fig in enumerate(figs):
                fig.savefig(os.path.join(tmp, f"{k}.png"), dpi=DPI)

        step("figures (5, drawn and saved as PNG)", figures)
        wall, cpu, report = timed(lambda: an.write_report(oracle, tmp, others=an.other_datasets(oracle)))
    print(f"{'write_report (all of it, + other datasets)':44s} {wall:9.3f} {cpu:9.3f}")
    command = [sys.executable, "-m", "robnas", "analyze", "--dataset", dataset]
    if data:
        command += ["--data", data]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = subprocess.run([*command, "--out", tmp, "--json"], capture_output=True, text=True, check=True)
        cold = time.perf_counter() - started
    children = os.times()
    print(f"{'robnas analyze, fresh process':44s} {cold:9.3f} {children.children_user + children.children_system:9.3f}")
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; goal < 10 s; "
          f"{len(report.files)} files; fresh-process output {len(done.stdout)} bytes of JSON")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="release root (default: $ROBNAS_DATA)")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    data = data_root(args.data)
    from robnas.benchmark import TabularOracle

    _ = TabularOracle(args.dataset, data=data).grid  # an unknown or missing dataset: one line, before any timing
    print_provenance(data)
    cost_section(data, args.repeats)
    report_section(data, args.dataset)


if __name__ == "__main__":
    run(main)
