"""``robnas analyze``: the design analysis of one dataset as a report folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robnas.cli.common import (
    BooleanOnce,
    HelpFormatter,
    StoreOnce,
    add_data_options,
    add_offline_option,
    fetch_missing_data,
    print_json,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="how design choices affect robustness: distributions, correlations, equal cost, operations",
        description=(
            "Write a report folder on one dataset's table, over the 6,466 isomorphism classes: "
            "distributions of every objective (box plots), Kendall's tau and Spearman's rho between "
            "objectives and between datasets, networks of equal parameter count and FLOPs compared "
            "(the widest large group of each objective, with its extreme cells), the effect and "
            "enrichment among the top P% of every edge x operation and operation count, and the "
            "best 20 cells. Each section is a CSV table (Markdown where it is read) and a figure; "
            "summary.md is printed. Constant-output networks (clean accuracy at chance) are listed "
            "in degenerate.csv and left out of the equal-cost, operations and best-cells sections "
            "(at a large epsilon a constant output is often the 'best': 0.100 at pgd@8/255 on CIFAR-10)."
        ),
        epilog=(
            "examples:\n"
            "  robnas analyze --dataset cifar10 --out runs/analysis-cifar10\n"
            "  robnas analyze -O clean -O pgd@1/255 -O adversarial@mean --top-percent 10 --json"
        ),
        formatter_class=HelpFormatter,
    )
    add_data_options(parser, dataset_action=StoreOnce)
    add_offline_option(parser)
    parser.add_argument("--objective", "-O", action="append", metavar="O",
                        help="an objective to analyse (repeatable; default: every objective of the "
                             "table, each key at each point plus the means)")
    parser.add_argument("--out", action=StoreOnce, metavar="DIR",
                        help="report folder (default: runs/analysis-<dataset>)")
    parser.add_argument("--top-percent", action=StoreOnce, metavar="P", default="5",
                        help="enrichment compares the best P%% of classes with all, 0 < P <= 100 "
                             "(default: %(default)s)")
    parser.add_argument("--exclude-degenerate", action=BooleanOnce, default=True,
                        help="leave constant-output networks out of equal cost, operations and the best "
                             "cells (default: on; --no-exclude-degenerate keeps them)")
    parser.add_argument("--formats", action=StoreOnce, default="png", metavar="LIST",
                        help="figure formats among png,svg,pdf (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.analysis import other_datasets, write_report
    from robnas.benchmark import TabularOracle
    from robnas.cli.outputs import writable_dir
    from robnas.cli.values import parse_float, parse_names
    from robnas.compare.plots import FORMATS
    from robnas.vocabulary import parse_dataset

    top_percent = parse_float(args.top_percent, "--top-percent", 0.0, 100.0, low_open=True)
    formats = parse_names(args.formats, "--formats", FORMATS, "figure format")
    dataset = parse_dataset(args.dataset)
    out = writable_dir(args.out if args.out is not None else str(Path("runs") / f"analysis-{dataset.value}"),
                       "--out")
    _refuse_other_outputs(out)
    fetch_missing_data(args, dataset.value, args.data)
    oracle = TabularOracle(dataset, data=args.data, strict_data=args.strict_data)
    report = write_report(
        oracle, out, args.objective, top_percent=top_percent, exclude_degenerate=args.exclude_degenerate,
        formats=formats, others=other_datasets(oracle), progress=sys.stderr.isatty() and not args.json,
    )
    if args.json:
        print_json(report.summary())
        return 0
    print(report.markdown())
    print(f"{len(report.files)} files in {out} ({report.seconds:.1f} s)")
    return 0


def _refuse_other_outputs(out: Path) -> None:
    """Refuse an ``--out`` folder that holds anything but an earlier analysis (a run record, a
    comparison, a user's files), whose files the report would overwrite."""
    import json

    from robnas.errors import OutputPathError

    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        earlier = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        earlier = None
    if not isinstance(earlier, dict) or "exclude_degenerate" not in earlier:
        raise OutputPathError(f"--out {out} holds other files (not an earlier analysis), which the "
                              "report would overwrite: choose a new or empty folder")
