"""Running a comparison: the planned runs as tasks of an executor, resumable.

:func:`run_comparison` runs what is missing: a run whose folder holds ``summary.json`` is done
and not repeated, so an interrupted comparison resumes where it stopped; a run cut short (a
record with its config but no summary) is continued through the loop's own resume
(:func:`robnas.loop.run_search` with ``resume=True``: its recorded trials are replayed, checked
against the table and not evaluated again). Each run is one task of a
:class:`~robnas.execution.Executor` (the local process pool by default, or Ray):

* local workers share this machine's file system, so each writes its run record in place
  (the record's lock keeps one writer per run): a comparison killed mid-run leaves partial
  records, which the next call resumes;
* Ray workers may be on other machines: the task runs the search into a private folder of
  its worker (seeded with the partial record, if the driver has one) and sends the run
  record's files back, and this process alone writes them under ``runs/`` (atomically, once
  per run), so no shared file system is needed and a task that Ray retried after its worker
  died is written and counted once.

Each worker process loads the tabular oracle of every dataset once, not once per run.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.compare.plan import RUNS_DIR, RunSpec, check_budgets, check_plan, load_oracles, unique, write_plan
from robnas.compare.reuse import check_finished_runs
from robnas.execution import WORKER_THREAD_VARIABLES, Executor, LocalExecutor, worker_environment
from robnas.run_record import CONFIG_FILE, SUMMARY_FILE

if TYPE_CHECKING:
    from robnas.benchmark import TabularOracle
    from robnas.multi_objective import ParetoProblem

__all__ = ["WORKER_THREAD_VARIABLES", "ComparisonRun", "run_comparison", "worker_environment"]

logger = logging.getLogger(__name__)


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
    executor: Executor | None = None,
    on_checked: Callable[[], None] | None = None,
) -> ComparisonRun:
    """Run every spec that has no finished run record under ``out_dir/runs`` (the finished
    ones are checked against the table first).

    Args:
        specs: from :func:`plan_runs`.
        out_dir: the comparison folder (created).
        data: data root of the released table (default: ``$ROBNAS_DATA``, then the per-user dir).
        jobs: worker processes of the default local executor (default: the CPU count; 1 runs
            in this process).
        progress: show a tqdm progress bar on stderr.
        oracles: from :func:`load_oracles` (loaded here when not given; checks the objectives).
        executor: where the runs execute (default: ``LocalExecutor(jobs)``; the caller closes
            an executor it passes).
        on_checked: called once the folder's plan and finished runs are checked, before any
            run starts (the CLI announces the folder there, so that a refusal is its one line).

    Raises:
        InvalidObjectiveError: a spec's objective is not in its dataset's table.
        RunRecordError: a finished run it would reuse disagrees with the table
            (:func:`~robnas.compare.reuse.check_finished_runs`).
        ComparisonError: the folder's plan file is unreadable, or of the other kind (single-
            or multi-objective; :func:`~robnas.compare.plan.check_plan`).
        RobnasError: a run failed (finished runs stay; re-running resumes).
    """
    started = time.perf_counter()
    if oracles is None:
        oracles = load_oracles(specs, data)
    data_root = str(next(iter(oracles.values())).root) if oracles else str(data)
    datasets = unique(s.dataset for s in specs)
    out = Path(out_dir)
    runs_dir = out / RUNS_DIR
    check_plan(out, specs)
    check_budgets(runs_dir, specs)
    if runs_dir.is_dir():
        check_finished_runs(runs_dir, oracles, data_root)
    if on_checked is not None:
        on_checked()
    runs_dir.mkdir(parents=True, exist_ok=True)
    write_plan(out, specs)
    _remove_staging(out)

    todo = [s for s in specs if not (runs_dir / s.run_id / SUMMARY_FILE).is_file()]
    result = ComparisonRun(out_dir=out, skipped=len(specs) - len(todo))
    # longest first (Optuna's TPE dominates), so the pool's tail is short
    todo.sort(key=lambda s: (s.searcher not in _SLOW, s.dataset, s.objective, s.searcher, s.seed))
    bar = _progress_bar(len(specs), result.skipped, progress)
    engine = executor or LocalExecutor(jobs)
    in_place = isinstance(engine, LocalExecutor)
    tasks = [_RunTask(spec, str(runs_dir) if in_place else None,
                      {} if in_place else _partial_record(runs_dir / spec.run_id))
             for spec in todo]
    try:
        for position, outcome in engine.imap_unordered(
                _run_in_worker, tasks, setup=_load_worker_oracles,
                setup_args=(tuple(datasets), data_root, _optuna_verbosity())):
            if not in_place:
                _write_record(runs_dir, todo[position].run_id, outcome.files)
            _account(result, bar, outcome)
    finally:
        if bar is not None:
            bar.close()
        if executor is None:
            engine.close()
    result.wall_seconds = time.perf_counter() - started
    return result



# -- workers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Done:
    """What one finished run sends back to the driver: its record's files and timings."""

    searcher: str
    seconds: float
    pid: int
    oracle_loads: int
    threads: str | None
    finished: float
    files: dict[str, bytes]


_SLOW = ("bo", "nsga2", "motpe")
"""Searchers whose runs take longest (Optuna's): started first so the pool's tail is short."""
_WORKER_LOADS: list[str] = []
"""Per worker process: the datasets whose oracle it built (to report loads per worker)."""


@dataclass
class _WorkerContext:
    """What a worker process builds once and keeps for all its runs."""

    oracles: dict[str, TabularOracle]
    """Dataset -> its tabular oracle."""
    problems: dict[tuple[str, str], ParetoProblem] = field(default_factory=dict)
    """(dataset, objective group) -> its multi-objective problem (true front, hypervolume),
    built at the first run that needs it."""


