"""``robnas compare``: run several searchers over many seeds and report them side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robnas.cli.common import add_data_options
from robnas.errors import RobnasError

DEFAULT_SEARCHERS = "random,re,ls,bo"
DEFAULT_MULTI_SEARCHERS = "random,nsga2,pls,parego"
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
            "  robnas compare --from runs/cmp --metric regret --log-x --formats png,pdf\n"
            "  robnas compare -O pgd@1/255 -O clean --multi --seeds 100 --out runs/mo\n"
            "  robnas compare -O pgd@1/255,clean -O pgd@1/255,params:min --seeds 100\n"
            "\n"
            "multi-objective: --multi makes all -O one objective group (2 or 3 objectives), or\n"
            "give each group as one comma-separated -O; a :min/:max suffix sets a direction\n"
            "(accuracies default to max, params/flops to min). Runs then report the front's share\n"
            "of the true front's hypervolume (reference point: the true front's nadir moved out\n"
            "by 10% of each range), the plots show the hypervolume regret, fronts.md the share of\n"
            "true-front classes found and figures/fronts-* the true front vs the median runs.\n"
            f"Default multi-objective searchers: {DEFAULT_MULTI_SEARCHERS}."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--objective", "-O", action="append", metavar="O",
                        help="objective to compare on, e.g. pgd@1/255 (repeat for several)")
    add_data_options(parser, dataset=False)
    parser.add_argument("--dataset", action="append", metavar="D",
                        help="dataset (repeat for several; default: cifar10)")
    parser.add_argument("--multi", action="store_true",
                        help="all -O together form one multi-objective problem")
    parser.add_argument("--searchers", metavar="LIST",
                        help=f"comma-separated searchers (default: {DEFAULT_SEARCHERS}; "
                             f"multi-objective: {DEFAULT_MULTI_SEARCHERS})")
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
    parser.add_argument("--metric", choices=("value", "regret"),
                        help="what the plots show (default: value; multi-objective: regret)")
    parser.add_argument("--log-x", action="store_true", help="log-scaled x axis in the plots")
    parser.add_argument("--formats", default="png", metavar="LIST",
                        help="figure formats among png,svg,pdf (default: %(default)s)")
    parser.add_argument("--checkpoints", default=DEFAULT_CHECKPOINTS, metavar="LIST",
                        help="summary checkpoints, clipped to the budget (default: %(default)s)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
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
        objectives = [",".join(args.objective)] if args.multi else args.objective
        multi = args.multi or any("," in o for o in objectives)
        searchers = args.searchers or (DEFAULT_MULTI_SEARCHERS if multi else DEFAULT_SEARCHERS)
        specs = plan_runs(_names(searchers, "--searchers"), objectives,
                          args.dataset or ["cifar10"], range(seeds), budget)
        oracles = load_oracles(specs, args.data)
        out = Path(args.out) if args.out else _default_out()
        print(f"comparison folder: {out} ({len(specs)} runs)", file=sys.stderr)
        done = run_comparison(specs, out, jobs=jobs, progress=not args.quiet, oracles=oracles)
        print(f"ran {done.ran} runs, {done.skipped} already done, in {done.wall_seconds:.1f} s",
              file=sys.stderr)
    metric = args.metric or ("regret" if _is_multi_folder(out) else "value")
    report = write_reports(out, checkpoints=checkpoints, metric=metric, log_x=args.log_x,
                           formats=formats)
    print(report.markdown())
    print(f"files in {out}:")
    for path in report.files:
        print(f"  {path.relative_to(out)}")
    return 0


def _is_multi_folder(out: Path) -> bool:
    """Whether the comparison in ``out`` is multi-objective (its plan names objective groups)."""
    import json

    from robnas.compare.plan import PLAN_FILE

    try:
        plan = json.loads((out / PLAN_FILE).read_text(encoding="utf-8"))
        return any("," in o for o in plan.get("objectives", []))
    except (OSError, ValueError, AttributeError):
        return False


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
