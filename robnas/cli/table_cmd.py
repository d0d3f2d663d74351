"""``robnas table``: export the released values of every cell for chosen objectives."""

from __future__ import annotations

import argparse
import sys

from robnas.cli.common import add_data_options, add_objective_option
from robnas.errors import RobnasError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "table",
        help="export all 15,625 cells with their values as CSV or Parquet",
        description=(
            "One row per NB201 index (15,625): nb201_index, arch string, representative index, and "
            "one column per objective (isomorphs repeat their representative's value)."
        ),
        epilog="example:\n  robnas table -O clean -O pgd@1/255 --format parquet -o cifar10.parquet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_objective_option(parser, multiple=True)
    add_data_options(parser)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="output format (default: %(default)s)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="output file (default: stdout for csv; required for parquet)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.benchmark import TabularOracle

    if args.format == "parquet" and not args.output:
        raise RobnasError("--format parquet needs -o FILE (Parquet is binary)")
    oracle = TabularOracle(args.dataset, data=args.data)
    for objective in args.objective:
        oracle.validate(objective)
    frame = oracle.dataframe(args.objective).reset_index()  # the NB201 index as a column
    write_frame(frame, args.format, args.output)
    return 0


def write_frame(frame, fmt: str, output: str | None) -> None:
    """Write a DataFrame as CSV (stdout when no path) or Parquet, atomically for files."""
    import os
    import tempfile
    from pathlib import Path

    if output is None:
        frame.to_csv(sys.stdout, index=False)
        return
    target = Path(output)
    if not target.parent.exists():
        raise RobnasError(f"cannot write {target}: folder {target.parent} does not exist")
    handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(handle)
    try:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"wrote {len(frame)} rows to {target}", file=sys.stderr)
