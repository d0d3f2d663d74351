"""``robnas search`` with several objectives: multi-objective search (called by ``search_cmd``).

``robnas search -O pgd@1/255 -O clean`` (or ``-O pgd@1/255,clean``) searches for the Pareto
front of two or three objectives; ``-O params:min`` adds a cost (a ``:min``/``:max`` suffix sets
the direction; accuracies default to max, ``params`` and ``flops`` to min). It prints the front
of the evaluated cells, its hypervolume, the table's true front and hypervolume, the hypervolume
regret and the share of the true front's classes found, with the reference point used.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.errors import RobnasError
from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    import pandas as pd

    from robnas.multi_loop import MultiSearchResult

OPTUNA_SEARCHERS = ("nsga2", "motpe")
"""Multi-objective searchers built on Optuna (its log level is set once, as for ``bo``)."""


def wants_multi(args: argparse.Namespace) -> bool:
    """Whether the command line (or the run being resumed) is a multi-objective search."""
    if args.resume:
        from robnas.run_record import RunRecord

        return "objectives" in RunRecord.open(args.resume).config()
    objectives = args.objective or []
    return len(objectives) > 1 or any("," in o for o in objectives)


def run_multi(args: argparse.Namespace) -> int:
    """Run (or resume) a multi-objective search and print or ``--json`` its fronts."""
    from robnas.cli.common import print_json, quiet_optuna, show_progress
    from robnas.cli.executor_options import gpus_per_task
    from robnas.cli.outputs import run_folder, writable_dir
    from robnas.cli.search_cmd import DEFAULT_OUT, _build_searcher, build_oracle, recorded_params, run_figures
    from robnas.cli.workers_options import check_executor_options, live_executor, workers_line
    from robnas.multi_loop import run_multi_search
    from robnas.multi_objective import class_values, parse_objectives
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS

    resume = args.resume is not None
    settings = _resume_settings(args) if resume else _new_settings(args)
    check_executor_options(args, settings)
    if settings["searcher"] in OPTUNA_SEARCHERS:
        quiet_optuna(args.verbose)
    _build_searcher(settings["searcher"], settings["params"], MULTI_OBJECTIVE_SEARCHERS,
                    "multi-objective searcher")  # before data (the prior is checked below)
    out = None if resume else writable_dir(args.out if args.out is not None else DEFAULT_OUT, "--out")
    oracle = build_oracle(args, settings)
    if settings["mode"] == "tabular":  # read (and check) every file the run uses before it starts
        for objective in parse_objectives(settings["objectives"]):
            class_values(oracle, objective)
    # a prior (prior=DATASET) is resolved against the oracle before anything is written
    searcher = _build_searcher(settings["searcher"], settings["params"], MULTI_OBJECTIVE_SEARCHERS,
                               "multi-objective searcher", oracle=oracle,
                               objective=settings["objective"])
    resumed = Path(args.resume) if resume else None
    with run_folder(out, _run_id(settings), resume=resumed) as run_dir, live_executor(args, settings) as executor:
        result = run_multi_search(searcher, oracle, settings["objectives"], settings["budget"],
                                  record_dir=run_dir, resume=resume, progress=show_progress(args),
                                  workers=settings["workers"], executor=executor,
                                  gpus_per_task=gpus_per_task(args))
    true_front = None if result.problem is None else result.problem.true_front()
    figures = run_figures(run_dir) if args.plot else []
    if args.json:
        settings.pop("recorded_oracle", None)
        settings["params"] = recorded_params(run_dir)
        print_json({**settings, "dataset": oracle.dataset.value, **result.summary(),
                    **({"figures": [str(path) for path in figures]} if args.plot else {})})
    else:
        _print(result, settings, true_front)
        if result.workers > 1:
            print(workers_line(result, settings))
        for path in figures:
            print(f"figure          {path}")
    return 0


def _new_settings(args: argparse.Namespace) -> dict[str, Any]:
    from robnas.cli.search_cmd import DEFAULT_BUDGET, DEFAULT_MULTI_SEARCHER, _budget, _parse_params, _seed, _workers
    from robnas.multi_objective import label, parse_objectives

    if args.min_clean is not None:
        raise RobnasError("--min-clean is for single-objective search; add -O clean instead")
    objectives = parse_objectives(args.objective)
    _refuse_cost_limits(args, [str(o) for o in objectives])
    name = args.searcher or DEFAULT_MULTI_SEARCHER
    seed = _seed(args.seed) if args.seed is not None else secrets.randbelow(2**31)
    return {
        "searcher": name,
        "params": {**_parse_params(args.param), "seed": seed},
        "objective": label(objectives),
        "objectives": [str(o) for o in objectives],
        "dataset": parse_dataset(args.dataset if args.dataset is not None else Dataset.CIFAR10).value,
        "seed": seed,
        "budget": _budget(args.budget) if args.budget is not None else DEFAULT_BUDGET,
        "min_clean": None,
        "mode": args.mode or "tabular",
        "workers": _workers(args.workers) if args.workers is not None else 1,
    }


def _resume_settings(args: argparse.Namespace) -> dict[str, Any]:
    from robnas.cli.search_cmd import _seed, _workers, apply_resume_options, recorded_settings
    from robnas.multi_objective import label, parse_objectives

    settings = recorded_settings(args.resume, multi_objective=True)
    if args.min_clean is not None:
        raise RobnasError("--min-clean is for single-objective search; the run being resumed has "
                          f"objectives {settings['objective']}")
    _refuse_cost_limits(args, list(settings.get("objectives") or []))
    objectives = None
    if args.objective:
        try:
            objectives = label(parse_objectives(args.objective))
        except RobnasError:  # e.g. one objective: not this run's, whatever else is wrong with it
            objectives = " -O ".join(args.objective)
    given = {
        "objective": objectives,
        "searcher": args.searcher, "mode": args.mode,
        "dataset": parse_dataset(args.dataset).value if args.dataset is not None else None,
        "seed": None if args.seed is None else _seed(args.seed),
        "workers": None if args.workers is None else _workers(args.workers),
    }
    return apply_resume_options(args, settings, given)


def _refuse_cost_limits(args: argparse.Namespace, objectives: list[str]) -> None:
    """``--max-params``/``--max-flops`` constrain one objective; with several, costs are objectives
    (``objectives``: the run's, as texts such as ``params:min``)."""
    for key in ("max_params", "max_flops"):
        if getattr(args, key, None) is not None:
            option, cost = f"--{key.replace('_', '-')}", key[4:]
            if cost in {text.partition(":")[0] for text in objectives}:
                raise RobnasError(f"{option} is for single-objective search; here {cost} is already an "
                                  f"objective, traded off on the front")
            raise RobnasError(f"{option} is for single-objective search; add -O {cost}:min to trade "
                              f"it off instead")


def _run_id(settings: dict[str, Any]) -> str:
    """The new run's folder name (its objectives joined by ``+``)."""
    from robnas.run_record import new_run_id

    return new_run_id(settings["searcher"], settings["objective"].replace(",", "+"), settings["seed"])


def _table(frame: pd.DataFrame) -> str:
    """The index and objective columns as pandas prints them, then the NB201 strings left-aligned
    (pandas right-aligns text, which leaves a ragged column of strings of different lengths)."""
    columns = ["index", *[c for c in frame.columns if c not in ("arch", "index")]]
    numbers = frame[columns].to_string(index=False, float_format=lambda x: f"{x:.4g}").splitlines()
    return "\n".join(f"{row}  {arch}" for row, arch in zip(numbers, ["arch", *frame["arch"]], strict=True))


def _print(result: MultiSearchResult, settings: dict[str, Any], true_front: pd.DataFrame | None) -> None:
    directions = ", ".join(f"{o.name} ({'max' if o.maximize else 'min'})" for o in result.objectives)
    print(f"searcher        {settings['searcher']} (seed {settings['seed']}), "
          f"{result.n_evaluations} distinct cells evaluated")
    print(f"objectives      {directions} on {settings['dataset']}")
    print(f"front found     {len(result.front)} cells")
    print(_indent(_table(result.front)))
    if result.hypervolume is not None and result.reference_point is not None:
        reference = ", ".join(f"{x:.4g}" for x in result.reference_point)
        flat = [] if true_front is None else [o.name for o in result.objectives
                                              if true_front[o.name].nunique() == 1]
        rule = "range" if not flat else f"range ({', '.join(flat)}: of its value, the range being 0)"
        print(f"hypervolume     {result.hypervolume:.4g} (reference point ({reference}): the true "
              f"front's nadir moved outward by 10% of each objective's {rule})")
    if true_front is not None and result.true_hypervolume:
        classes = "class" if result.true_front_size == 1 else "classes"
        print(f"true front      {result.true_front_size} {classes}, hypervolume {result.true_hypervolume:.4g}")
        print(_indent(_table(true_front)))
        share = 100.0 * (result.regret or 0.0) / result.true_hypervolume
        print(f"regret          {result.regret:.4g} ({share:.1f}% of the true hypervolume)")
        print(f"found           {result.true_front_found} of the {result.true_front_size} "
              f"true-front classes ({100.0 * (result.share_found or 0.0):.0f}%)")
    print(f"run record      {result.record_dir}")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
