"""``robnas table``: export the released values of every cell for chosen objectives.

``robnas table build`` (:mod:`robnas.cli.table_build_cmd`) writes a new table instead.
"""

from __future__ import annotations

import argparse

from robnas.cli import table_build_cmd
from robnas.cli.common import (
    HelpFormatter,
    add_data_options,
    add_objective_option,
    add_offline_option,
    distinct_objectives,
    fetch_missing_data,
)
from robnas.errors import RobnasError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "table",
        help="export all 15,625 cells with their values as CSV or Parquet",
        description=(
            "One row per NB201 index (15,625): nb201_index, arch string, representative index,\n"
            "and one column per objective. An accuracy is the released value of the cell's class\n"
            "(isomorphs repeat their representative's); a cost (params, flops) is the cell's own\n"
            "(a convolution on an edge that never reaches the output still has weights)."
        ),
        epilog=(
            "examples:\n  robnas table -O clean -O pgd@1/255 --format parquet -o cifar10.parquet\n"
            "  robnas table build --help     (evaluate cells live into a new table)"
        ),
        formatter_class=HelpFormatter,
    )
    parser.action_hint = _objective_hint
    add_objective_option(parser, multiple=True)
    for action in parser._actions:  # required unless the `build` action is given (checked in run)
        if action.dest == "objective":
            action.required = False
    add_data_options(parser)
    add_offline_option(parser)
    parser.add_argument("--format", choices=("csv", "parquet"),
                        help="output format (default: from -o's suffix, .csv or .parquet; csv on stdout)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="output file (default: stdout for csv; required for parquet)")
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="table_action", metavar="ACTION", required=False)
    table_build_cmd.register(actions)


def _objective_hint(word: str) -> str | None:
    """``robnas table pgd@1/255`` (an objective where an action goes): say to name it with -O."""
    from robnas.multi_objective import DirectedObjective

    try:
        DirectedObjective.parse(word)
    except (RobnasError, ValueError):
        return None
    return f"to export it: robnas table -O {word}"


def run(args: argparse.Namespace) -> int:
    from robnas.benchmark import TabularOracle
    from robnas.cli.outputs import table_format, writable_file, write_frame

    if not args.objective:
        raise RobnasError("table needs --objective O (repeat for several), or the action `table build`")
    objectives = distinct_objectives(args.objective)
    output = writable_file(args.output, "-o")
    fmt = table_format(args.format, output)
    fetch_missing_data(args, args.dataset, args.data)
    oracle = TabularOracle(args.dataset, data=args.data, strict_data=args.strict_data)
    for objective in objectives:
        oracle.validate(objective)
    frame = oracle.dataframe(objectives).reset_index()  # the NB201 index as a column
    write_frame(frame, fmt, output)
    return 0
