"""``robnas verify``: the table's value next to a live re-evaluation, for a run's best cells.

Agreement test: the live value is measured on the first K test images, the table's on all of
them. With ``p`` the table's value, the live value of one (key, point) term is a proportion of
K images whose sampling standard error is ``sqrt(p (1 - p) / K)``; the two agree when
``|live - table| <= 1.96 * se`` (a two-sided 95 % band). The release rounds to 3 decimals, so
the true rate may lie :data:`TABLE_ROUNDING` either side of ``p``: the band is widened by it
and ``se`` is taken at the end of that range nearer 0.5 (a table value of 0.000 then allows a
correct image or two of 1,000 rather than none). For an objective that averages T
terms (``pgd@mean``, ``adversarial@mean``) the terms are measured on the same images and are
strongly correlated, so the tolerance is the mean of the terms' tolerances (the bound
for perfectly correlated terms, i.e. the most lenient). Exit code 0 when every cell agrees,
1 when some does not, 2 on an error.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from robnas.cli.common import DATASET_CHOICES, HelpFormatter, StoreOnce, add_data_options, print_json
from robnas.cli.executor_options import add_executor_options, build_executor, gpus_per_task
from robnas.cli.live_options import add_live_options, build_live_oracle
from robnas.cli.values import int_option
from robnas.errors import RobnasError
from robnas.vocabulary import Dataset, parse_dataset

Z = 1.96
"""Two-sided 95 % normal quantile of the agreement test."""
TABLE_ROUNDING = 0.0005
"""Half the last digit of the release's accuracies (rounded to 3 decimals)."""
DEFAULT_N_IMAGES = 1000
DEFAULT_TOP = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check table values against live attacks on the released weights",
        description=(
            "Re-evaluate a run's best architectures (or the given ones) live, on NATS-Bench's "
            "released weights and the real test images, and print table value, live value, "
            "their difference and whether they agree within the binomial sampling error of "
            "K images (|live - table| <= 0.0005 + 1.96 * sqrt(p (1 - p) / K), p = table value "
            "moved by its rounding, 0.0005, towards 0.5)."
        ),
        epilog=(
            "examples:\n"
            "  robnas verify runs/20260124-191150-re-pgd-1-255-s0 --weights ~/NATS-tss-v1_0-3ffb9-full \\\n"
            "      --images ~/datasets --n-images 1000 --device cuda\n"
            "  robnas verify --arch 13433 --arch 1462 -O pgd@1/255 --weights W --images I"
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="a run record folder")
    parser.add_argument("--arch", action="append", metavar="A",
                        help="an NB201 string or index to verify (repeat for several)")
    parser.add_argument("--objective", "-O", action=StoreOnce, metavar="O",
                        help="objective (default: the run's), e.g. pgd@1/255, clean, fog@3")
    parser.add_argument("--top", type=int_option(1), default=DEFAULT_TOP, metavar="N",
                        help="verify the run's N best cells (default: %(default)s)")
    add_live_options(parser, n_images_default=str(DEFAULT_N_IMAGES))
    add_data_options(parser, dataset=False)
    parser.add_argument("--dataset", metavar="D",
                        help=f"dataset: {', '.join(DATASET_CHOICES)} (default: the run's, else cifar10)")
    parser.add_argument("--jobs", "-j", type=int_option(1), default=1, metavar="N",
                        help="cells evaluated at once by local worker processes (default: 1, in this "
                             "process), or the CPUs of a local Ray instance")
    add_executor_options(parser, gpus=True)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.benchmark import TabularOracle
    from robnas.objective import Objective

    gpus_per_task(args)
    config, candidates = _candidates(args)
    dataset = parse_dataset(args.dataset if args.dataset is not None
                            else config.get("dataset") or Dataset.CIFAR10).value
    objective_text = args.objective if args.objective is not None else config.get("objective")
    if objective_text is None:
        raise RobnasError("verify needs --objective (or a RUN_DIR whose config names one)")
    objective = Objective.parse(objective_text)
    if objective.is_cost:  # refused before any folder is read: nothing live to compare
        raise RobnasError(f"{objective} is computed, not measured: nothing to verify live "
                          f"(see robnas query ARCH -O {objective})")
    n_images = args.n_images if args.n_images is not None else DEFAULT_N_IMAGES
    table = TabularOracle(dataset, data=args.data, strict_data=args.strict_data)
    terms = table.validate(objective)
    archs = [table.parse_arch(text) for text in candidates]  # all checked before live work starts
    live = build_live_oracle(args, dataset, n_images)
    live.validate(objective)
    spent = _prefill(args, live, archs, terms)
    rows = []
    for arch in archs:
        table_terms = [table.value(arch, str(term)) for term in terms]
        table_value = table.value(arch, objective)
        evaluation = live.evaluate([arch], objective)
        live_value = float(evaluation.values[0])
        tolerance = sum(agreement_tolerance(p, n_images) for p in table_terms) / len(terms)
        diff = live_value - table_value
        rows.append({
            "index": table.index_of(arch), "arch": arch.to_string(), "table": table_value,
            "live": live_value, "diff": diff, "n_images": n_images, "tolerance": tolerance,
            "agree": abs(diff) <= tolerance + 1e-12,
            "seconds": spent.get(live.meta.representative_of(table.index_of(arch)), float(evaluation.cost_seconds[0])),
        })
    if args.json:
        print_json({"objective": str(objective), "dataset": table.dataset.value, "n_images": n_images,
                    "device": live.device,
                    "test": f"|live - table| <= {TABLE_ROUNDING} + {Z} * se, se = sqrt(p(1-p)/K), "
                            f"p = table value moved {TABLE_ROUNDING} towards 0.5",
                    "rows": rows, "oracle": live.provenance()})
    else:
        _print_rows(rows, str(objective), table.dataset.value, n_images, live.device, len(terms))
    return 0 if all(r["agree"] for r in rows) else 1


