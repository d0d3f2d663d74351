"""Running a comparison: the planned runs in worker processes, resumable.

:func:`run_comparison` runs what is missing: a run whose folder holds ``summary.json`` is done
and not repeated, so an interrupted comparison resumes where it stopped (a run cut short is
started again from scratch: tabular runs are cheap and seeded). Runs execute in worker
processes; each worker loads the tabular oracle of every dataset once, in its initializer, not
once per run. Workers are started fresh (``spawn``) with BLAS/OpenMP thread pools limited to one
thread (:data:`WORKER_THREAD_VARIABLES`, unless the caller set them): every worker is one
process on one core, and multi-threaded BLAS inside several busy workers made Optuna's TPE
several times slower.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.compare.plan import RUNS_DIR, RunSpec, check_budgets, load_oracles, unique, write_plan
from robnas.run_record import SUMMARY_FILE

if TYPE_CHECKING:
    from robnas.benchmark import TabularOracle

logger = logging.getLogger(__name__)

WORKER_THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Thread-pool sizes set to 1 for worker processes (a value the caller set is kept)."""


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
    datasets = unique(s.dataset for s in specs)
    out = Path(out_dir)
    runs_dir = out / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    check_budgets(runs_dir, specs)
    write_plan(out, specs)

    todo = [s for s in specs if not (runs_dir / s.run_id / SUMMARY_FILE).is_file()]
    result = ComparisonRun(out_dir=out, skipped=len(specs) - len(todo))
    # longest first (Optuna's TPE dominates), so the pool's tail is short
    todo.sort(key=lambda s: (s.searcher not in _SLOW, s.dataset, s.objective, s.searcher, s.seed))
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


_SLOW = ("bo", "nsga2", "motpe")
"""Searchers whose runs take longest (Optuna's): started first so the pool's tail is short."""
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
    from robnas.multi_objective import is_multi
    from robnas.searchers import SEARCHERS

    run_dir = runs_dir / spec.run_id
    if run_dir.exists():  # cut short earlier: start again (seeded, so the same run)
        shutil.rmtree(run_dir)
    started = time.perf_counter()
    if is_multi(spec.objective):
        _execute_multi(spec, run_dir, oracle)
    else:
        searcher = SEARCHERS[spec.searcher](seed=spec.seed)
        run_search(searcher, oracle, spec.objective, spec.budget, record_dir=run_dir)
    return spec.searcher, time.perf_counter() - started


_PROBLEMS: dict[tuple[str, str], Any] = {}
"""Per process: (dataset, objective group) -> its ParetoProblem, built once (true front, HV)."""


def _execute_multi(spec: RunSpec, run_dir: Path, oracle: TabularOracle) -> None:
    from robnas.multi_loop import run_multi_search
    from robnas.multi_objective import ParetoProblem
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS

    key = (spec.dataset, spec.objective)
    if key not in _PROBLEMS:
        _PROBLEMS[key] = ParetoProblem.from_oracle(oracle, spec.objective)
    searcher = MULTI_OBJECTIVE_SEARCHERS[spec.searcher](seed=spec.seed)
    run_multi_search(searcher, oracle, spec.objective, spec.budget, record_dir=run_dir,
                     problem=_PROBLEMS[key])


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

