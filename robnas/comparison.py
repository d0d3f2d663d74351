"""Comparing searchers: many seeded runs in parallel, then tables and figures.

A comparison folder holds::

    comparison.json          what was asked (searchers, objectives, datasets, seeds, budget)
    runs/<run-id>/           one ordinary run record per searcher, objective, dataset and seed
    trajectories.parquet     the tidy table: one row per run and evaluation
    summary.md, summary.csv  mean and 95% interval at checkpoints, share that found the optimum
    ranking.md, ranking.csv, pairwise.csv
                             mean ranks, Friedman test, Holm-adjusted pairwise Wilcoxon tests
    figures/anytime-*.png    one anytime plot per dataset and objective (+ all panels in one)

:func:`run_comparison` runs what is missing: a run whose folder holds ``summary.json`` is done
and not repeated, so an interrupted comparison resumes where it stopped (a run cut short is
started again from scratch: tabular runs are cheap and seeded). Runs execute in worker
processes; each worker loads the tabular oracle of every dataset once, in its initializer, not
once per run. Workers are started fresh (``spawn``) with BLAS/OpenMP thread pools limited to one
thread (:data:`WORKER_THREAD_VARIABLES`, unless the caller set them): every worker is one
process on one core, and multi-threaded BLAS inside several busy workers made Optuna's TPE
several times slower. :func:`write_reports` draws the tables and figures from whatever runs
the folder holds, so it also re-draws a finished comparison.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.errors import RobnasError
from robnas.report_stats import DEFAULT_CHECKPOINTS, Ranking, rank_searchers, summarize
from robnas.run_record import SUMMARY_FILE
from robnas.trajectories import expand_to_budget, load_trajectories

if TYPE_CHECKING:
    import pandas as pd

    from robnas.benchmark import TabularOracle

logger = logging.getLogger(__name__)

PLAN_FILE = "comparison.json"
RUNS_DIR = "runs"
FIGURES_DIR = "figures"
WORKER_THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Thread-pool sizes set to 1 for worker processes (a value the caller set is kept)."""


class ComparisonError(RobnasError):
    """A comparison that cannot be planned, run or reported."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison: a searcher with a seed, on an objective and dataset."""

    searcher: str
    objective: str
    dataset: str
    seed: int
    budget: int

    @property
    def run_id(self) -> str:
        """A stable folder name, so a resumed comparison finds its runs again."""
        objective = self.objective.replace("/", "_")
        return f"{self.dataset}-{objective}-{self.searcher}-s{self.seed:03d}"


def plan_runs(
    searchers: Sequence[str],
    objectives: Sequence[str],
    datasets: Sequence[str],
    seeds: Iterable[int],
    budget: int,
) -> list[RunSpec]:
    """Every (searcher, objective, dataset, seed) combination, validated.

    Objective and dataset texts are canonicalised (``PGD@1/255`` -> ``pgd@1/255``); whether
    the table holds the objective is checked when the oracles load (:func:`run_comparison`).

    Raises:
        ComparisonError: unknown searcher, empty list, duplicate, a cost metric as objective
            or a budget below 1.
        InvalidObjectiveError: an objective that does not parse.
    """
    from robnas.objective import Objective
    from robnas.searchers import SEARCHERS
    from robnas.vocabulary import parse_dataset

    unknown = [s for s in searchers if s not in SEARCHERS]
    if unknown:
        raise ComparisonError(f"unknown searcher {unknown[0]!r}; choose from {', '.join(SEARCHERS)}")
    seed_list = list(seeds)
    for what, items in (("searchers", searchers), ("objectives", objectives),
                        ("datasets", datasets), ("seeds", seed_list)):
        if not items:
            raise ComparisonError(f"a comparison needs at least one of {what}")
    if budget < 1:
        raise ComparisonError(f"budget must be at least 1, got {budget}")
    parsed = [Objective.parse(o) for o in objectives]
    costs = [str(o) for o in parsed if o.is_cost]
    if costs:
        raise ComparisonError(f"{costs[0]} is a cost, not an objective to maximise; compare on accuracies")
    canonical_objectives = _unique(str(o) for o in parsed)
    canonical_datasets = _unique(parse_dataset(d).value for d in datasets)
    return [
        RunSpec(searcher, objective, dataset, int(seed), int(budget))
        for dataset in canonical_datasets
        for objective in canonical_objectives
        for searcher in _unique(searchers)
        for seed in seed_list
    ]


