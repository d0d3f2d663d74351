"""``robnas search``: run a searcher on an objective, write a run record, print what it found."""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.arch import CLASS_COUNT
from robnas.cli.common import (
    HelpFormatter,
    StoreOnce,
    add_data_options,
    add_offline_option,
    add_quiet_option,
    fetch_missing_data,
    fmt_accuracy,
    print_json,
    quiet_optuna,
    show_progress,
)
from robnas.cli.executor_options import add_executor_options, gpus_per_task
from robnas.cli.live_options import add_live_options, cost_line
from robnas.cli.values import param_text, parse_float, parse_int, parse_param
from robnas.cli.workers_options import check_executor_options, live_executor, workers_line
from robnas.errors import (
    InvalidParameterError,
    InvalidSearcherError,
    PriorError,
    RobnasError,
    ScoresNotGivenError,
)
from robnas.schedule import MAX_WORKERS
from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, SEARCHERS
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
    fetch_missing_data(args, settings["dataset"], data)
    return TabularOracle(settings["dataset"], data=data, strict_data=args.strict_data)


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
DEFAULT_MULTI_SEARCHER = "hvi"
"""With several objectives: the lowest regret measured on three of the four objective groups and
level with ParEGO on the fourth (README, multi-objective search)."""
DEFAULT_BUDGET = 100
MAX_COST = 10_000.0
"""Upper end of --max-params and --max-flops (millions; the largest NB201 network has 220 MFLOPs)."""
DEFAULT_OUT = "runs"


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
            "  robnas search -O pgd@1/255 --searcher predictor --budget 100\n"
            "  robnas search -O clean --searcher bo --storage sqlite:///optuna.db\n"
            "  robnas search -O pgd@1/255 --max-params 0.5 --max-flops 60\n"
            "  robnas search -O pgd@1/255 -O clean --budget 300 --plot   (Pareto front, front.png)\n"
            "  robnas search -O pgd@1/255 --searcher bo --workers 8   (simulated 8 workers)\n"
            "  robnas search --mode live -O pgd@1/255 --workers 4 --weights W --images I\n"
            "  robnas search --resume runs/20260124-191150-re-pgd-1-255-s0 --budget 500"
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--objective", "-O", action="append", metavar="O",
        help="what to maximise, e.g. pgd@8/255, clean, gaussian_noise@3, adversarial@mean; "
             "repeat (2 or 3) for multi-objective search, e.g. -O pgd@1/255 -O params:min "
             "(suffix :min/:max; accuracies default to max, params/flops to min)",
    )
    add_data_options(parser, dataset_default=None, dataset_action=StoreOnce)
    add_offline_option(parser)
    parser.add_argument("--searcher", action=StoreOnce, metavar="NAME",
                        choices=tuple(dict.fromkeys([*SEARCHERS, *MULTI_OBJECTIVE_SEARCHERS])),
                        help=f"{', '.join(SEARCHERS)} (default: {DEFAULT_SEARCHER}); with several "
                             f"objectives: {', '.join(MULTI_OBJECTIVE_SEARCHERS)} (default: "
                             f"{DEFAULT_MULTI_SEARCHER})")
    parser.add_argument("--budget", action=StoreOnce, metavar="N",
                        help=f"distinct architectures (isomorphism classes) to evaluate, 1..{CLASS_COUNT} "
                             f"(default: {DEFAULT_BUDGET})")
    parser.add_argument("--seed", action=StoreOnce, metavar="S",
                        help="random seed, 0..2**32-1 (default: drawn and recorded)")
    parser.add_argument("--param", metavar="NAME=VALUE", action="append", default=[],
                        help="a searcher hyperparameter, e.g. variant=best (ls), sampler=gp (bo), "
                             "population_size=50 (re), prior=params (predictor), warmup=FILE.csv "
                             "(re, ls, bo: scores by index or arch), prior=imagenet16-120 (another "
                             "dataset's table of the same objective, or DATASET/OBJECTIVE); "
                             "repeatable, or several joined by commas (surrogate=gp,ucb=1); "
                             "checked before anything runs")
    parser.add_argument("--min-clean", action=StoreOnce, metavar="A",
                        help="only cells with clean accuracy >= A (in [0, 1]) may be the best")
    parser.add_argument("--max-params", action=StoreOnce, metavar="M",
                        help="only cells with at most M million parameters may be the best "
                             "(NB201's count; see robnas query ARCH -O params)")
    parser.add_argument("--max-flops", action=StoreOnce, metavar="M",
                        help="only cells with at most M million FLOPs (multiply-accumulates per "
                             "image) may be the best")
    parser.add_argument("--out", action=StoreOnce, metavar="DIR",
                        help=f"folder for run records (default: {DEFAULT_OUT}; not with --resume)")
    parser.add_argument("--resume", action=StoreOnce, metavar="RUN_DIR",
                        help="continue the run in RUN_DIR (to its budget, or to --budget)")
    parser.add_argument("--mode", action=StoreOnce, choices=tuple(ORACLE_BUILDERS), metavar="MODE",
                        help=f"how cells are evaluated: {', '.join(ORACLE_BUILDERS)} (default: tabular)")
    parser.add_argument("--storage", action=StoreOnce, metavar="URL",
                        help="bo only: keep the Optuna study in this storage, e.g. "
                             "sqlite:///optuna.db (study name = the run id), for "
                             "optuna-dashboard")
    parser.add_argument("--workers", action=StoreOnce, metavar="N",
                        help=f"evaluations kept in flight, 1..{MAX_WORKERS} (default: 1). Live: N "
                             "worker processes (or Ray tasks with --executor ray) evaluate while "
                             "the searcher proposes the next cells; tabular: the same asynchronous "
                             "schedule simulated with each cell's FLOPs as its cost (prints the "
                             "simulated makespan). Not changeable on --resume")
    parser.add_argument("--plot", action="store_true",
                        help="also draw the run into its record folder: anytime.png (one objective: "
                             "every value and the best so far, against the optimum) or front.png "
                             "(several: the cells evaluated, the front found, the true front)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_quiet_option(parser)
    live = parser.add_argument_group("live mode (--mode live)")
    add_live_options(live, required=False)
    add_executor_options(live, gpus=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.cli.outputs import run_folder, writable_dir
    from robnas.cli.search_multi import run_multi, wants_multi
    from robnas.loop import check_reachable, run_search

    resume = args.resume is not None
    if resume and args.out is not None:
        raise RobnasError("--out does not apply to --resume (the run stays in RUN_DIR); leave it out")
    if resume and not args.resume.strip():
        raise RobnasError("--resume needs a run record folder, got ''")
    if args.plot:
        check_plotting()
    if wants_multi(args):
        if args.storage is not None:
            raise RobnasError("--storage keeps the study of the single-objective bo searcher; "
                              "leave it out of a multi-objective search")
        return run_multi(args)
    if args.objective is not None:  # one objective (several only reach here to resume a
        args.objective = ",".join(args.objective)  # single-objective run: a conflict, named)
    settings = _resume_settings(args) if resume else _new_settings(args)
    if settings["searcher"] not in SEARCHERS and settings["searcher"] in MULTI_OBJECTIVE_SEARCHERS:
        raise RobnasError(f"searcher {settings['searcher']} is multi-objective: give 2 or 3 objectives "
                          f"(e.g. -O pgd@1/255 -O clean), or use one of {', '.join(SEARCHERS)}")
    check_executor_options(args, settings)
    if settings["searcher"] == "bo":
        quiet_optuna(args.verbose)
    if args.storage is not None:
        _add_storage(settings, args.storage)
    storage_option = "--param" if args.storage is None else "--storage"
    _build_searcher(settings["searcher"], settings["params"], storage_option=storage_option)  # before data
    out = None if resume else writable_dir(args.out if args.out is not None else DEFAULT_OUT, "--out")
    oracle = build_oracle(args, settings)
    oracle.validate(settings["objective"])
    if settings["mode"] == "tabular":  # read (and check) every file the run uses before it starts
        oracle.objective_values(settings["objective"])
        if oracle.table.has("clean"):
            oracle.objective_values("clean")
    limits = {key[4:]: float(settings[key]) for key in ("max_params", "max_flops")
              if settings.get(key) is not None}
    check_reachable(oracle, settings["min_clean"], limits)  # before a folder is announced
    resumed = Path(args.resume) if resume else None
    with run_folder(out, _run_id(settings), resume=resumed) as run_dir, live_executor(args, settings) as executor:
        if args.storage is not None:
            settings["params"].setdefault("study_name", run_dir.name)
        searcher = _build_searcher(settings["searcher"], settings["params"], oracle=oracle,
                                   storage_option=storage_option, objective=settings["objective"])
        result = run_search(
            searcher,
            oracle,
            settings["objective"],
            settings["budget"],
            record_dir=run_dir,
            min_clean=settings["min_clean"],
            resume=resume,
            progress=show_progress(args),
            max_params=settings.get("max_params"),
            max_flops=settings.get("max_flops"),
            workers=settings["workers"],
            executor=executor,
            gpus_per_task=gpus_per_task(args),
        )
    figures = run_figures(run_dir) if args.plot else []
    if args.json:
        settings.pop("recorded_oracle", None)
        settings["params"] = recorded_params(run_dir)
        costs = _best_costs(result, settings, oracle)
        limited = {f"best_{metric}": amount for metric, amount in costs["evaluated"].items()}
        if costs["within_limits_arch"] is not None:
            limited["best_within_limits_arch"] = costs["within_limits_arch"]
            limited.update({f"best_within_limits_{metric}": amount for metric, amount in costs["answer"].items()})
        print_json({**settings, "dataset": oracle.dataset.value, **result.summary(), **limited,
                    **({"cost_seconds": sum(t.get("cost_seconds") or 0 for t in result.trials),
                        "device": getattr(oracle, "device", None)} if settings["mode"] == "live" else {}),
                    **({"figures": [str(path) for path in figures]} if args.plot else {})})
    else:
        _print_result(result, settings, oracle)
        if settings["mode"] == "live":
            print(cost_line(result.trials, getattr(oracle, "device", "cpu")))
        if result.workers > 1:
            print(workers_line(result, settings))
        for path in figures:
            print(f"figure          {path}")
    return 0


def check_plotting() -> None:
    """Refuse ``--plot`` before anything runs where matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RobnasError("--plot needs matplotlib, which the search extra installs: "
                          "pip install 'robnas[search]'") from None


def run_figures(run_dir: Path) -> list[Path]:
    """``--plot``: the run's figure, written into its record folder."""
    from robnas.compare.run_figure import plot_run

    return plot_run(run_dir)


def _workers(text: str) -> int:
    return parse_int(text, "--workers", 1, MAX_WORKERS)


def _new_settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.objective is None:
        raise RobnasError("search needs --objective (or --resume RUN_DIR)")
    name = args.searcher or DEFAULT_SEARCHER
    seed = _seed(args.seed) if args.seed is not None else secrets.randbelow(2**31)
    return {
        "searcher": name,
        "params": {**_parse_params(args.param), "seed": seed},
        "objective": _objective(args.objective),
        "dataset": parse_dataset(args.dataset if args.dataset is not None else Dataset.CIFAR10).value,
        "seed": seed,
        "budget": _budget(args.budget) if args.budget is not None else DEFAULT_BUDGET,
        "min_clean": _min_clean(args.min_clean) if args.min_clean is not None else None,
        **_cost_limits(args),
        "mode": args.mode or "tabular",
        "workers": _workers(args.workers) if args.workers is not None else 1,
    }


def _cost_limits(args: argparse.Namespace) -> dict[str, float]:
    """``{"max_params": M, "max_flops": M}`` for the cost limits given (none: empty)."""
    limits = {}
    for key in ("max_params", "max_flops"):
        text = getattr(args, key)
        if text is not None:
            limits[key] = parse_float(text, f"--{key.replace('_', '-')}", 0.0, MAX_COST,
                                      low_open=True, unit="millions")
    return limits


def _objective(text: str) -> str:
    """``text`` in its canonical spelling (``PGD@1.0/255`` -> ``pgd@1/255``), as the run record
    holds it and the output prints it."""
    from robnas.objective import Objective

    return str(Objective.parse(text))


def _seed(text: str) -> int:
    from robnas.searchers._base import MAX_SEED

    return parse_int(text, "--seed", 0, MAX_SEED)


def _budget(text: str) -> int:
    return parse_int(text, "--budget", 1, CLASS_COUNT)


def _min_clean(text: str) -> float:
    return parse_float(text, "--min-clean", 0.0, 1.0)


def recorded_settings(run_dir: str, *, multi_objective: bool = False) -> dict[str, Any]:
    """The settings of the run recorded in ``run_dir`` (its ``config.json``), for a resume.

    Args:
        run_dir: the run record folder.
        multi_objective: a multi-objective record: it has ``objectives`` and no constraints
            (``min_clean`` is ``None``); a single-objective one has ``min_clean`` and may have
            ``max_params``/``max_flops``.

    Raises:
        RobnasError: the config lacks an entry.
    """
    from robnas.run_record import RunRecord, check_entries
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, SEARCHERS, default_params

    config = RunRecord.open(run_dir).config()
    check_entries(config, Path(run_dir))
    try:
        settings = {
            "searcher": config["searcher"]["name"],
            "params": dict(config["searcher"]["params"]),
            "objective": config["objective"],
            "dataset": config["dataset"],
            "seed": config["seed"],
            "budget": config["budget"],
            "mode": config["mode"],
            "workers": config.get("workers", 1),
            "recorded_oracle": dict(config.get("oracle") or {}),
        }
        if multi_objective:
            settings.update(objectives=list(config["objectives"]), min_clean=None)
        else:
            settings["min_clean"] = config["min_clean"]
            settings.update({key: config[key] for key in ("max_params", "max_flops")
                             if config.get(key) is not None})
    except (KeyError, TypeError):
        what = "objectives" if multi_objective else "objective"
        raise RobnasError(f"{run_dir}/config.json lacks the searcher, {what} or budget") from None
    registry = MULTI_OBJECTIVE_SEARCHERS if multi_objective else SEARCHERS
    if settings["searcher"] in registry:  # a parameter added since the run counts at its default
        settings["params"] = {**default_params(registry[settings["searcher"]]), **settings["params"]}
    return settings


def _resume_settings(args: argparse.Namespace) -> dict[str, Any]:
    settings = recorded_settings(args.resume)
    objective = args.objective
    if objective is not None and "," not in objective:  # one objective: compared as the record spells it
        objective = _objective(objective)
    given = {"objective": objective, "searcher": args.searcher, "mode": args.mode,
             "dataset": parse_dataset(args.dataset).value if args.dataset is not None else None,
             "workers": None if args.workers is None else _workers(args.workers)}
    given["seed"] = None if args.seed is None else _seed(args.seed)
    given["min_clean"] = None if args.min_clean is None else _min_clean(args.min_clean)
    given.update(_cost_limits(args))
    return apply_resume_options(args, settings, given)


def apply_resume_options(args: argparse.Namespace, settings: dict[str, Any],
                         given: dict[str, Any]) -> dict[str, Any]:
    """``settings`` of the run being resumed, refusing an option ``given`` (or a ``--param``)
    that differs from the record, with a new ``--budget`` applied."""
    for key, value in given.items():
        if value is not None and value != settings.get(key):
            recorded = settings.get(key)
            had = "which has none" if recorded is None else recorded
            raise RobnasError(f"--{key.replace('_', '-')} {value} conflicts with the run being "
                              f"resumed ({had}); leave it out")
    for key, value in _parse_params(args.param).items():
        if settings["params"].get(key) != value:
            raise RobnasError(f"--param {key}={param_text(value)} conflicts with the run being resumed "
                              f"({key}={param_text(settings['params'].get(key))}); leave it out")
    if args.budget is not None:
        settings["budget"] = _budget(args.budget)
    return settings


def _add_storage(settings: dict[str, Any], storage: str) -> None:
    """Keep the ``bo`` searcher's Optuna study in ``storage`` (named after the run, once its
    folder is known)."""
    if settings["searcher"] != "bo":
        raise RobnasError(f"--storage keeps an Optuna study: it needs --searcher bo, "
                          f"not {settings['searcher']}")
    recorded = settings["params"].get("storage")
    if recorded is not None and recorded != storage:
        raise RobnasError(f"--storage {storage} conflicts with the run being resumed "
                          f"({recorded}); leave it out")
    settings["params"]["storage"] = storage


def _parse_params(items: list[str]) -> dict[str, Any]:
    """``["variant=first", "num_init=5"]`` -> ``{"variant": "first", "num_init": 5}``; one
    ``--param`` may also hold several, joined by commas as in ``compare -s NAME:K=V,K=V``
    (a comma starts a new one only when ``NAME=`` follows it).

    >>> _parse_params(["surrogate=gp,features=edges,ucb=1", "prior=a,b.csv"])
    {'surrogate': 'gp', 'features': 'edges', 'ucb': 1, 'prior': 'a,b.csv'}
    """
    import re

    params: dict[str, Any] = {}
    for item in (piece for joined in items for piece in re.split(r",(?=\s*[A-Za-z_]\w*=)", joined)):
        key, value = parse_param(item)
        if key in params:
            raise RobnasError(f"--param {key} given twice ({params[key]!r} and {value!r}); give it once")
        params[key] = value
    return params


def _build_searcher(name: str, params: dict[str, Any], registry: Mapping[str, type] = SEARCHERS,
                    what: str = "searcher", *, oracle: Oracle | None = None,
                    storage_option: str = "--param", param_option: str = "--param",
                    objective: str | None = None) -> Any:
    """The searcher ``name`` of ``registry`` with ``params``, checked by its own
    ``validate_params`` (pure: no study is built, nothing runs) so a bad parameter is one line
    before any file is written. ``what`` names the registry in the unknown-name error,
    ``param_option`` the option that gave the params in the bad-parameter error.

    Without ``oracle``, a ``prior``/``warmup`` measure's scores are not there yet, which is no
    error (:class:`~robnas.errors.ScoresNotGivenError`: they need the oracle); with it, the
    measure is resolved (:func:`robnas.priors.provide_scores`, for the searched ``objective``)
    and the searcher is checked whole."""
    from robnas.priors import provide_scores
    from robnas.searchers import check_param_names, other_kind, validate_params

    wrong = other_kind(name, multi_objective=registry is not SEARCHERS)
    if wrong is not None:
        raise RobnasError(wrong)
    if name not in registry:
        raise RobnasError(f"unknown {what} {name!r}; valid: {', '.join(registry)}")
    cls = registry[name]
    try:
        check_param_names(cls, name, set(params) - {"seed"}, set_apart=("seed",),
                          none="none (it takes only --seed)")
    except InvalidSearcherError as err:
        raise RobnasError(f"bad {param_option} for searcher {name}: {err}") from None
    searcher = cls(**params)
    try:
        if oracle is not None:
            provide_scores(searcher, oracle, objective)
        validate_params(searcher)
    except ScoresNotGivenError:
        if oracle is not None:
            raise
        # without the oracle the prior's scores cannot be resolved yet: checked again with them
    except InvalidParameterError as err:
        first = str(err).split(" ", 1)[0]
        option = {"seed": "--seed", "storage": storage_option}.get(first, param_option)
        raise InvalidParameterError(f"bad {option} for searcher {name}: {err}") from None
    except PriorError as err:
        raise PriorError(f"bad {param_option} for searcher {name}: {err}") from None
    return searcher


def _run_id(settings: dict[str, Any]) -> str:
    """The new run's folder name (:func:`robnas.run_record.new_run_id`)."""
    from robnas.objective import Objective
    from robnas.run_record import new_run_id

    return new_run_id(settings["searcher"], str(Objective.parse(settings["objective"])), settings["seed"])


def _print_result(result: SearchResult, settings: dict[str, Any], oracle: Oracle) -> None:
    objective = settings["objective"]
    width = max(15, len(objective))  # labels in one column (gaussian_noise@3 is 16 long)

    def line(label: str, text: str) -> None:
        print(f"{label:<{width}} {text}")

    line("searcher", f"{settings['searcher']} (seed {settings['seed']}), "
                     f"{result.n_evaluations} distinct cells evaluated")
    if result.best_arch is None:
        print(f"no cell meeting {_constraints(settings)} was found; "
              "relax the constraints or raise --budget")
    else:
        costs = _best_costs(result, settings, oracle)
        within = result.best_within_limits_index
        if within is None:
            index = "" if result.best_index is None else f"  (index {result.best_index})"
            line("best arch", f"{result.best_arch.to_string()}{index}")
        else:  # the answer is the cell within the limits; the searcher evaluated an isomorph
            line("best arch", f"{costs['within_limits_arch']}  (index {within})")
            over = ", ".join(f"{metric} {amount:.4g}" for metric, amount in costs["evaluated"].items())
            line("evaluated as", f"index {result.best_index}, an isomorph over the limit ({over}): the "
                                 "same function, with weights on edges that never reach the output")
        line(objective, fmt_accuracy(result.best_value))
        if result.regret is not None and result.optimum is not None:
            where = "feasible optimum" if _constraints(settings) else "table optimum"
            line("regret", f"{fmt_accuracy(result.regret)} (to the {where} {fmt_accuracy(result.optimum)})")
        if result.rank is not None:
            among = "classes" if not _constraints(settings) else f"feasible classes ({_constraints(settings)})"
            line("rank", f"{result.rank} of {result.ranked_classes} {among}")
        if result.best_clean is not None and objective != "clean":
            line("clean", fmt_accuracy(result.best_clean))
        for metric, amount in costs["answer"].items():
            line(metric, f"{amount:.4g} (limit {settings['max_' + metric]:g})")
    line("run record", str(result.record_dir))
    if result.best_arch is not None and (result.at_chance or result.constant_output):
        print(_chance_note(result, settings["min_clean"], _min_clean_example(oracle)))


def recorded_params(run_dir: Path) -> dict[str, Any]:
    """Every parameter of the searcher as the run record holds it (a new run's defaults too, as
    a resumed run shows them), for ``--json``."""
    from robnas.run_record import RunRecord

    return dict(RunRecord.open(run_dir).config()["searcher"]["params"])


def _best_costs(result: SearchResult, settings: dict[str, Any], oracle: Oracle) -> dict[str, Any]:
    """Under cost limits, the own costs of the cell evaluated (``evaluated``) and of the answer
    (``answer``: the class's cell within the limits where the evaluated one is over, named by
    ``within_limits_arch``), by metric; empty dicts without limits or a best cell."""
    from robnas.cost import value as cost_value

    metrics = [key[4:] for key in ("max_params", "max_flops") if settings.get(key) is not None]
    costs: dict[str, Any] = {"evaluated": {}, "answer": {}, "within_limits_arch": None}
    if result.best_arch is None or not metrics:
        return costs
    answer = result.best_arch
    if result.best_within_limits_index is not None:
        answer = oracle.parse_arch(result.best_within_limits_index)  # type: ignore[attr-defined]
        costs["within_limits_arch"] = answer.to_string()
    for metric in metrics:
        costs["evaluated"][metric] = cost_value(metric, result.best_arch, settings["dataset"])
        costs["answer"][metric] = cost_value(metric, answer, settings["dataset"])
    return costs


def _constraints(settings: dict[str, Any]) -> str:
    """The run's constraints as text (``clean >= 0.8, params <= 0.5``), empty if none."""
    parts = [] if settings.get("min_clean") is None else [f"clean >= {settings['min_clean']:g}"]
    parts += [f"{key[4:]} <= {settings[key]:g}" for key in ("max_params", "max_flops")
              if settings.get(key) is not None]
    return ", ".join(parts)


def _min_clean_example(oracle: Oracle) -> float | None:
    """A ``--min-clean`` worth suggesting: 85% of the table's best clean accuracy, rounded down to
    0.05 (0.8 on CIFAR-10, 0.4 on ImageNet16-120, whose best is 0.473); ``None`` where the oracle
    does not know it (live without a table, a table without clean accuracy)."""
    import math

    try:
        best = oracle.optimum("clean")  # type: ignore[arg-type]
    except RobnasError:
        return None
    if best is None or not math.isfinite(best) or best <= 0:
        return None
    return math.floor(best * 0.85 * 20) / 20 or None


def _chance_note(result: SearchResult, min_clean: float | None, example: float | None = 0.8) -> str:
    """The note under a best value at chance level; ``example`` is the ``--min-clean`` suggested
    (one the table's cells can meet; ``None``: no number)."""
    from robnas.loop import CHANCE_TOLERANCE

    chance = fmt_accuracy(result.chance)
    if result.constant_output:
        what = (f"the best cell has clean accuracy {fmt_accuracy(result.best_clean)}, i.e. chance "
                f"({chance}): it outputs a constant, and a constant output is 'robust' only "
                "because an attack cannot change it")
    else:
        what = f"the best value {fmt_accuracy(result.best_value)} is at or below chance level ({chance})"
    if min_clean is None:
        advice = ("Constrain the search with --min-clean"
                  + ("" if example is None else f" (e.g. --min-clean {example:g})") + " or use")
    elif result.optimum is not None and result.chance is not None and (
        result.optimum <= result.chance + CHANCE_TOLERANCE
    ):
        advice = (f"No cell with clean accuracy >= {min_clean:g} beats chance on this objective "
                  f"(feasible optimum {fmt_accuracy(result.optimum)}); use")
    else:
        advice = "Raise --budget, lower --min-clean, or use"
    return f"note: {what}. {advice} a smaller epsilon (e.g. pgd@1/255)."