def _load_worker_oracles(datasets: Sequence[str], data_root: str,
                         optuna_verbosity: int | None = None) -> _WorkerContext:
    """A worker's context: the tabular oracle of each dataset (built once per worker process)."""
    from robnas.benchmark import TabularOracle

    if optuna_verbosity is not None:  # a spawned worker starts with Optuna's defaults
        import optuna

        optuna.logging.set_verbosity(optuna_verbosity)

    oracles = {}
    for dataset in datasets:
        oracles[dataset] = TabularOracle(dataset, data=data_root)
        _WORKER_LOADS.append(dataset)
    return _WorkerContext(oracles)


@dataclass(frozen=True)
class _RunTask:
    """One run for a worker: where to write its record, or the partial record to continue."""

    spec: RunSpec
    runs_dir: str | None
    """The comparison's ``runs/`` folder when the worker shares this file system, else ``None``
    (the record is written in a private folder and sent back)."""
    partial: dict[str, bytes]
    """A run cut short: its record's files, continued by the worker (``{}``: none)."""


def _run_in_worker(context: _WorkerContext, task: _RunTask) -> _Done:
    """One run, in place or into a private folder whose files go back to the driver."""
    spec = task.spec
    if task.runs_dir is not None:
        searcher, seconds = _execute(spec, Path(task.runs_dir), context)
        files: dict[str, bytes] = {}
    else:
        with tempfile.TemporaryDirectory(prefix="robnas-run-") as scratch:
            run_dir = Path(scratch) / spec.run_id
            if task.partial:
                run_dir.mkdir()
                for name, payload in task.partial.items():
                    (run_dir / name).write_bytes(payload)
            searcher, seconds = _execute(spec, Path(scratch), context)
            files = {p.name: p.read_bytes() for p in sorted(run_dir.iterdir())
                     if p.is_file() and not p.name.startswith(".")}
    return _Done(searcher, seconds, os.getpid(), len(_WORKER_LOADS),
                 os.environ.get("OPENBLAS_NUM_THREADS"), time.time(), files)


def _partial_record(run_dir: Path) -> dict[str, bytes]:
    """The files of a run cut short (config written, no summary), else ``{}``."""
    if not (run_dir / CONFIG_FILE).is_file() or (run_dir / SUMMARY_FILE).is_file():
        return {}
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir())
            if p.is_file() and not p.name.startswith(".")}


def _execute(spec: RunSpec, runs_dir: Path, context: _WorkerContext) -> tuple[str, float]:
    from robnas.loop import run_search
    from robnas.multi_objective import is_multi
    from robnas.searchers import SEARCHERS

    run_dir = runs_dir / spec.run_id
    resume = (run_dir / CONFIG_FILE).is_file()  # cut short earlier: continue it
    if run_dir.exists() and not resume:  # killed before its config was written: nothing to keep
        shutil.rmtree(run_dir)
    started = time.perf_counter()
    if is_multi(spec.objective):
        _execute_multi(spec, run_dir, context, resume)
    else:
        searcher = SEARCHERS[spec.searcher](**dict(spec.params), seed=spec.seed)
        run_search(searcher, context.oracles[spec.dataset], spec.objective, spec.budget,
                   record_dir=run_dir, resume=resume)
    return spec.label, time.perf_counter() - started


def _execute_multi(spec: RunSpec, run_dir: Path, context: _WorkerContext, resume: bool) -> None:
    from robnas.multi_loop import run_multi_search
    from robnas.multi_objective import ParetoProblem
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS

    oracle = context.oracles[spec.dataset]
    key = (spec.dataset, spec.objective)
    if key not in context.problems:  # the true front and its hypervolume, once per worker
        context.problems[key] = ParetoProblem.from_oracle(oracle, spec.objective)
    searcher = MULTI_OBJECTIVE_SEARCHERS[spec.searcher](**dict(spec.params), seed=spec.seed)
    run_multi_search(searcher, oracle, spec.objective, spec.budget, record_dir=run_dir,
                     resume=resume, problem=context.problems[key])


_STAGING = ".staging-"
"""Prefix of the folder a finished run's files are written into before it is moved in place."""


def _remove_staging(out: Path) -> None:
    """Staging folders left by a driver killed while writing a run (never a finished run)."""
    for path in out.glob(f"{_STAGING}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _write_record(runs_dir: Path, run_id: str, files: dict[str, bytes]) -> None:
    """Write a finished run's files as ``runs_dir/run_id``, replacing a run cut short."""
    staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{run_id}-", dir=runs_dir.parent))
    try:
        for name, payload in files.items():
            (staging / name).write_bytes(payload)
        target = runs_dir / run_id
        if target.exists():  # cut short earlier (no summary): replaced by its continuation
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _optuna_verbosity() -> int | None:
    """This process's Optuna verbosity, for the workers to copy (``None``: Optuna not loaded)."""
    optuna = sys.modules.get("optuna")
    return None if optuna is None else int(optuna.logging.get_verbosity())


def _account(result: ComparisonRun, bar: Any, outcome: _Done) -> None:
    result.ran += 1
    result.timeline.append((outcome.finished, time.time()))
    result.run_seconds[outcome.searcher] = result.run_seconds.get(outcome.searcher, 0.0) + outcome.seconds
    worker = result.workers.setdefault(outcome.pid, {"runs": 0})
    worker.update(runs=worker["runs"] + 1, oracle_loads=outcome.oracle_loads, threads=outcome.threads)
    if bar is not None:
        bar.update(1)


def _progress_bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="run", desc="compare", dynamic_ncols=True)
