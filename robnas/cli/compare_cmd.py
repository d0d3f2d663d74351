"""``robnas compare``: run several searchers over many seeds and report them side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robnas.cli.common import add_data_options, add_quiet_option, quiet_optuna, show_progress
from robnas.errors import RobnasError

DEFAULT_SEARCHERS = "random,re,ls,bo"
DEFAULT_CHECKPOINTS = "10,25,50,100,300"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare searchers over many seeds: anytime plots, summary, ranking",
        description=(
            "Run every searcher, objective, dataset and seed in parallel processes (one run record "
            "each, under OUT/runs), then write the trajectories (Parquet), a summary at "
            "checkpoints (Markdown, CSV), a ranking with Friedman and Holm-corrected Wilcoxon "
            "tests, and anytime plots with 95% bands. Re-running with the same --out resumes: "
            "finished runs are not repeated. --from DIR only re-draws tables and figures."
        ),
        epilog=(
            "examples:\n"
            "  robnas compare -O pgd@1/255 -O clean --seeds 50 --budget 300 --out runs/cmp\n"
            "  robnas compare --from runs/cmp --metric regret --log-x --formats png,pdf"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--objective", "-O", action="append", metavar="O",
                        help="objective to compare on, e.g. pgd@1/255 (repeat for several)")
    add_data_options(parser, dataset=False)
    parser.add_argument("--dataset", action="append", metavar="D",
                        help="dataset (repeat for several; default: cifar10)")
    parser.add_argument("--searchers", default=DEFAULT_SEARCHERS, metavar="LIST",
                        help="comma-separated searchers (default: %(default)s)")
    parser.add_argument("--seeds", default="50", metavar="N",
                        help="seeds 0..N-1 per searcher (default: %(default)s)")
    parser.add_argument("--budget", default="300", metavar="N",
                        help="distinct architectures per run (default: %(default)s)")
    parser.add_argument("--jobs", "-j", metavar="N",
                        help="worker processes (default: all CPUs)")
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
    from robnas.compare import (
        ComparisonError,
        load_oracles,
        plan_runs,
        run_comparison,
        write_reports,
    )
    from robnas.compare.plots import FORMATS

    formats = _names(args.formats, "--formats")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ComparisonError(f"unknown figure format {bad[0]!r}; choose from {', '.join(FORMATS)}")
    checkpoints = _ints(args.checkpoints, "--checkpoints")
    if args.from_dir:
        out = Path(args.from_dir)
        if not out.is_dir():
            raise ComparisonError(f"--from {out}: no such folder")
    else:
        if not args.objective:
            raise ComparisonError("give at least one --objective (or --from DIR to re-draw)")
        seeds = _int(args.seeds, "--seeds")
        budget = _int(args.budget, "--budget")
        jobs = None if args.jobs is None else _int(args.jobs, "--jobs")
        specs = plan_runs(_names(args.searchers, "--searchers"), args.objective,
                          args.dataset or ["cifar10"], range(seeds), budget)
        if any(spec.searcher == "bo" for spec in specs):
            quiet_optuna(args.verbose)  # here, and in each worker (which copies the setting)
        oracles = load_oracles(specs, args.data)
        out = Path(args.out) if args.out else _default_out()
        print(f"comparison folder: {out} ({len(specs)} runs)", file=sys.stderr)
        done = run_comparison(specs, out, jobs=jobs, progress=show_progress(args), oracles=oracles)
        print(f"ran {done.ran} runs, {done.skipped} already done, in {done.wall_seconds:.1f} s",
              file=sys.stderr)
    report = write_reports(out, checkpoints=checkpoints, metric=args.metric, log_x=args.log_x,
                           formats=formats)
    print(report.markdown())
    print(f"files in {out}:")
    for path in report.files:
        print(f"  {path.relative_to(out)}")
    return 0


def _default_out() -> Path:
    import datetime as dt

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"compare-{stamp}"


def _names(text: str, option: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise RobnasError(f"{option} needs a comma-separated list, got {text!r}")
    return names


def _int(text: str, option: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise RobnasError(f"{option} needs a whole number, got {text!r}") from None
    if value < 1:
        raise RobnasError(f"{option} must be at least 1, got {value}")
    return value


def _ints(text: str, option: str) -> list[int]:
    return [_int(part, option) for part in _names(text, option)]
