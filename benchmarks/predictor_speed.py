"""Time per step of the predictor searcher as its history grows, for a few refit schedules.

Runs one ``--budget``-cell search per setting (seed 0, CIFAR-10 pgd@1/255, no run record, one
BLAS thread) and prints the CPU time of ``ask()`` + ``tell()`` per step, averaged over blocks of
50 told cells, and the whole run's wall and CPU time; regularized evolution is the baseline
(its ratio is what the surrogate costs on top). The load average is printed too: on a shared
machine wall time inflates, CPU time much less. Nothing here is a pass/fail test.

Usage: python benchmarks/predictor_speed.py --data PATH [--budget 300]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from _common import data_root, print_provenance, run

SETTINGS: dict[str, dict[str, object]] = {
    "predictor (defaults: refit each step to 50 told, then every 5; leaf-max to 50; 3 local, twins, "
    "1 random to 50, then 2 local)": {},
    "predictor with the early batches throughout (late_from=6466)": {"late_from": 6466},
    "predictor with one tree's favourite as the global pick (global_pick=thompson)": {"global_pick": "thompson"},
    "predictor with the leaf-max global pick throughout (leaf_max_until=6466)": {"leaf_max_until": 6466},
    "predictor refit every 5 from the start (refit_each_until=0)": {"refit_each_until": 0},
    "predictor former default (cells, no twins, random start)": {"features": "cells", "twins": False,
                                                                 "design": "random", "refit_each_until": 0,
                                                                 "global_pick": "thompson", "late_from": 6466},
    "predictor without local/explore picks": {"local": 0, "explore": 0, "late_local": 0},
    "predictor refit_every=1 n_estimators=1": {"refit_every": 1, "n_estimators": 1, "local": 0, "late_local": 0,
                                               "explore": 0},
    "predictor refit_every=10 n_estimators=10": {"refit_every": 10, "n_estimators": 10, "local": 6,
                                                 "explore": 2},
    "predictor ucb, 30 trees, refit every 5": {"acquisition": "ucb", "n_estimators": 30},
    "gp (edges, EI, 3-cycles, hyper_every=25)": {"surrogate": "gp", "features": "edges", "acquisition": "ei",
                                                  "refit_every": 3, "local": 1, "explore": 1,
                                                  "hyper_every": 25},
    "gp, hyper_every=10": {"surrogate": "gp", "features": "edges", "acquisition": "ei", "refit_every": 3,
                           "local": 1, "explore": 1, "hyper_every": 10},
    "gp, hyper_every=10, scikit-learn posterior": {"surrogate": "gp", "features": "edges", "acquisition": "ei",
                                                   "refit_every": 3, "local": 1, "explore": 1,
                                                   "hyper_every": 10, "sklearn": True},
}
"""``sklearn``: the same searcher, but every posterior computed by scikit-learn's
``GaussianProcessRegressor`` from scratch (same kernel) instead of updated: what the
incremental update saves."""
BLOCK = 50


def _sklearn_posterior_searcher(**params: object) -> object:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel
    from sklearn.gaussian_process.kernels import ConstantKernel as Constant

    from robnas.searchers import PredictorSearch
    from robnas.searchers._class_gp import ClassGaussianProcess

    class FromScratch(ClassGaussianProcess):
        def posterior(self, targets):  # type: ignore[no-untyped-def]
            kernel = (Constant(self.amplitude, "fixed") * RBF(self.length_scale, "fixed")
                      + WhiteKernel(self.noise, "fixed"))
            model = GaussianProcessRegressor(kernel, alpha=0.0, optimizer=None).fit(self.features[self.rows], targets)
            mean, std = model.predict(self.features, return_std=True)
            return mean, (std ** 2 - self.noise).clip(0) ** 0.5

    class Searcher(PredictorSearch):
        def _gp_fit_and_queue(self) -> None:
            if self._gp is None:
                self._gp = FromScratch(self._features)
            super()._gp_fit_and_queue()

    return Searcher(**params)


def _timed_run(searcher: object, oracle: object, budget: int) -> tuple[list[float], float, float]:
    from robnas.isomorphism import class_code

    seen: set[int] = set()
    per_step: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()
    while len(seen) < budget:
        start = time.process_time()
        arch = searcher.ask()  # type: ignore[attr-defined]
        value = float(oracle.evaluate([arch], "pgd@1/255").values[0])  # type: ignore[attr-defined]
        searcher.tell(arch, value)  # type: ignore[attr-defined]
        per_step.append(time.process_time() - start)
        seen.add(class_code(arch))
    return per_step, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data root (default: $ROBNAS_DATA)")
    parser.add_argument("--budget", type=int, default=300)
    args = parser.parse_args(argv)
    if args.budget < 1:
        parser.error("--budget must be at least 1")
    data = data_root(args.data)
    from robnas.benchmark import TabularOracle
    from robnas.searchers import PredictorSearch, RegularizedEvolution

    oracle = TabularOracle("cifar10", data=data)
    print_provenance(data, seeds="0 (1 for the untimed warm-up run)")
    _timed_run(PredictorSearch(seed=1), oracle, 20)  # imports and feature tables, off the clock
    blocks = [f"{b}-{min(b + BLOCK, args.budget)}" for b in range(0, args.budget, BLOCK)]
    width = max(len(label) for label in ["regularized evolution (baseline)", *SETTINGS])
    print(f"load average {os.getloadavg()[0]:.1f}; CPU ms per step (ask + tell + lookup) "
          f"by cells told")
    print(f"{'setting':{width}s} " + " ".join(f"{b:>8s}" for b in blocks) + "   run CPU s   run wall s")
    _, _, base_cpu = _timed_run(RegularizedEvolution(seed=0), oracle, args.budget)
    for label, params in [("regularized evolution (baseline)", None), *SETTINGS.items()]:
        if params is None:
            searcher: object = RegularizedEvolution(seed=0)
        elif params.get("sklearn"):
            searcher = _sklearn_posterior_searcher(**{k: v for k, v in params.items() if k != "sklearn"}, seed=0)
        else:
            searcher = PredictorSearch(**params, seed=0)
        steps, wall, cpu = _timed_run(searcher, oracle, args.budget)
        means = [1000 * sum(steps[b:b + BLOCK]) / len(steps[b:b + BLOCK]) for b in range(0, len(steps), BLOCK)]
        print(f"{label:{width}s} " + " ".join(f"{m:8.1f}" for m in means) + f"   {cpu:9.2f}   {wall:10.2f}"
              + ("" if params is None else f"   ({cpu / base_cpu:.0f}x evolution)"), flush=True)
    return 0


if __name__ == "__main__":
    run(main)
