"""Where the predictor loses its time on CIFAR-10 pgd@1/255: finding the basin, or ranking in it.

PGD@1/255's best cells on CIFAR-10 share a pattern of the input node's three out-edges: each is
average pooling or ``none``, and at least one is pooling (the input reaches the cell only through
average pooling). This diagnostic measures, on ``--seeds`` seeds:

1. the pattern's size and values against the rest of the space;
2. random search *inside* the pattern (cells drawn uniformly from its classes);
3. the default :class:`~robnas.searchers.PredictorSearch` *restricted to* the pattern (every
   class outside it marked as seen before the first proposal: oracle knowledge of the basin,
   which no real search has);
4. the default predictor over the whole space, as searched: after how many distinct cells it
   first evaluates a cell of 0.56 or more (the basin) and the optimum, and which share of its
   proposals after that first basin cell (until the optimum) lie in the pattern.

Reading: if (3) finds the optimum quickly, ranking the basin's near-ties is not the limit; the
limit is locating the pattern and concentrating the proposals in it. Nothing here is a pass/fail
test; docs/searcher-experiments.md quotes the output.

Usage: python benchmarks/predictor_basin.py --data PATH [--seeds 100] [--budget 100]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

# the same ask/tell loop as the variants benchmark (run as a script, its folder is on the path)
from _common import data_root, print_provenance, run, seed_range
from predictor_variants import distinct_classes

from robnas.arch import EDGES, OPS, Arch, all_ops_array
from robnas.isomorphism import class_code_array
from robnas.searchers import PredictorSearch

CLASSES = class_code_array()
AVG_POOL, NONE = OPS.index("avg_pool_3x3"), OPS.index("none")
INPUT_EDGES = [i for i, (source, _) in enumerate(EDGES) if source == 0]  # 0->1, 0->2, 0->3
BASIN_THRESHOLD = 0.56


def in_pattern(ops: np.ndarray) -> np.ndarray:
    """Which rows of ``ops`` (``(n, 6)`` op indices) have only ``none`` or average pooling on the
    input node's out-edges, and pooling on at least one."""
    inputs = np.atleast_2d(ops)[:, INPUT_EDGES]
    return np.isin(inputs, (NONE, AVG_POOL)).all(axis=1) & (inputs == AVG_POOL).any(axis=1)


class RestrictedPredictor(PredictorSearch):
    """The predictor with every class outside ``allowed`` marked as seen before it starts."""

    def __init__(self, allowed: np.ndarray, **params: object) -> None:
        super().__init__(**params)  # type: ignore[arg-type]
        self.allowed = allowed

    def _start(self) -> None:
        super()._start()
        self._seen |= set(np.setdiff1d(self._classes, self.allowed).tolist())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data root (default: $ROBNAS_DATA)")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=100, help="cells of (2) and (3), 1-300 (default: 100)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or not 1 <= args.budget <= 300:
        parser.error("--seeds must be at least 1 and --budget between 1 and 300 (the whole-space runs' length)")
    data = data_root(args.data)
    from robnas.benchmark import TabularOracle

    oracle = TabularOracle("cifar10", data=data)
    print_provenance(data, seeds=seed_range(0, args.seeds))
    values = np.asarray(oracle.evaluate([Arch.from_code(i) for i in range(len(CLASSES))],
                                        "pgd@1/255").values, dtype=float)
    optimum = values.max()
    classes = np.unique(CLASSES)
    all_ops = all_ops_array().astype(np.int64)
    pattern = in_pattern(all_ops[classes])
    basin = classes[pattern]
    q = (0.25, 0.5, 0.75, 1.0)
    print(f"CIFAR-10 pgd@1/255 (optimum {optimum:.3f}): the pattern has {pattern.sum()} of "
          f"{classes.size} classes; quartiles/max of its values {np.quantile(values[basin], q).round(3)}, "
          f"of the others {np.quantile(values[classes[~pattern]], q).round(3)}; classes >= "
          f"{BASIN_THRESHOLD}: {(values[basin] >= BASIN_THRESHOLD).sum()} in it, "
          f"{(values[classes[~pattern]] >= BASIN_THRESHOLD).sum()} outside")

    def report(label: str, runs: list[list[int]], started: float) -> None:
        best = np.maximum.accumulate(values[np.array(runs)], axis=1)
        cells = "  ".join(f"@{b} {best[:, b - 1].mean():.4f} ({(best[:, b - 1] >= optimum - 1e-9).mean():4.0%})"
                          for b in sorted({min(50, args.budget), args.budget}))
        print(f"  {label:44s} {cells}  {(time.process_time() - started) / len(runs):.2f} s CPU/run", flush=True)

    seeds = range(args.seeds)
    started = time.process_time()
    report("random search inside the pattern",
           [list(np.random.default_rng(s).permutation(basin)[: args.budget]) for s in seeds], started)
    started = time.process_time()
    report("predictor restricted to the pattern",
           [distinct_classes(RestrictedPredictor(basin, seed=s), values, args.budget) for s in seeds], started)
    started = time.process_time()
    runs = [distinct_classes(PredictorSearch(seed=s), values, 300) for s in seeds]
    report("predictor over the whole space", [r[: args.budget] for r in runs], started)
    entries, optima, shares = [], [], []
    for order in runs:
        hits = values[np.array(order)]
        if not (hits >= BASIN_THRESHOLD).any():
            continue
        entry = int(np.argmax(hits >= BASIN_THRESHOLD))
        found = int(np.argmax(hits >= optimum - 1e-9)) if (hits >= optimum - 1e-9).any() else None
        entries.append(entry + 1)
        optima.append(len(order) if found is None else found + 1)
        after = np.array(order[entry + 1: found], dtype=np.int64)
        if after.size:
            shares.append(in_pattern(all_ops[after]).mean())
    print(f"  whole space, 300 cells: {len(entries)} of {len(runs)} runs reach >= {BASIN_THRESHOLD}, "
          f"after a median of {np.median(entries):.0f} cells; the optimum after a median of "
          f"{np.median(optima):.0f} (300 = not found); between the two, {np.mean(shares):.0%} of the "
          f"proposals lie in the pattern")
    return 0


if __name__ == "__main__":
    run(main)