@dataclass
class ComparisonRun:
    """What :func:`run_comparison` did.

    Attributes:
        out_dir: the comparison folder.
        ran: runs executed now.
        skipped: runs found finished and not repeated.
        wall_seconds: wall time of the whole call (loading, runs, no reports).
        run_seconds: per searcher, the summed wall time of its runs inside the workers.
        workers: per process id that ran runs: ``runs`` (how many), ``oracle_loads`` (tabular
            oracles it built: one per dataset, however many runs) and ``threads`` (its
            ``OPENBLAS_NUM_THREADS``).
        timeline: per run executed, in the order it was counted: ``(finished, counted)``, the
            wall-clock times (``time.time()``) at which it ended and at which this process
            counted it (and advanced the progress bar).
    """

    out_dir: Path
    ran: int = 0
    skipped: int = 0
    wall_seconds: float = 0.0
    run_seconds: dict[str, float] = field(default_factory=dict)
    workers: dict[int, dict[str, Any]] = field(default_factory=dict)
    timeline: list[tuple[float, float]] = field(default_factory=list)


def run_comparison(
    specs: Sequence[RunSpec],
    out_dir: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    progress: bool = False,
    oracles: dict[str, TabularOracle] | None = None,
) -> ComparisonRun:
    """Run every spec that has no finished run record under ``out_dir/runs``.

    Args:
        specs: from :func:`plan_runs`.
        out_dir: the comparison folder (created).
        data: data root of the released table (default: ``$ROBNAS_DATA``, then the per-user dir).
        jobs: worker processes (default: the CPU count; 1 runs in this process).
        progress: show a tqdm progress bar on stderr.
        oracles: from :func:`load_oracles` (loaded here when not given).

    Raises:
        InvalidObjectiveError: a spec's objective is not in its dataset's table.
        RobnasError: a run failed (finished runs stay; re-running resumes).
    """
    started = time.perf_counter()
    if oracles is None:
        oracles = load_oracles(specs, data)
    data_root = str(next(iter(oracles.values())).root) if oracles else str(data)
    datasets = _unique(s.dataset for s in specs)
    out = Path(out_dir)
    runs_dir = out / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    _check_budgets(runs_dir, specs)
    _write_plan(out, specs)

    todo = [s for s in specs if not (runs_dir / s.run_id / SUMMARY_FILE).is_file()]
    result = ComparisonRun(out_dir=out, skipped=len(specs) - len(todo))
    # longest first (Optuna's TPE dominates), so the pool's tail is short
    todo.sort(key=lambda s: (s.searcher != "bo", s.dataset, s.objective, s.searcher, s.seed))
    bar = _progress_bar(len(specs), result.skipped, progress)
    try:
        if (jobs or os.cpu_count() or 1) <= 1 or len(todo) <= 1:
            for spec in todo:
                searcher, seconds = _execute(spec, runs_dir, oracles[spec.dataset])
                _account(result, bar, searcher, seconds, time.time())
        else:
            _run_in_pool(todo, runs_dir, datasets, data_root, jobs, result, bar)
    finally:
        if bar is not None:
            bar.close()
    result.wall_seconds = time.perf_counter() - started
    return result


def load_oracles(
    specs: Sequence[RunSpec], data: str | os.PathLike[str] | None = None
) -> dict[str, TabularOracle]:
    """The tabular oracle of each dataset the specs use, with every objective validated.

    Raises:
        InvalidObjectiveError: an objective is not in its dataset's table (lists the choices).
        DataNotFoundError: the released data is not where robnas looked.
    """
    from robnas.benchmark import TabularOracle

    oracles = {d: TabularOracle(d, data=data) for d in _unique(s.dataset for s in specs)}
    for objective, dataset in _unique((s.objective, s.dataset) for s in specs):
        oracles[dataset].validate(objective)
    return oracles


