"""``robnas compare``: run several searchers over many seeds and report them side by side."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robnas.arch import CLASS_COUNT
from robnas.cli.common import (
    HelpFormatter,
    add_data_options,
    add_offline_option,
    add_quiet_option,
    fetch_missing_data,
    print_json,
    quiet_optuna,
    show_progress,
)
from robnas.cli.executor_options import add_executor_options, build_executor
from robnas.cli.values import parse_int, parse_names, parse_param
from robnas.errors import RobnasError
from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, SEARCHERS, other_kind
from robnas.vocabulary import Dataset, Engine, counted, parse_dataset

DEFAULT_SEARCHERS = ",".join(SEARCHERS)
DEFAULT_MULTI_SEARCHERS = "random,nsga2,pls,parego,hvi"
DEFAULT_SEEDS = "50"
DEFAULT_BUDGET = "300"
DEFAULT_CHECKPOINTS = "10,25,50,100,300"
MAX_SEEDS = 10_000
"""Most seeds per searcher: a comparison writes one run record per seed, searcher, objective
and dataset, so more would fill a disk long before it told searchers apart any better."""
MAX_JOBS = 256
OPTUNA_SEARCHERS = ("bo", "nsga2", "motpe")
"""Searchers built on Optuna (its log level is set once, here and in each worker)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare searchers over many seeds: anytime plots, summary, ranking",
        description=(
            "Run every searcher, objective, dataset and seed in parallel (local worker processes, or "
            "Ray tasks with --executor ray; one run record each, under OUT/runs, written by this "
            "process only), then write the trajectories (Parquet), a summary at "
            "checkpoints (Markdown, CSV), a ranking with Friedman and Holm-corrected Wilcoxon "
            "tests, and anytime plots with 95% bands. Re-running with the same --out resumes: "
            "finished runs are not repeated. --from DIR only re-draws tables and figures."
        ),
        epilog=(
            "examples:\n"
            "  robnas compare -O pgd@1/255 -O clean --seeds 50 --budget 300 --out runs/cmp\n"
            "  robnas compare -O clean --seeds 100 --executor ray --ray-address auto --out runs/cmp\n"
            "  robnas compare --from runs/cmp --metric regret --log-x --formats png,pdf\n"
            "  robnas compare -O pgd@1/255 -O clean --multi --seeds 100 --out runs/mo\n"
            "  robnas compare -O clean -s re -s re:warmup=params -s predictor:prior=params\n"
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
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--objective", "-O", action="append", metavar="O",
                        help="objective to compare on, e.g. pgd@1/255 (required unless --from; repeat "
                             "for several)")
    add_data_options(parser, dataset=False)
    add_offline_option(parser)
    parser.add_argument("--dataset", action="append", metavar="D",
                        help=f"dataset: {', '.join(d.value for d in Dataset)} (repeat for several; "
                             "default: cifar10)")
    parser.add_argument("--multi", action="store_true",
                        help="all -O together form one multi-objective problem")
    parser.add_argument("--searchers", metavar="LIST",
                        help=f"comma-separated, among {DEFAULT_SEARCHERS} (default: all); "
                             f"multi-objective: among {', '.join(MULTI_OBJECTIVE_SEARCHERS)} "
                             f"(default: {DEFAULT_MULTI_SEARCHERS})")
    parser.add_argument("--searcher", "-s", action="append", metavar="SPEC", dest="searcher_specs",
                        help="a searcher with hyperparameters, NAME:KEY=VALUE[,KEY=VALUE...], e.g. "
                             "-s re -s re:warmup=params (repeat; its label in the tables and "
                             "figures is the searcher's name and the non-default values; with "
                             "--searchers, both lists run)")
    parser.add_argument("--seeds", metavar="N",
                        help=f"seeds 0..N-1 per searcher, N in 1..{MAX_SEEDS} (default: {DEFAULT_SEEDS})")
    parser.add_argument("--budget", metavar="N",
                        help=f"distinct architectures per run, 1..{CLASS_COUNT} (default: {DEFAULT_BUDGET})")
    parser.add_argument("--jobs", "-j", metavar="N",
                        help=f"runs in parallel, 1..{MAX_JOBS}: local worker processes, or with "
                             "--executor ray the CPUs of the Ray instance started here (default: all CPUs)")
    add_executor_options(parser)
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
                        help=f"summary checkpoints, comma-separated numbers of cells in 1..{CLASS_COUNT}, "
                             "clipped to the budget (default: %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print the report as one JSON object (the summary, ranking and "
                             "pairwise tests as records, and the files written) instead of Markdown")
    add_quiet_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.cli.outputs import writable_dir
    from robnas.compare import load_oracles, plan_runs, run_comparison, write_reports
    from robnas.compare.plan import RUNS_DIR, check_budgets, check_plan
    from robnas.compare.plots import FORMATS

    formats = parse_names(args.formats, "--formats", FORMATS, "figure format")
    checkpoints = [parse_int(part, "--checkpoints", 1, CLASS_COUNT)
                   for part in parse_names(args.checkpoints, "--checkpoints")]
    done = None  # what the runs did (none with --from)
    if args.from_dir is not None:
        out = _existing_comparison(args)
    else:  # everything is checked before anything is printed or created
        if not args.objective:
            raise RobnasError("give at least one --objective (or --from DIR to re-draw)")
        seeds = parse_int(DEFAULT_SEEDS if args.seeds is None else args.seeds, "--seeds", 1, MAX_SEEDS)
        budget = parse_int(DEFAULT_BUDGET if args.budget is None else args.budget, "--budget", 1, CLASS_COUNT)
        jobs = None if args.jobs is None else parse_int(args.jobs, "--jobs", 1, MAX_JOBS)
        objectives = [",".join(args.objective)] if args.multi else args.objective
        if args.multi and objectives[0].count(",") not in (1, 2):
            raise RobnasError(f"--multi makes one problem of 2 or 3 objectives; got "
                              f"{objectives[0].count(',') + 1} ({objectives[0]}): give -O two or three times")
        multi = args.multi or any("," in o for o in objectives)
        searchers = _searchers(args, MULTI_OBJECTIVE_SEARCHERS if multi else SEARCHERS,
                               DEFAULT_MULTI_SEARCHERS if multi else DEFAULT_SEARCHERS,
                               "multi-objective searcher" if multi else "searcher")
        datasets = [parse_dataset(d).value for d in (args.dataset or [Dataset.CIFAR10.value])]
        out = writable_dir(args.out if args.out is not None else str(_default_out()), "--out")
        specs = plan_runs(searchers, objectives, datasets, range(seeds), budget)
        fetch_missing_data(args, dict.fromkeys(s.dataset for s in specs), args.data)
        if any(spec.searcher in OPTUNA_SEARCHERS for spec in specs):
            quiet_optuna(args.verbose)  # here, and in each worker (which copies the setting)
        oracles = load_oracles(specs, args.data)
        _check_measures(specs, oracles)
        if args.strict_data:
            _check_pins(specs, args.data)
        check_plan(out, specs)  # before the executor starts (a Ray instance, say): one line
        check_budgets(out / RUNS_DIR, specs)
        with build_executor(args, jobs) as executor:
            def announce() -> None:  # once the folder's runs are checked: a refusal is one line
                print(f"comparison folder: {out} ({counted(len(specs), 'run')}, {executor.engine} executor)",
                      file=sys.stderr)

            done = run_comparison(specs, out, progress=show_progress(args), oracles=oracles,
                                  executor=executor, on_checked=announce)
        print(f"ran {counted(done.ran, 'run')}, {done.skipped} already done, in {done.wall_seconds:.1f} s",
              file=sys.stderr)
    metric = args.metric or ("regret" if _is_multi_folder(out) else "value")
    report = write_reports(out, checkpoints=checkpoints, metric=metric, log_x=args.log_x,
                           formats=formats)
    if args.json:
        print_json({"out": str(out), "metric": metric,
                    **({} if done is None else {"ran": done.ran, "already_done": done.skipped,
                                                "seconds": round(done.wall_seconds, 3)}),
                    "summary": report.summary.to_dict("records"),
                    "ranking": report.ranking.ranks.to_dict("records"),
                    "pairwise": report.ranking.pairwise.to_dict("records"),
                    **({} if report.fronts is None else {"fronts": report.fronts.to_dict("records")}),
                    "files": [str(path.relative_to(out)) for path in report.files]})
        return 0
    print(report.markdown())
    print(f"files in {out}:")
    for path in report.files:
        print(f"  {path.relative_to(out)}")
    return 0