def agreement_tolerance(p: float, k: int) -> float:
    """The largest ``|live - table|`` that agrees, for table value ``p`` and ``k`` live images.

    ``TABLE_ROUNDING + Z * sqrt(q (1 - q) / k)``, with ``q`` the table's value moved by its
    rounding towards 0.5 (the largest standard error the true rate allows), so ``p = 0`` or
    ``1`` gets a band, not zero.

    >>> agreement_tolerance(0.0, 1000) > 1 / 1000
    True
    """
    q = min(p + TABLE_ROUNDING, 0.5) if p < 0.5 else max(p - TABLE_ROUNDING, 0.5)
    return TABLE_ROUNDING + Z * math.sqrt(q * (1 - q) / k)


def _prefill(args: argparse.Namespace, live: Any, archs: list[Any], terms: Any) -> dict[int, float]:
    """With --executor ray or --jobs > 1: evaluate the cells as executor tasks first (into the
    store, written here only); the comparison then reads them from the store."""
    if args.executor == "local" and args.ray_address is None and args.jobs == 1:
        return {}  # in this process, as the live oracle evaluates
    from robnas.evaluation.cell_tasks import prefill

    with build_executor(args, args.jobs) as executor:
        return prefill(live, archs, terms, executor=executor, gpus_per_task=gpus_per_task(args))


def _candidates(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    if args.arch and args.run_dir:
        raise RobnasError("give a RUN_DIR or --arch, not both")
    if args.arch:
        return {}, list(args.arch)
    if not args.run_dir:
        raise RobnasError("verify needs a RUN_DIR or --arch A")
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        what = "a file" if run_dir.exists() else "no such folder"
        raise RobnasError(f"{run_dir} is not a run record folder ({what})")
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        lines = (run_dir / "trials.jsonl").read_bytes().splitlines()
    except FileNotFoundError as err:
        raise RobnasError(f"{run_dir} is not a run record ({Path(err.filename).name} is missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RobnasError(f"{run_dir}/config.json is not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise RobnasError(f"{run_dir}/config.json is not a run config (a JSON object)")
    if "objectives" in config:  # its trials hold vectors, no value to rank the cells by
        raise RobnasError(f"{run_dir} is a multi-objective run ({config.get('objective')}): verify checks "
                          "one objective; give the front's cells with --arch and the objective with -O")
    trials = []
    for number, line in enumerate(lines, start=1):
        try:
            trial = json.loads(line.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # a line cut short by a kill
        if not (isinstance(trial, dict) and isinstance(trial.get("arch"), str)
                and (trial.get("value") is None or _is_number(trial["value"]))):
            raise RobnasError(f"{run_dir}/trials.jsonl line {number}: not a trial of a run record "
                              "(an arch and a number value)")
        trials.append(trial)
    trials = [t for t in trials if t.get("feasible", True) and t.get("value") is not None]
    if not trials:
        raise RobnasError(f"{run_dir} holds no evaluated (feasible) cells")
    trials.sort(key=lambda t: -float(t["value"]))
    return config, [t["arch"] for t in trials[: args.top]]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _print_rows(rows: list[dict[str, Any]], objective: str, dataset: str, n_images: int,
                device: str, n_terms: int) -> None:
    print(f"{objective} on {dataset}: table (all test images) vs live (first {n_images} images, {device})")
    print(f"{'index':>6}  {'table':>7}  {'live':>7}  {'diff':>8}  {'images':>6}  {'±tol':>7}  agree  arch")
    for r in rows:
        print(f"{r['index']:>6}  {r['table']:>7.4f}  {r['live']:>7.4f}  {r['diff']:>+8.4f}  "
              f"{r['n_images']:>6}  {r['tolerance']:>7.4f}  {'yes' if r['agree'] else 'NO':<5}  {r['arch']}")
    mean = " (mean over the terms)" if n_terms > 1 else ""
    print(f"agree: |live - table| <= {TABLE_ROUNDING} + {Z} * sqrt(p (1 - p) / K){mean}, p = table value "
          f"moved {TABLE_ROUNDING} (its rounding) towards 0.5, K = {n_images}")
