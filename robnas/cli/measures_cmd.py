"""``robnas measures``: compute zero-cost proxies and robustness measures for many cells, and
benchmark any per-cell score against the table (correlations, random-forest prediction)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from robnas.cli.common import HelpFormatter, add_data_options, finite, print_json
from robnas.cli.executor_options import add_executor_options, build_executor, gpus_per_task
from robnas.cli.live_options import device_option
from robnas.cli.values import int_option, parse_float
from robnas.errors import OutputPathError, RobnasError

SEED_MAX = 2**32 - 1

DEFAULT_OBJECTIVES = ("clean", "pgd@1/255", "adversarial@mean")


def register(subparsers: argparse._SubParsersAction) -> None:
    from robnas.evaluation.measures._registry import MEASURES

    parser = subparsers.add_parser(
        "measures",
        help="zero-cost proxies and robustness measures: compute, correlate, predict",
        description=(
            "Compute measures of NB201 networks (zero-cost proxies at initialisation; Jacobian "
            "and Hessian measures on released weights or at initialisation) for many cells, "
            "cached in the results store; then correlate them (or your own scores) with the "
            "table's objectives, or predict an objective from several of them."
        ),
        epilog=(
            "examples:\n"
            "  robnas measures list\n"
            "  robnas measures compute -m synflow -m zen --archs all --jobs 2 -o cifar10.parquet\n"
            "  robnas measures compute -m jacov -m jacobian_norm --images ~/datasets --weights W\n"
            "  robnas measures compute -m synflow --archs all --executor ray --ray-address auto\n"
            "  robnas measures correlate --scores cifar10.parquet -O clean -O pgd@1/255 --out corr\n"
            "  robnas measures predict --scores cifar10.parquet -O pgd@1/255"
        ),
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="measures_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=_no_subcommand)
    names = ", ".join(MEASURES)

    listing = commands.add_parser("list", help="the built-in measures and what they need")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)

    compute = commands.add_parser(
        "compute", help="compute measures for all cells, the representatives or a list",
        description=("One row per cell (nb201_index, arch, representative), one column per measure and "
                     "its compute seconds. Values are cached in the results store with their "
                     "settings, so a killed run resumes and a repeated one computes nothing."),
        formatter_class=HelpFormatter)
    compute.add_argument("-m", "--measure", action="append", required=True, metavar="M",
                         help=f"a measure: {names}, or your own as module:function (repeat)")
    compute.add_argument("--archs", default="representatives", metavar="WHICH",
                         help="all (15,625), representatives (6,466) or a FILE of NB201 indices or "
                              "strings, one a line (default: %(default)s)")
    _add_settings(compute)
    compute.add_argument("--images", metavar="DIR",
                         help="folder of the test sets (needed by data-dependent measures)")
    compute.add_argument("--device", default="cpu", type=device_option, metavar="DEV",
                         help="auto, cpu, cuda or cuda:N (default: cpu)")
    compute.add_argument("--jobs", "-j", type=int_option(1, 1024), default=1, metavar="N",
                         help="worker processes, or the CPUs of a local Ray instance (default: 1)")
    add_executor_options(compute, gpus=True)
    _add_hessian_settings(compute)
    compute.add_argument("-o", "--output", metavar="FILE", help="write the table (.csv or .parquet)")
    compute.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    compute.set_defaults(handler=run_compute)

    for name, text in (("correlate", "Kendall, Spearman, Pearson and top-10% precision with 95% "
                                     "bootstrap intervals, heat map and scatter plots"),
                       ("predict", "random forest predicting an objective from several measures "
                                   "(80/20 splits over seeds): R2, held-out Kendall tau, importances")):
        sub = commands.add_parser(name, help=_help_text(text), description=text + ".")
        source = sub.add_mutually_exclusive_group(required=True)
        source.add_argument("--scores", metavar="FILE",
                            help="your scores: CSV/Parquet with a column nb201_index (or index) or arch, "
                                 "and score columns")
        source.add_argument("-m", "--measure", action="append", metavar="M",
                            help="a measure computed before (read from the results store; repeat)")
        sub.add_argument("--objective", "-O", action="append", metavar="O",
                         help=f"objective (repeat; default: {', '.join(DEFAULT_OBJECTIVES)})")
        _add_settings(sub, reading=name)
        _add_hessian_settings(sub, reading=True)
        sub.add_argument("--isomorphs", choices=("mean", "representative", "all"), default="mean",
                         help="how scored isomorphs of one class count (default: %(default)s)")
        sub.add_argument("--out", metavar="DIR", help="write tables and figures to DIR")
        if name == "correlate":
            sub.add_argument("--bootstrap", type=int_option(0, 100_000), default=1000, metavar="N",
                             help="bootstrap resamples for the 95%% intervals (default: %(default)s)")
            sub.set_defaults(handler=run_correlate)
        else:
            sub.add_argument("--seeds", type=int_option(1, 1000), default=10, metavar="N",
                             help="random 80/20 splits; R2 and tau are their mean with a 95%% t-interval, "
                                  "clipped to the statistic's range (default: %(default)s)")
            sub.add_argument("--trees", type=int_option(1, 100_000), default=100, metavar="N",
                             help="trees per forest (default: %(default)s)")
            sub.set_defaults(handler=run_predict)


def _add_settings(parser: argparse.ArgumentParser, reading: str | None = None) -> None:
    """The settings a measure value is computed with (``compute``), or, for the command
    ``reading`` them (``correlate``, ``predict``), the settings that pick stored values with
    ``-m``: their defaults are then filled in by :func:`_store_settings`, so that one given with
    ``--scores``, where it would do nothing, is refused."""
    add_data_options(parser)
    with_m = " of the values to read (with -m)" if reading else ""
    parser.add_argument("--batch-size", type=int_option(1, 100_000), default=None if reading else 64,
                        metavar="B", help=f"images per batch{with_m} (default: 64)")
    seed_help = f"initialisation and batch seed{with_m} (default: 0)"
    if reading == "correlate":
        seed_help += "; it seeds the bootstrap too, also with --scores"
    parser.add_argument("--seed", type=int_option(0, SEED_MAX), default=None if reading else 0, metavar="S",
                        help=seed_help)
    parser.add_argument("--weights", metavar="DIR",
                        help="NATS-tss-v1_0-3ffb9-full folder: robustness measures on the released "
                             f"weights{with_m} (default: at initialisation)")
    parser.add_argument("--store", metavar="PATH",
                        help=f"results store{' to read (with -m)' if reading else ''} (default: in robnas' cache dir)")
    if reading:
        parser.add_argument("--images", metavar="DIR",
                            help="the test images the values were computed on (with -m; default: the one "
                                 "test set the store holds values of)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _add_hessian_settings(parser: argparse.ArgumentParser, reading: bool = False) -> None:
    """hessian_eigenvalue's parameters: to compute with, or (``reading``) of the stored values
    to read with ``-m`` (they are part of the values' key)."""
    of = " of the values to read (with -m)" if reading else ""
    parser.add_argument("--hessian-iterations", type=int_option(1, 100_000), default=None, metavar="N",
                        help=f"power iterations of hessian_eigenvalue{of} (default: 20)")
    parser.add_argument("--hessian-tolerance", type=_tolerance, default=None, metavar="TOL",
                        help=f"relative change that stops the power iteration{of} (default: 1e-3)")


def _store_settings(args: argparse.Namespace) -> None:
    """Refuse ``correlate``/``predict`` options that only pick stored values when the values come
    from ``--scores`` (``--seed`` seeds correlate's bootstrap, so it stays there; ``--store``, a
    place like ``--data``, may be given in either case), and fill in their defaults otherwise."""
    if args.scores:
        kept = {"seed"} if args.handler is run_correlate else set()
        for option in ("batch_size", "seed", "weights", "images", "hessian_iterations", "hessian_tolerance"):
            if option not in kept and getattr(args, option) is not None:
                flag = "--" + option.replace("_", "-")
                raise RobnasError(f"{flag} picks values computed before (with -m); --scores gives the "
                                  f"values itself: leave {flag} out")
    args.batch_size = 64 if args.batch_size is None else args.batch_size
    args.seed = 0 if args.seed is None else args.seed


def _help_text(text: str) -> str:
    """``text`` as an argparse ``help`` string, which argparse %-formats (``%(default)s``): a
    literal ``%`` doubled. (A ``description`` is printed as it is.)"""
    return text.replace("%", "%%")


def _no_subcommand(_args: argparse.Namespace) -> int:
    raise RobnasError("measures: give a subcommand: list, compute, correlate, predict "
                      "(see `robnas measures --help`)")


def _tolerance(text: str) -> float:
    try:
        return parse_float(text, "value", 0.0, 1.0)
    except RobnasError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None


def run_list(args: argparse.Namespace) -> int:
    from robnas.evaluation.measures._registry import MEASURES

    rows = [{"name": m.name, "data": m.needs_data, "labels": m.needs_labels,
             "weights": "trained or init" if m.uses_trained_weights else "init", "summary": m.summary}
            for m in MEASURES.values()]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        needs = "images+labels" if row["labels"] else "images" if row["data"] else "data-free"
        print(f"{row['name']:<19} {needs:<14} {row['weights']:<15} {row['summary']}")
    return 0


def _measures(args: argparse.Namespace) -> tuple[Any, ...]:
    from robnas.evaluation.measures._registry import get_measure

    specs = []
    for text in args.measure:
        spec = get_measure(text)
        if spec.name == "hessian_eigenvalue":
            changes = {k: v for k, v in (("iterations", getattr(args, "hessian_iterations", None)),
                                         ("tolerance", getattr(args, "hessian_tolerance", None)))
                       if v is not None}
            spec = spec.with_params(**changes)
        specs.append(spec)
    return tuple(specs)


def _request(args: argparse.Namespace, images: str | None) -> Any:
    from robnas.evaluation.measures._compute import MeasureRequest

    weights = None if args.weights is None else Path(args.weights).expanduser().resolve()
    if weights is not None and not weights.is_dir():
        raise RobnasError(f"--weights {args.weights}: no such folder")
    return MeasureRequest(_measures(args), args.dataset,
                          images=None if images is None else Path(images).expanduser().resolve(),
                          weights=weights, batch_size=args.batch_size, seed=args.seed,
                          device=getattr(args, "device", "cpu"))


def _meta(args: argparse.Namespace) -> Any:
    from robnas.benchmark.cache import ArrayCache
    from robnas.benchmark.location import META_FILE, default_cache_dir, resolve_data_root
    from robnas.benchmark.meta import SpaceMeta

    root = resolve_data_root(args.data)
    return SpaceMeta.load(root / META_FILE, ArrayCache(default_cache_dir()))


def _cells(which: str, meta: Any) -> list[int]:
    from robnas.arch import NUM_CELLS

    if which == "all":
        return list(range(NUM_CELLS))
    if which == "representatives":
        return [int(i) for i in meta.representatives]
    path = Path(which)
    if not path.is_file():
        why = "a folder" if path.is_dir() else "no such file"
        raise RobnasError(f"--archs {which}: use all, representatives or a file of cells ({why})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RobnasError(f"--archs {path}: not a text file of cells (byte {err.start} is not UTF-8)") from None
    except OSError as err:
        raise RobnasError(f"--archs {path}: unreadable ({err.strerror or err})") from None
    cells = []
    for number, line in enumerate(text.splitlines(), 1):
        text = line.split("#")[0].strip()
        if text:
            try:
                cells.append(meta.index_of(meta.parse_arch(text)))
            except RobnasError as err:
                raise RobnasError(f"--archs {path}, line {number}: {err}") from None
    if not cells:
        raise RobnasError(f"--archs {path}: no cells in the file")
    return cells


def run_compute(args: argparse.Namespace) -> int:
    from robnas.cli.outputs import writable_file
    from robnas.evaluation.measures._compute import compute_measures
    from robnas.evaluation.measures._store import MeasureStore

    output = writable_file(args.output, "-o")
    gpus = gpus_per_task(args)  # checked before anything is loaded
    fmt = _output_format(output)
    request = _request(args, args.images)
    if request.images is not None and any(m.needs_data for m in request.measures):
        from robnas.evaluation.measures import load_batch

        load_batch(request.dataset, request.images, request.batch_size, request.seed)  # fail before any work
    meta = _meta(args)
    cells = _cells(args.archs, meta)
    with build_executor(args, args.jobs) as executor:
        result = compute_measures(request, cells, meta, store=MeasureStore(args.store), executor=executor,
                                  progress=not args.quiet and sys.stderr.isatty(), gpus_per_task=gpus)
    if output is not None:
        from robnas.cli.outputs import write_frame

        write_frame(result.frame.reset_index(), fmt, output)
    frame = result.frame
    summary = {
        "dataset": request.dataset.value, "cells": len(frame), "computed": result.computed,
        "cached": result.cached, "executor": args.executor, "wall_seconds": round(result.wall_seconds, 3),
        "batch_size": request.batch_size, "seed": request.seed, "output": None if output is None else str(output),
        "measures": {m.name: {"settings": request.settings(m).describe(),
                              "mean": float(frame[m.name].mean()),
                              "missing": int(frame[m.name].isna().sum()),
                              "seconds_per_cell": float(frame[f"{m.name}_seconds"].mean())}
                     for m in request.measures},
    }
    if args.json:
        print_json(finite(summary))
        return 0
    print(f"{len(frame)} cells on {request.dataset.value}: {result.computed} values computed, "
          f"{result.cached} from the store, {result.wall_seconds:.1f} s")
    for name, info in summary["measures"].items():
        print(f"  {name:<19} mean {_number(info['mean'], '.4g')}  {_number(info['seconds_per_cell'], '.3f')} "
              f"s/cell  weights {info['settings']['weights']}"
              + (f"  ({info['missing']} NaN)" if info["missing"] else ""))
    return 0


def _output_format(output: Path | None) -> str | None:
    """The table format of ``compute -o`` from the file's suffix (compute has no ``--format``;
    ``.csv`` or ``.parquet``, the suffixes ``correlate --scores`` and ``load_measures`` read)."""
    if output is None:
        return None
    formats = {".csv": "csv", ".parquet": "parquet"}
    if output.suffix.lower() not in formats:
        raise OutputPathError(f"cannot tell the format of -o {output} from its suffix; "
                              f"name it {' or '.join(formats)}")
    return formats[output.suffix.lower()]


def _number(value: float, spec: str) -> str:
    """``value`` formatted by ``spec``; NaN (a mean with no value to average) as ``–``."""
    return "–" if value != value else format(value, spec)


def _write_provenance(out: Path, args: argparse.Namespace, objectives: list[str], oracle: Any,
                      settings: dict[str, Any]) -> Path:
    """``OUT/provenance.json``: what ``correlate``/``predict --out`` computed from (the scores'
    file and its SHA-256, or the store and lookup settings; the table's data files), with which
    settings and library versions, so a folder of results can be traced and redone."""
    import json

    from robnas.benchmark.cache import sha256_of
    from robnas.run_record import utc_now, versions

    if args.scores:
        source: dict[str, Any] = {"scores": str(Path(args.scores).resolve()),
                                  "sha256": sha256_of(Path(args.scores))}
    else:
        source = {"store": str(Path(args.store).expanduser().resolve()) if args.store else None,
                  "measures": {m.name: dict(m.params) for m in _measures(args)},
                  "batch_size": args.batch_size, "seed": args.seed, "weights": args.weights, "images": args.images}
    record = {"command": f"robnas measures {args.measures_command}", "created": utc_now(),
              "dataset": oracle.dataset.value, "objectives": objectives, "isomorphs": args.isomorphs,
              **settings, "source": source, "data": oracle.provenance(objectives),
              "versions": versions(extra=("matplotlib",))}
    path = out / "provenance.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def _scores_and_table(args: argparse.Namespace) -> tuple[Any, Any, Any, list[str]]:
    from robnas.benchmark import TabularOracle
    from robnas.evaluation.measures._correlate import objective_table, read_scores
    from robnas.evaluation.measures._load import load_measures

    _store_settings(args)
    oracle = TabularOracle(args.dataset, data=args.data, strict_data=args.strict_data)
    objectives = args.objective or list(DEFAULT_OBJECTIVES)
    for objective in objectives:
        oracle.validate(objective)
    if args.scores:
        scores = read_scores(args.scores, oracle.meta)
    else:
        scores = load_measures(args.store, list(_measures(args)), dataset=oracle.dataset.value,
                               batch_size=args.batch_size, seed=args.seed, weights=args.weights,
                               images=args.images)
    return scores, objective_table(oracle, objectives), oracle, objectives


def run_correlate(args: argparse.Namespace) -> int:
    from robnas.evaluation.measures._correlate import correlations_markdown, score_correlations

    out = _out_dir(args.out)
    scores, table, oracle, objectives = _scores_and_table(args)
    frame = score_correlations(scores, table, oracle.meta, isomorphs=args.isomorphs,
                               bootstrap=args.bootstrap, seed=args.seed)
    files = []
    if out is not None:
        from robnas.evaluation.measures._plots import plot_heatmap, plot_scatter

        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / "correlations.csv", index=False)
        (out / "correlations.md").write_text(correlations_markdown(frame), encoding="utf-8")
        plot_heatmap(frame, "kendall").savefig(out / "heatmap.png", dpi=150)
        joined = scores.join(table, how="inner")
        plot_scatter(joined, list(scores.columns), objectives, frame).savefig(out / "scatter.png", dpi=120)
        files = [str(out / n) for n in ("correlations.csv", "correlations.md", "heatmap.png", "scatter.png")]
        settings = {"bootstrap": args.bootstrap, "bootstrap_seed": args.seed}
        files.append(str(_write_provenance(out, args, objectives, oracle, settings)))
    if args.json:
        print_json({"dataset": args.dataset, "isomorphs": args.isomorphs, "bootstrap": args.bootstrap,
                    "seed": args.seed, "correlations": finite(frame.to_dict("records")), "files": files})
        return 0
    print(correlations_markdown(frame), end="")
    duplicated = frame.groupby("score")["duplicates"].max()
    for score, count in duplicated[duplicated > 0].items():
        how = "their mean score is used" if args.isomorphs == "mean" else "each counts"
        print(f"note: {score}: {count} classes have several scored isomorphs ({how}; --isomorphs)")
    for row in frame.to_dict("records"):
        if all(row[name] != row[name] for name in ("kendall", "spearman", "pearson")):  # every one NaN
            why = (f"{row['cells']} scored cells with the objective, fewer than 3" if row["cells"] < 3
                   else "the score (or the objective) is the same for every cell")
            print(f"note: {row['score']} on {row['objective']}: no correlation: {why}")
    if files:
        print(f"wrote {', '.join(files)}", file=sys.stderr)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from robnas.evaluation.measures._correlate import class_scores
    from robnas.evaluation.measures._predict import predict_objective

    out = _out_dir(args.out)
    scores, table, oracle, objectives = _scores_and_table(args)
    meta = oracle.meta
    features = {c: class_scores(scores[c], meta, args.isomorphs).set_index("representative")["score"]
                for c in scores.columns}
    import pandas as pd

    features = pd.DataFrame(features) if args.isomorphs != "all" else scores
    # with every cell a row, split over classes: isomorphs share the value (no leak across the split)
    groups = (None if args.isomorphs != "all"
              else pd.Series(meta.representative[scores.index.to_numpy(dtype="int64")], index=scores.index))
    results = {}
    for objective in objectives:
        prediction = predict_objective(features, table[objective], seeds=args.seeds, n_estimators=args.trees,
                                       groups=groups)
        results[objective] = prediction
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            slug = objective.replace("/", "-").replace("@", "-")
            prediction.splits.to_csv(out / f"predict-{slug}-splits.csv", index=False)
            prediction.importances.to_csv(out / f"predict-{slug}-importances.csv", index=False)
    if out is not None:
        _write_provenance(out, args, objectives, oracle, {"seeds": args.seeds, "trees": args.trees})
    if args.json:
        print_json(finite({o: {"summary": p.summary(), "importances": p.importances.to_dict("records")}
                            for o, p in results.items()}))
        return 0
    for objective, prediction in results.items():
        s = prediction.summary()
        splits = f"{s['splits']} 80/20 split{'s' if s['splits'] != 1 else ''}"
        print(f"{objective}: R2 {_with_interval(s, 'r2')}, held-out Kendall tau {_with_interval(s, 'kendall')} "
              f"over {splits} "
              f"({prediction.splits['train'].iloc[0]} train / {prediction.splits['test'].iloc[0]} test)")
        for row in prediction.importances.to_dict("records"):
            print(f"  {row['feature']:<19} importance {row['importance']:.3f} (sd {row['std']:.3f})")
    return 0


def _with_interval(summary: dict[str, Any], name: str) -> str:
    """``summary[name]`` with its 95% interval (none from a single split: its bounds are NaN)."""
    low, high = summary[f"{name}_low"], summary[f"{name}_high"]
    shown = f"{summary[name]:.3f}"
    return shown if low != low or high != high else f"{shown} [{low:.3f}, {high:.3f}]"


def _out_dir(out: str | None) -> Path | None:
    """``--out``, checked before any work; created only when the results are written."""
    if out is None:
        return None
    from robnas.cli.outputs import writable_dir

    return writable_dir(out, "--out")