def _is_multi_folder(out: Path) -> bool:
    """Whether the comparison in ``out`` is multi-objective: some run's objective is a group.

    Read from the run records, which the reports read too (``comparison.json`` names the
    groups only for a folder ``compare`` made, and may be missing or unreadable: a folder of
    ``robnas search`` records re-drawn with ``--from`` has none)."""
    from robnas.compare.plan import RUNS_DIR
    from robnas.compare.trajectories import find_run_dirs
    from robnas.multi_objective import is_multi
    from robnas.run_record import RunRecord

    source = out / RUNS_DIR if (out / RUNS_DIR).is_dir() else out
    for run_dir in find_run_dirs(source):
        try:
            if is_multi(str(RunRecord(run_dir).config().get("objective", ""))):
                return True
        except RobnasError:
            continue  # a record the reports cannot read: they say so
    return False


def _existing_comparison(args: argparse.Namespace) -> Path:
    """``--from DIR``: an existing folder, and no option that only a new comparison takes."""
    if not args.from_dir.strip():
        raise RobnasError("--from needs a comparison folder, got ''")
    out = Path(args.from_dir)
    if not out.is_dir():
        raise RobnasError(f"--from {out}: {'not a folder' if out.exists() else 'no such folder'}")
    planning = [option for option, value in (
        ("--objective", args.objective), ("--dataset", args.dataset), ("--out", args.out),
        ("--jobs", args.jobs), ("--searcher", args.searcher_specs), ("--searchers", args.searchers),
        ("--seeds", args.seeds), ("--budget", args.budget), ("--multi", args.multi or None),
        ("--executor", None if args.executor == Engine.LOCAL.value else args.executor),
        ("--ray-address", args.ray_address), ("--data", args.data), ("--offline", args.offline or None))
        if value is not None]
    if planning:
        raise RobnasError(f"--from only re-draws an existing comparison; {planning[0]} does not apply to it")
    return out


