"""``robnas compare``: run several searchers over many seeds and report them side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robnas.arch import CLASS_COUNT
from robnas.cli.common import (
    add_data_options,
    add_offline_option,
    add_quiet_option,
    fetch_missing_data,
    quiet_optuna,
    show_progress,
)
from robnas.cli.executor_options import add_executor_options, build_executor
from robnas.cli.values import parse_int, parse_names
from robnas.errors import RobnasError
from robnas.searchers import SEARCHERS
from robnas.vocabulary import Dataset, parse_dataset

DEFAULT_SEARCHERS = ",".join(SEARCHERS)
DEFAULT_CHECKPOINTS = "10,25,50,100,300"
MAX_SEEDS = 10_000
"""Most seeds per searcher: a comparison writes one run record per seed, searcher, objective
and dataset, so more would fill a disk long before it told searchers apart any better."""
MAX_JOBS = 256


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare searchers over many seeds: anytime plots, summary, ranking",
        description=(
            "Run every searcher, objective, dataset and seed in parallel (local worker processes, or "
            "Ray tasks with --executor ray; one run record each, under OUT/runs, written by this "
            "process only), then write the trajectories (Parquet), a summary at "
            "checkpoints (Markdown, CSV), a ranking with Friedman and Holm-corrected Wilcoxon "
            "tests, and anytime plots with 95% bands. Re-running with the same --out resumes: "
            "finished runs are not repeated. --from DIR only re-draws tables and figures."
        ),
        epilog=(
            "examples:\n"
            "  robnas compare -O pgd@1/255 -O clean --seeds 50 --budget 300 --out runs/cmp\n"
            "  robnas compare -O clean --seeds 100 --executor ray --ray-address auto --out runs/cmp\n"
            "  robnas compare --from runs/cmp --metric regret --log-x --formats png,pdf"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--objective", "-O", action="append", metavar="O",
                        help="objective to compare on, e.g. pgd@1/255 (repeat for several)")
    add_data_options(parser, dataset=False)
    add_offline_option(parser)
    parser.add_argument("--dataset", action="append", metavar="D",
                        help=f"dataset: {', '.join(d.value for d in Dataset)} (repeat for several; "
                             "default: cifar10)")
    parser.add_argument("--searchers", default=DEFAULT_SEARCHERS, metavar="LIST",
                        help="comma-separated, among %(default)s (default: all)")
    parser.add_argument("--seeds", default="50", metavar="N",
                        help=f"seeds 0..N-1 per searcher, N in 1..{MAX_SEEDS} (default: %(default)s)")
    parser.add_argument("--budget", default="300", metavar="N",
                        help=f"distinct architectures per run, 1..{CLASS_COUNT} (default: %(default)s)")
    parser.add_argument("--jobs", "-j", metavar="N",
                        help=f"worker processes, 1..{MAX_JOBS} (default: all CPUs)")
    add_executor_options(parser)
    parser.add_argument("--out", metavar="DIR",
                        help="comparison folder (default: runs/compare-<time>); reuse to resume")
    parser.add_argument("--from", dest="from_dir", metavar="DIR",
                        help="re-draw the tables and figures of an existing comparison folder")
    parser.add_argument("--metric", choices=("value", "regret"), default="value",
                        help="what the plots show (default: %(default)s)")
    parser.add_argument("--log-x", action="store_true", help="log-scaled x axis in the plots")
    parser.add_argument("--formats", default="png", metavar="LIST",
                        help="figure formats among png,svg,pdf (default: %(default)s)")
    parser.add_argument("--checkpoints", default=DEFAULT_CHECKPOINTS, metavar="LIST",
                        help="summary checkpoints, clipped to the budget (default: %(default)s)")
    add_quiet_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.cli.outputs import writable_dir
    from robnas.compare import load_oracles, plan_runs, run_comparison, write_reports
    from robnas.compare.plots import FORMATS

    formats = parse_names(args.formats, "--formats", FORMATS, "figure format")
    checkpoints = [parse_int(part, "--checkpoints", 1, CLASS_COUNT)
                   for part in parse_names(args.checkpoints, "--checkpoints")]
    if args.from_dir is not None:
        out = _existing_comparison(args)
    else:  # everything is checked before anything is printed or created
        if not args.objective:
            raise RobnasError("give at least one --objective (or --from DIR to re-draw)")
        seeds = parse_int(args.seeds, "--seeds", 1, MAX_SEEDS)
        budget = parse_int(args.budget, "--budget", 1, CLASS_COUNT)
        jobs = None if args.jobs is None else parse_int(args.jobs, "--jobs", 1, MAX_JOBS)
        searchers = parse_names(args.searchers, "--searchers", SEARCHERS, "searcher")
        datasets = [parse_dataset(d).value for d in (args.dataset or [Dataset.CIFAR10.value])]
        out = writable_dir(args.out if args.out is not None else str(_default_out()), "--out")
        specs = plan_runs(searchers, args.objective, datasets, range(seeds), budget)
        fetch_missing_data(args, dict.fromkeys(s.dataset for s in specs), args.data)
        if any(spec.searcher == "bo" for spec in specs):
            quiet_optuna(args.verbose)  # here, and in each worker (which copies the setting)
        oracles = load_oracles(specs, args.data)
        if args.strict_data:
            _check_pins(specs, args.data)
        with build_executor(args, jobs) as executor:
            print(f"comparison folder: {out} ({len(specs)} runs, {executor.engine} executor)",
                  file=sys.stderr)
            done = run_comparison(specs, out, progress=show_progress(args), oracles=oracles,
                                  executor=executor)
        print(f"ran {done.ran} runs, {done.skipped} already done, in {done.wall_seconds:.1f} s",
              file=sys.stderr)
    report = write_reports(out, checkpoints=checkpoints, metric=args.metric, log_x=args.log_x,
                           formats=formats)
    print(report.markdown())
    print(f"files in {out}:")
    for path in report.files:
        print(f"  {path.relative_to(out)}")
    return 0


def _existing_comparison(args: argparse.Namespace) -> Path:
    """``--from DIR``: an existing folder, and no option that only a new comparison takes."""
    if not args.from_dir.strip():
        raise RobnasError("--from needs a comparison folder, got ''")
    out = Path(args.from_dir)
    if not out.is_dir():
        raise RobnasError(f"--from {out}: {'not a folder' if out.exists() else 'no such folder'}")
    planning = [option for option, value in (("--objective", args.objective), ("--dataset", args.dataset),
                                             ("--out", args.out), ("--jobs", args.jobs)) if value is not None]
    if planning:
        raise RobnasError(f"--from only re-draws an existing comparison; {planning[0]} does not apply to it")
    return out


def _check_pins(specs: list, data: str | None) -> None:
    """``--strict-data``: read every file the runs use, refusing one that differs from its pin."""
    from robnas.benchmark import TabularOracle

    for dataset in dict.fromkeys(s.dataset for s in specs):
        oracle = TabularOracle(dataset, data=data, strict_data=True)
        for objective in dict.fromkeys(s.objective for s in specs if s.dataset == dataset):
            oracle.objective_values(objective)
            oracle.objective_values("clean")


def _default_out() -> Path:
    import datetime as dt

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"compare-{stamp}"
