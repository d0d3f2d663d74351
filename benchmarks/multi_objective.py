"""Multi-objective search: quality (hypervolume regret, true-front classes found) and speed.

For each dataset and objective group, runs every multi-objective searcher over ``--seeds``
seeds for ``--budget`` cells and prints, per searcher: the mean relative hypervolume regret
(1 - the front's share of the true hypervolume) after 100 cells with its 95% interval, its ratio
to random search's, the mean share of the true front's classes found after ``--budget`` cells,
and the mean wall time and CPU time of one run on one core (one process, BLAS limited to one
thread; on a loaded machine the CPU time is the figure to trust). Then
the goals of issue 14: best searcher's regret at 100 cells <= half of random search's; >= half
of the true front's classes by 300 cells; one 300-cell run < 5 s.

    python benchmarks/multi_objective.py --seeds 100 --datasets cifar10,ImageNet16-120
    python benchmarks/multi_objective.py --searchers random,hvi --groups "pgd@1/255,clean"
    python benchmarks/multi_objective.py --searchers random --searcher hvi:surrogate=gp,features=edges,ucb=1
    python benchmarks/multi_objective.py --searchers random --searcher hvi:prior=imagenet16-120 \
        --searcher pls:warmup=imagenet16-120   # a transfer prior (on ImageNet16-120: =cifar10)

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time

import numpy as np
from _common import check_names, data_root, print_provenance, run, seed_range

GROUPS = ("pgd@1/255,clean", "pgd@1/255,params:min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data root (default: $ROBNAS_DATA)")
    parser.add_argument("--datasets", default="cifar10")
    parser.add_argument("--groups", default=";".join(GROUPS), help="';'-separated objective groups")
    parser.add_argument("--searchers", default="random,nsga2,motpe,pls,parego,hvi")
    parser.add_argument("--searcher", action="append", default=[], metavar="SPEC",
                        help="a searcher with parameters, NAME:KEY=VALUE[,KEY=VALUE...] as robnas "
                             "compare's --searcher (repeatable; runs after --searchers)")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=300)
    args = parser.parse_args()
    if args.seeds < 1 or args.budget < 1:
        parser.error("--seeds and --budget must be at least 1")
    data = data_root(args.data)

    from robnas.benchmark import TabularOracle
    from robnas.cli.common import quiet_optuna
    from robnas.cli.compare_cmd import parse_searcher_spec
    from robnas.compare.stats import mean_interval
    from robnas.multi_loop import run_multi_search
    from robnas.multi_objective import ParetoProblem
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, make_multi_searcher

    names = [name for name in args.searchers.split(",") if name]
    check_names("multi-objective searcher", names, MULTI_OBJECTIVE_SEARCHERS)
    specs = [(name, {}) for name in names] + [
        parse_searcher_spec(text, MULTI_OBJECTIVE_SEARCHERS, "multi-objective searcher") for text in args.searcher]
    for name, params in specs:
        make_multi_searcher(name, seed=0, **params)  # unknown keywords: one line now, not after hours
    # every dataset and objective group checked before the first run
    oracles = {dataset: TabularOracle(dataset, data=data) for dataset in args.datasets.split(",")}
    problems = [(dataset, group, ParetoProblem.from_oracle(oracle, group))
                for dataset, oracle in oracles.items() for group in args.groups.split(";")]
    quiet_optuna(0)  # as the robnas command does: no INFO line per Optuna study
    print_provenance(data, seeds=seed_range(0, args.seeds))
    early = min(100, args.budget)
    width = max(10, *(len(label) for label in names + args.searcher))
    for dataset, group, problem in problems:
        print(f"\n{dataset} · {group}: true front {len(problem.front_rows)} classes, "
              f"reference point {np.round(problem.reference, 4).tolist()}, "
              f"true hypervolume {problem.true_hypervolume:.4g}; {args.seeds} seeds")
        print(f"{'searcher':<{width}} {f'HV regret@{early} [95%]':<26} {'vs random':>9} "
              f"{'found@' + str(args.budget):>10} {'s/run':>7} {'cpu s/run':>9}")
        at_early: dict[str, float] = {}
        for (name, params), label in zip(specs, names + args.searcher, strict=True):
            regrets, found, seconds, cpu = [], [], [], []
            for seed in range(args.seeds):
                started, cpu_started = time.perf_counter(), time.process_time()
                result = run_multi_search(MULTI_OBJECTIVE_SEARCHERS[name](seed=seed, **params), oracles[dataset],
                                          group, args.budget, problem=problem)
                seconds.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                regrets.append(1.0 - result.trials[min(early, len(result.trials)) - 1]["best"])
                found.append(result.share_found)
            mean, low, high = mean_interval(regrets)
            at_early[label] = mean
            ratio = mean / at_early["random"] if at_early.get("random") else float("nan")
            print(f"{label:<{width}} {mean:.3f} [{low:.3f}, {high:.3f}]{'':<8} {ratio:>9.2f} "
                  f"{np.mean(found):>10.0%} {np.mean(seconds):>7.2f} {np.mean(cpu):>9.2f}", flush=True)


if __name__ == "__main__":
    run(main)
