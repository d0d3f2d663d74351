"""``robnas search``: run a searcher on an objective, write a run record, print what it found."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.cli.common import add_data_options, print_json
from robnas.cli.live_options import add_live_options, cost_line
from robnas.errors import RobnasError
from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    from robnas.loop import SearchResult
    from robnas.oracle import Oracle


def build_tabular_oracle(args: argparse.Namespace, settings: dict[str, Any]) -> Oracle:
    """The tabular oracle over the released table of ``settings["dataset"]``.

    The data root is ``--data``, else ``$ROBNAS_DATA``, else (when resuming) the root the run
    was recorded with if it still exists, else the per-user data dir. A resumed run checks the
    data checksums against its record either way.
    """
    from robnas.benchmark import TabularOracle

    data = args.data
    recorded = settings.get("recorded_oracle", {}).get("data_root")
    if data is None and not os.environ.get("ROBNAS_DATA") and recorded and Path(recorded).is_dir():
        data = recorded
    return TabularOracle(settings["dataset"], data=data)


def build_live_oracle(args: argparse.Namespace, settings: dict[str, Any]) -> Oracle:
    """The live oracle (released weights, real attacks) from ``--weights``, ``--images``, ..."""
    from robnas.cli.live_options import build_live_oracle as build

    return build(args, settings["dataset"], args.n_images, settings.get("recorded_oracle"))


ORACLE_BUILDERS: dict[str, Callable[[argparse.Namespace, dict[str, Any]], Oracle]] = {
    "tabular": build_tabular_oracle,
    "live": build_live_oracle,
}
"""``--mode`` name -> function ``(args, settings) -> Oracle``: the only mode-specific part of
this command (``settings`` holds the run's searcher, objective, dataset, seed, budget, min_clean,
mode and, when resuming, ``recorded_oracle``: the provenance stored in the record)."""

DEFAULT_SEARCHER = "re"
DEFAULT_BUDGET = 100


def build_oracle(args: argparse.Namespace, settings: dict[str, Any]) -> Oracle:
    """The oracle of ``settings["mode"]`` (see :data:`ORACLE_BUILDERS`)."""
    mode = settings["mode"]
    if mode not in ORACLE_BUILDERS:
        raise RobnasError(f"unknown mode {mode!r}; valid: {', '.join(ORACLE_BUILDERS)}")
    return ORACLE_BUILDERS[mode](args, settings)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search the space for the best architecture on an objective",
        description=(
            "Run a searcher until BUDGET distinct architectures (isomorphism classes) have been "
            "evaluated, write a run record (config.json, trials.jsonl, summary.json) under "
            "--out, and print the best architecture, its value, regret, rank and clean accuracy."
        ),
        epilog=(
            "examples:\n"
            "  robnas search --objective pgd@1/255 --searcher re --budget 300 --seed 0\n"
            "  robnas search -O pgd@8/255 --min-clean 0.8 --json\n"
            "  robnas search -O pgd@1/255 -O clean --searcher pls --budget 300   (Pareto front)\n"
            "  robnas search --resume runs/20260124-191150-re-pgd-1-255-s0 --budget 500"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--objective", "-O", action="append", metavar="O",
        help="what to maximise, e.g. pgd@8/255, clean, gaussian_noise@3, adversarial@mean; "
             "repeat (2 or 3) for multi-objective search, e.g. -O pgd@1/255 -O params:min "
             "(suffix :min/:max; accuracies default to max, params/flops to min)",
    )
    add_data_options(parser, dataset=False)
    parser.add_argument("--dataset", metavar="D",
                        help=f"dataset: {', '.join(d.value for d in Dataset)} (default: cifar10)")
    parser.add_argument("--searcher", metavar="NAME",
                        help=f"random, re, ls or bo (default: {DEFAULT_SEARCHER}); with several "
                             "objectives: random, nsga2, motpe, pls or parego (default: pls)")
    parser.add_argument("--budget", metavar="N",
                        help=f"distinct architectures to evaluate (default: {DEFAULT_BUDGET})")
    parser.add_argument("--seed", metavar="S", help="random seed (default: drawn and recorded)")
    parser.add_argument("--param", metavar="NAME=VALUE", action="append", default=[],
                        help="a searcher hyperparameter, e.g. variant=first (ls), sampler=gp (bo), "
                             "population_size=50 (re); repeatable")
    parser.add_argument("--min-clean", metavar="A",
                        help="only cells with clean accuracy >= A (in [0, 1]) may be the best")
    parser.add_argument("--out", metavar="DIR", default="runs",
                        help="folder for run records (default: %(default)s)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run in RUN_DIR (to its budget, or to --budget)")
    parser.add_argument("--mode", metavar="MODE",
                        help=f"how cells are evaluated: {', '.join(ORACLE_BUILDERS)} (default: tabular)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_live_options(parser.add_argument_group("live mode (--mode live)"), required=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.cli.search_multi import run_multi, wants_multi
    from robnas.loop import run_search
    from robnas.searchers import SEARCHERS

    if wants_multi(args):
        return run_multi(args)
    if args.objective:
        args.objective = args.objective[0]

    settings = _resume_settings(args) if args.resume else _new_settings(args)
    name = settings["searcher"]
    if name not in SEARCHERS:
        raise RobnasError(f"unknown searcher {name!r}; valid: {', '.join(SEARCHERS)}")
    searcher = _build_searcher(SEARCHERS[name], name, settings["params"])
    oracle = build_oracle(args, settings)
    run_dir = Path(args.resume) if args.resume else _new_run_dir(Path(args.out), settings)
    result = run_search(
        searcher,
        oracle,
        settings["objective"],
        settings["budget"],
        record_dir=run_dir,
        min_clean=settings["min_clean"],
        resume=bool(args.resume),
        progress=sys.stderr.isatty() and not args.json,
    )
    if args.json:
        settings.pop("recorded_oracle", None)
        print_json({**settings, "dataset": oracle.dataset.value, **result.summary(),
                    **({"cost_seconds": sum(t.get("cost_seconds") or 0 for t in result.trials),
                        "device": getattr(oracle, "device", None)} if settings["mode"] == "live" else {})})
    else:
        _print_result(result, settings)
        if settings["mode"] == "live":
            print(cost_line(result.trials, getattr(oracle, "device", "cpu")))
    return 0


def _new_settings(args: argparse.Namespace) -> dict[str, Any]:
    if not args.objective:
        raise RobnasError("search needs --objective (or --resume RUN_DIR)")
    name = args.searcher or DEFAULT_SEARCHER
    seed = _number(args.seed, "--seed", int) if args.seed is not None else secrets.randbelow(2**31)
    return {
        "searcher": name,
        "params": {**_parse_params(args.param), "seed": seed},
        "objective": args.objective,
        "dataset": parse_dataset(args.dataset or Dataset.CIFAR10).value,
        "seed": seed,
        "budget": _number(args.budget, "--budget", int) if args.budget else DEFAULT_BUDGET,
        "min_clean": _number(args.min_clean, "--min-clean", float) if args.min_clean else None,
        "mode": args.mode or "tabular",
    }


def _resume_settings(args: argparse.Namespace) -> dict[str, Any]:
    from robnas.run_record import RunRecord

    config = RunRecord.open(args.resume).config()
    try:
        settings = {
            "searcher": config["searcher"]["name"],
            "params": dict(config["searcher"]["params"]),
            "objective": config["objective"],
            "dataset": config["dataset"],
            "seed": config["seed"],
            "budget": config["budget"],
            "min_clean": config["min_clean"],
            "mode": config["mode"],
            "recorded_oracle": dict(config.get("oracle") or {}),
        }
    except (KeyError, TypeError):
        raise RobnasError(f"{args.resume}/config.json lacks the searcher, objective or budget") from None
    given = {"objective": args.objective, "searcher": args.searcher, "mode": args.mode,
             "dataset": parse_dataset(args.dataset).value if args.dataset else None}
    given["seed"] = None if args.seed is None else _number(args.seed, "--seed", int)
    given["min_clean"] = None if args.min_clean is None else _number(args.min_clean, "--min-clean", float)
    for key, value in given.items():
        if value is not None and value != settings[key]:
            raise RobnasError(f"--{key.replace('_', '-')} {value} conflicts with the run being "
                              f"resumed ({settings[key]}); leave it out")
    for key, value in _parse_params(args.param).items():
        if settings["params"].get(key) != value:
            raise RobnasError(f"--param {key}={value} conflicts with the run being resumed "
                              f"({key}={settings['params'].get(key)}); leave it out")
    if args.budget:
        settings["budget"] = _number(args.budget, "--budget", int)
    return settings


def _parse_params(items: list[str]) -> dict[str, Any]:
    """``["variant=first", "num_init=5"]`` -> ``{"variant": "first", "num_init": 5}``."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise RobnasError(f"--param needs NAME=VALUE, got {item!r}")
        if key == "seed":
            raise RobnasError("give the seed with --seed, not --param")
        for kind in (int, float):
            try:
                params[key] = kind(text)
                break
            except ValueError:
                continue
        else:
            params[key] = {"true": True, "false": False, "none": None}.get(text.lower(), text)
    return params