@dataclass
class ComparisonReport:
    """The tables and files :func:`write_reports` produced."""

    trajectories: pd.DataFrame
    summary: pd.DataFrame
    ranking: Ranking
    optima: dict[tuple[str, str], float]
    files: list[Path]

    def markdown(self) -> str:
        """The summary and the ranking as Markdown."""
        from robnas.report_tables import ranking_markdown, summary_markdown

        return summary_markdown(self.summary, self.optima) + "\n" + ranking_markdown(self.ranking)


def write_reports(
    out_dir: str | os.PathLike[str],
    *,
    checkpoints: Iterable[int] = DEFAULT_CHECKPOINTS,
    metric: str = "value",
    log_x: bool = False,
    formats: Sequence[str] = ("png",),
) -> ComparisonReport:
    """Read the runs of a comparison folder and write its tables and figures.

    Reads ``out_dir/runs`` when it exists, else run records anywhere under ``out_dir`` (so a
    folder of plain ``robnas search`` records can be compared too). Runs without a summary are
    left out.

    Raises:
        NoRunsError: the folder holds no finished run.
    """
    from robnas.report_plots import plot_anytime
    from robnas.report_tables import ranking_markdown, summary_markdown

    out = Path(out_dir)
    source = out / RUNS_DIR if (out / RUNS_DIR).is_dir() else out
    table = load_trajectories(source)
    expanded = expand_to_budget(table)
    summary = summarize(expanded, checkpoints)
    ranking = rank_searchers(expanded)
    optima = {key: float(v) for key, v in
              table.groupby(["dataset", "objective"])["optimum"].first().items()}
    files: list[Path] = []
    table.to_parquet(out / "trajectories.parquet", index=False)
    files.append(out / "trajectories.parquet")
    summary.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text("# Summary\n\n" + summary_markdown(summary, optima),
                                    encoding="utf-8")
    ranking.ranks.to_csv(out / "ranking.csv", index=False)
    ranking.pairwise.to_csv(out / "pairwise.csv", index=False)
    (out / "ranking.md").write_text("# Ranking\n\n" + ranking_markdown(ranking), encoding="utf-8")
    files += [out / name for name in ("summary.md", "summary.csv", "ranking.md", "ranking.csv",
                                      "pairwise.csv")]
    panels = expanded.groupby(["dataset", "objective"]).ngroups
    files += plot_anytime(expanded, out / FIGURES_DIR, metric=metric, log_x=log_x,
                          formats=formats, combined=panels > 1)
    return ComparisonReport(table, summary, ranking, optima, files)


# -- workers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Done:
    """What one finished run reports back to the parent process."""

    searcher: str
    seconds: float
    pid: int
    oracle_loads: int
    threads: str | None
    finished: float


_WORKER_ORACLES: dict[str, TabularOracle] = {}
"""Per worker process: dataset -> its oracle, filled once by :func:`_init_worker`."""
_WORKER_LOADS: list[str] = []
"""Per worker process: the datasets whose oracle it built (to report loads per worker)."""


def _init_worker(datasets: Sequence[str], data_root: str) -> None:
    from robnas.benchmark import TabularOracle

    for dataset in datasets:
        _WORKER_ORACLES[dataset] = TabularOracle(dataset, data=data_root)
        _WORKER_LOADS.append(dataset)


def _run_in_worker(spec: RunSpec, runs_dir: Path) -> _Done:
    searcher, seconds = _execute(spec, runs_dir, _WORKER_ORACLES[spec.dataset])
    return _Done(searcher, seconds, os.getpid(), len(_WORKER_LOADS),
                 os.environ.get("OPENBLAS_NUM_THREADS"), time.time())


