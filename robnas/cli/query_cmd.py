"""``robnas query``: one cell's value on an objective, with its class, rank and the optimum."""

from __future__ import annotations

import argparse
import math

from robnas.cli.common import (
    HelpFormatter,
    add_data_options,
    add_objective_option,
    add_offline_option,
    distinct_objectives,
    fetch_missing_data,
    fmt_accuracy,
    print_json,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query",
        help="look up one architecture in the released table",
        description=(
            "Print the released value of ARCH on one or more objectives, its isomorphism\n"
            "representative, its rank among the 6,466 classes and the table's optimum. The cost\n"
            "metrics params (millions of parameters) and flops (millions of multiply-accumulates\n"
            "per image) are objectives too: the cell's own cost, as NAS-Bench-201 counts it; for\n"
            "them smaller is better, and the optimum is the smallest network."
        ),
        epilog=(
            "examples:\n"
            "  robnas query 13433 --objective pgd@1/255\n"
            "  robnas query 13433 -O pgd@1/255 -O params -O flops\n"
            "  robnas query '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
            "nor_conv_3x3~1|nor_conv_3x3~2|' -O clean --dataset ImageNet16-120 --json"
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("arch", metavar="ARCH", help="an NB201 string or an NB201 index (0..15624)")
    add_objective_option(parser, multiple=True)
    add_data_options(parser)
    add_offline_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.benchmark import TabularOracle

    fetch_missing_data(args, args.dataset, args.data)
    oracle = TabularOracle(args.dataset, data=args.data, strict_data=args.strict_data)
    objectives = distinct_objectives(args.objective)
    for objective in objectives:
        oracle.validate(objective)
    arch = oracle.parse_arch(args.arch)
    index = oracle.index_of(arch)
    representative = oracle.representative_index(arch)
    answers = [_answer(oracle, arch, objective) for objective in objectives]
    head = {
        "arch": arch.to_string(),
        "index": index,
        "representative": representative,
        "dataset": oracle.dataset.value,
        "clean": answers[0].pop("clean"),
        "classes": len(oracle.meta.representatives),
    }
    for answer in answers[1:]:
        answer.pop("clean")
    if args.json:
        print_json({**head, **answers[0]} if len(answers) == 1 else {**head, "objectives": answers})
        return 0
    iso = "" if representative == index else f" (isomorph of {representative})"
    width = max(15, *(len(answer["objective"]) for answer in answers))  # labels in one column

    def line(label: str, text: str) -> None:
        print(f"{label:<{width}} {text}")

    line("arch", head["arch"])
    line("index", f"{index}{iso}")
    line("dataset", head["dataset"])
    for answer in answers:
        line(answer["objective"], _shown(answer["value"], answer["cost"]))
    if "clean" not in [a["objective"] for a in answers] and not math.isnan(head["clean"]):
        line("clean", fmt_accuracy(head["clean"]))  # a table built without clean has none: no 'nan'
    for answer in answers:
        name = "" if len(answers) == 1 else f" on {answer['objective']}"
        order = " (smaller is better)" if answer["cost"] else ""
        line("rank", f"{answer['rank']} of {head['classes']} classes{name}{order}")
        best = ", ".join(str(i) for i in answer["optimal_indices"][:SHOWN_OPTIMA])
        if answer["optimal_count"] > SHOWN_OPTIMA:
            best += f", ... {answer['optimal_count'] - SHOWN_OPTIMA} more"
        label = "smallest" if answer["cost"] else "table optimum"
        line(label, f"{_shown(answer['optimum'], answer['cost'])}{name} (index {best})")
    return 0


SHOWN_OPTIMA = 10
"""Indices of optimal classes the text output lists (``--json`` has them all)."""


def _shown(value: float, cost: bool) -> str:
    """An accuracy as the release rounds it; a cost (millions) to 6 significant digits."""
    return f"{value:.6g}" if cost else fmt_accuracy(value)


def _answer(oracle, arch, objective) -> dict:
    """One objective's value, rank and optimum for ``arch`` (and the clean accuracy)."""
    evaluation = oracle.evaluate([arch], objective)
    return {
        "objective": str(objective),
        "value": float(evaluation.values[0]),
        "clean": float(evaluation.clean[0]),
        "cost": objective.is_cost,
        "rank": oracle.rank(arch, objective),
        "optimum": oracle.optimum(objective),
        "optimal_indices": oracle.best_indices(objective),
        "optimal_count": len(oracle.best_indices(objective)),
    }