def _build_searcher(cls: type, name: str, params: dict[str, Any]) -> Any:
    """``cls(**params)``, with bad parameters reported as one-line errors before anything runs."""
    from robnas.searchers import get_params

    valid = [key for key in get_params(cls()) if key != "seed"]
    unknown = sorted(set(params) - set(valid) - {"seed"})
    if unknown:
        raise RobnasError(f"searcher {name} has no parameter {unknown[0]!r}; "
                          f"valid: {', '.join(valid)}")
    try:  # constructors do no work: the first ask() validates the parameters
        cls(**params).ask()
    except (TypeError, ValueError) as err:
        raise RobnasError(f"bad --param for searcher {name}: {err}") from None
    return cls(**params)


def _new_run_dir(out: Path, settings: dict[str, Any]) -> Path:
    """``out/<run-id>``, with ``-2``, ``-3``, ... appended if that folder exists already."""
    from robnas.objective import Objective
    from robnas.run_record import new_run_id

    run_id = new_run_id(settings["searcher"], str(Objective.parse(settings["objective"])),
                        settings["seed"])
    candidate, number = out / run_id, 1
    while candidate.exists():
        number += 1
        candidate = out / f"{run_id}-{number}"
    return candidate


def _number(text: str, option: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise RobnasError(f"{option} needs a{'n integer' if kind is int else ' number'}, "
                          f"got {text!r}") from None


def _print_result(result: SearchResult, settings: dict[str, Any]) -> None:

    objective = settings["objective"]
    print(f"searcher        {settings['searcher']} (seed {settings['seed']}), "
          f"{result.n_evaluations} distinct cells evaluated")
    if result.best_arch is None:
        print(f"no cell with clean accuracy >= {settings['min_clean']} was found; "
              "lower --min-clean or raise --budget")
    else:
        index = "" if result.best_index is None else f"  (index {result.best_index})"
        print(f"best arch       {result.best_arch.to_string()}{index}")
        print(f"{objective:<15} {result.best_value:.4g}")
        if result.regret is not None and result.optimum is not None:
            where = "feasible optimum" if settings["min_clean"] is not None else "table optimum"
            print(f"regret          {result.regret:.4g} (to the {where} {result.optimum:.4g})")
        if result.rank is not None:
            print(f"rank            {result.rank} of 6466 classes")
        if result.best_clean is not None:
            print(f"clean           {result.best_clean:.4g}")
    print(f"run record      {result.record_dir}")
    if result.best_arch is not None and (result.at_chance or result.constant_output):
        print(_chance_note(result, settings["min_clean"]))


def _chance_note(result: SearchResult, min_clean: float | None) -> str:
    from robnas.loop import CHANCE_TOLERANCE

    chance = f"{result.chance:.3g}"
    if result.constant_output:
        what = (f"the best cell has clean accuracy {result.best_clean:.3g}, i.e. chance "
                f"({chance}): it outputs a constant, and a constant output is 'robust' only "
                "because an attack cannot change it")
    else:
        what = f"the best value {result.best_value:.3g} is at or below chance level ({chance})"
    if min_clean is None:
        advice = "Constrain the search with --min-clean (e.g. --min-clean 0.8) or use"
    elif result.optimum is not None and result.chance is not None and (
        result.optimum <= result.chance + CHANCE_TOLERANCE
    ):
        advice = (f"No cell with clean accuracy >= {min_clean:g} beats chance on this objective "
                  f"(feasible optimum {result.optimum:.3g}); use")
    else:
        advice = "Raise --budget, lower --min-clean, or use"
    return f"note: {what}. {advice} a smaller epsilon (e.g. pgd@1/255)."