def _execute(spec: RunSpec, runs_dir: Path, oracle: TabularOracle) -> tuple[str, float]:
    from robnas.loop import run_search
    from robnas.searchers import SEARCHERS

    run_dir = runs_dir / spec.run_id
    if run_dir.exists():  # cut short earlier: start again (seeded, so the same run)
        shutil.rmtree(run_dir)
    started = time.perf_counter()
    searcher = SEARCHERS[spec.searcher](seed=spec.seed)
    run_search(searcher, oracle, spec.objective, spec.budget, record_dir=run_dir)
    return spec.searcher, time.perf_counter() - started


@contextlib.contextmanager
def worker_environment() -> Iterator[dict[str, str]]:
    """Set :data:`WORKER_THREAD_VARIABLES` to ``1`` (where unset) while workers are started.

    Spawned workers inherit the environment when they start, and BLAS reads it when it loads,
    so this is the one moment the setting can reach them; the parent's own environment is
    restored on exit. Yields the variables it set.
    """
    added = {name: "1" for name in WORKER_THREAD_VARIABLES if name not in os.environ}
    os.environ.update(added)
    try:
        yield added
    finally:
        for name in added:
            os.environ.pop(name, None)


def _run_in_pool(todo: Sequence[RunSpec], runs_dir: Path, datasets: Sequence[str],
                 data_root: str, jobs: int | None, result: ComparisonRun, bar: Any) -> None:
    workers = min(jobs or os.cpu_count() or 1, len(todo))
    context = multiprocessing.get_context("spawn")
    with worker_environment(), ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker,
            initargs=(list(datasets), data_root)) as pool:
        pending: set[Future[_Done]] = {pool.submit(_run_in_worker, spec, runs_dir) for spec in todo}
        try:
            while pending:
                # count each run as it ends (FIRST_EXCEPTION would wait for all of them)
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()  # a failed run raises here
                    _account(result, bar, outcome.searcher, outcome.seconds, outcome.finished)
                    worker = result.workers.setdefault(outcome.pid, {"runs": 0})
                    worker.update(runs=worker["runs"] + 1, oracle_loads=outcome.oracle_loads,
                                  threads=outcome.threads)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _account(result: ComparisonRun, bar: Any, searcher: str, seconds: float,
             finished: float) -> None:
    result.ran += 1
    result.timeline.append((finished, time.time()))
    result.run_seconds[searcher] = result.run_seconds.get(searcher, 0.0) + seconds
    if bar is not None:
        bar.update(1)


def _progress_bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="run", desc="compare", dynamic_ncols=True)


def _write_plan(out: Path, specs: Sequence[RunSpec]) -> None:
    path = out / PLAN_FILE
    runs: dict[str, dict[str, Any]] = {}
    if path.is_file():
        try:
            runs = {r["run_id"]: r for r in json.loads(path.read_text(encoding="utf-8"))["runs"]}
        except (ValueError, KeyError, TypeError):
            raise ComparisonError(f"{path} is not a comparison plan") from None
    runs.update({s.run_id: asdict(s) | {"run_id": s.run_id} for s in specs})
    plan = {
        "searchers": _unique(r["searcher"] for r in runs.values()),
        "objectives": _unique(r["objective"] for r in runs.values()),
        "datasets": _unique(r["dataset"] for r in runs.values()),
        "seeds": sorted({r["seed"] for r in runs.values()}),
        "budget": max((r["budget"] for r in runs.values()), default=0),
        "runs": list(runs.values()),
    }
    path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")


def _check_budgets(runs_dir: Path, specs: Sequence[RunSpec]) -> None:
    from robnas.trajectories import read_run_info

    for spec in specs:
        run_dir = runs_dir / spec.run_id
        if (run_dir / SUMMARY_FILE).is_file():
            budget = read_run_info(run_dir).budget
            if budget != spec.budget:
                raise ComparisonError(
                    f"{run_dir} was run with budget {budget}, not {spec.budget}; "
                    "use another --out folder for another budget"
                )


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))
