"""``robnas query``: one cell's value on an objective, with its class, rank and the optimum."""

from __future__ import annotations

import argparse

from robnas.cli.common import (
    add_data_options,
    add_objective_option,
    add_offline_option,
    fetch_missing_data,
    fmt_accuracy,
    print_json,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query",
        help="look up one architecture in the released table",
        description=(
            "Print the released value of ARCH on an objective, its isomorphism representative, "
            "its rank among the 6,466 classes and the table's optimum."
        ),
        epilog=(
            "examples:\n"
            "  robnas query 13433 --objective pgd@1/255\n"
            "  robnas query '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
            "nor_conv_3x3~1|nor_conv_3x3~2|' -O clean --dataset ImageNet16-120 --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("arch", metavar="ARCH", help="an NB201 string or an NB201 index (0..15624)")
    add_objective_option(parser)
    add_data_options(parser)
    add_offline_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.benchmark import TabularOracle
    from robnas.objective import Objective

    fetch_missing_data(args, args.dataset, args.data)
    oracle = TabularOracle(args.dataset, data=args.data, strict_data=args.strict_data)
    objective = Objective.parse(args.objective)
    oracle.validate(objective)
    arch = oracle.parse_arch(args.arch)
    evaluation = oracle.evaluate([arch], objective)
    index = oracle.index_of(arch)
    representative = oracle.representative_index(arch)
    result = {
        "arch": arch.to_string(),
        "index": index,
        "representative": representative,
        "dataset": oracle.dataset.value,
        "objective": str(objective),
        "value": float(evaluation.values[0]),
        "clean": float(evaluation.clean[0]),
        "rank": oracle.rank(arch, objective),
        "classes": len(oracle.meta.representatives),
        "optimum": oracle.optimum(objective),
        "optimal_indices": oracle.best_indices(objective)[:10],
    }
    if args.json:
        print_json(result)
        return 0
    iso = "" if representative == index else f" (isomorph of {representative})"
    print(f"arch            {result['arch']}")
    print(f"index           {index}{iso}")
    print(f"dataset         {result['dataset']}")
    print(f"{result['objective']:<15} {fmt_accuracy(result['value'])}")
    if result["objective"] != "clean":
        print(f"clean           {fmt_accuracy(result['clean'])}")
    print(f"rank            {result['rank']} of {result['classes']} classes")
    best = ", ".join(str(i) for i in result["optimal_indices"])
    print(f"table optimum   {fmt_accuracy(result['optimum'])} (index {best})")
    return 0