def _searchers(args: argparse.Namespace, registry: Mapping[str, type], default: str,
               what: str) -> list[tuple[str, dict[str, Any]]]:
    """``--searchers`` names and ``--searcher`` specs as ``(name, params)``, each checked by
    the searcher's own ``validate_params`` (a measure it names is resolved later, per dataset,
    by :func:`_check_measures`)."""
    from robnas.cli.search_cmd import _build_searcher
    from robnas.compare.plan import STORAGE_IN_A_COMPARISON

    given = str(args.searchers or "").split(",") + [spec.partition(":")[0] for spec in args.searcher_specs or []]
    for name in given:
        wrong = other_kind(name.strip(), multi_objective=registry is MULTI_OBJECTIVE_SEARCHERS)
        if wrong is not None:  # re with --multi, hvi with one objective
            raise RobnasError(wrong)
    chosen: list[tuple[str, dict[str, Any]]] = []
    if args.searchers is not None or not args.searcher_specs:
        names = parse_names(default if args.searchers is None else args.searchers, "--searchers",
                            registry, what)
        chosen += [(name, {}) for name in names]
    for text in args.searcher_specs or []:
        name, params = parse_searcher_spec(text, registry, what)
        if "storage" in params:
            raise RobnasError(f"bad --searcher for searcher {name}: {STORAGE_IN_A_COMPARISON}")
        _build_searcher(name, params, registry, what, param_option="--searcher")
        chosen.append((name, params))
    return chosen


def parse_searcher_spec(text: str, registry: Mapping[str, type],
                        what: str = "searcher") -> tuple[str, dict[str, Any]]:
    """``NAME[:KEY=VALUE[,KEY=VALUE...]]`` of ``--searcher`` -> ``(name, params)``; values
    are read as ``--param`` reads them (:func:`~robnas.cli.values.parse_param`).

    >>> from robnas.searchers import SEARCHERS
    >>> parse_searcher_spec("re:warmup=params,population_size=20", SEARCHERS)
    ('re', {'warmup': 'params', 'population_size': 20})
    """
    name, _, rest = str(text).partition(":")
    name = name.strip()
    if name not in registry:
        raise RobnasError(f"--searcher {text!r}: unknown {what} {name!r}; choose from {', '.join(registry)}")
    params: dict[str, Any] = {}
    for item in rest.split(",") if rest.strip() else []:
        key = item.partition("=")[0].strip()
        if key == "seed":
            raise RobnasError(f"--searcher {text!r}: seeds come from --seeds, not a searcher parameter")
        try:
            key, value = parse_param(item)
        except RobnasError:
            raise RobnasError(f"--searcher {text!r}: needs NAME:KEY=VALUE[,KEY=VALUE...] "
                              f"(e.g. re:warmup=params), got {item.strip()!r} after the name") from None
        if key in params:
            raise RobnasError(f"--searcher {text!r}: {key} given twice; give it once")
        params[key] = value
    if rest.strip() == "" and ":" in str(text):
        raise RobnasError(f"--searcher {text!r}: nothing after ':'; give KEY=VALUE pairs "
                          "(e.g. re:warmup=params) or the name alone")
    return name, params


def _check_measures(specs: list, oracles: dict) -> None:
    """Resolve every ``prior``/``warmup`` measure a searcher names on each dataset's oracle
    (one line, before any run is written, if a measure is unknown or its scores are missing)."""
    from robnas.cli.search_cmd import _build_searcher
    from robnas.multi_objective import is_multi
    from robnas.searchers._base import SCORE_PARAMS

    for name, params, dataset, objective in dict.fromkeys(
            (s.searcher, s.params, s.dataset, s.objective) for s in specs):
        if any(key in SCORE_PARAMS for key, _ in params):
            registry = MULTI_OBJECTIVE_SEARCHERS if is_multi(objective) else SEARCHERS
            _build_searcher(name, dict(params), registry, oracle=oracles[dataset],
                            param_option="--searcher", objective=objective)


def _check_pins(specs: list, data: str | None) -> None:
    """``--strict-data``: read every file the runs use, refusing one that differs from its pin."""
    from robnas.benchmark import TabularOracle
    from robnas.multi_objective import DirectedObjective, class_values, is_multi, parse_objectives

    for dataset in dict.fromkeys(s.dataset for s in specs):
        oracle = TabularOracle(dataset, data=data, strict_data=True)
        for objective in dict.fromkeys(s.objective for s in specs if s.dataset == dataset):
            for part in parse_objectives(objective) if is_multi(objective) else [objective]:
                class_values(oracle, DirectedObjective.parse(part))
            oracle.objective_values("clean")


def _default_out() -> Path:
    import datetime as dt

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"compare-{stamp}"
