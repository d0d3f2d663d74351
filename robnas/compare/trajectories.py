"""Trajectories: many run records read into one tidy pandas table.

A run record is a folder ``<run-id>/`` holding ``config.json``, ``trials.jsonl`` (one line per
distinct evaluated cell) and, once the run finished, ``summary.json`` (see :mod:`robnas.loop`).
:func:`load_trajectories` reads every record under a folder into a table with one row per run
and evaluation; :func:`expand_to_budget` puts all runs on a common grid ``n = 1..budget``,
carrying the best value so far forward past the end of a run that stopped early.

Columns of the tidy table (:data:`TRAJECTORY_COLUMNS`):

``run_id, searcher, objective, dataset, seed, budget, n, value, best, clean, optimum, regret,
found, time``

where ``regret = optimum - best`` (NaN where the optimum is unknown, e.g. live runs) and
``found`` says whether ``best`` has reached the optimum (within :data:`FOUND_TOLERANCE`). In a
multi-objective run ``best`` is the share of the true front's hypervolume found so far (its
optimum 1), ``value`` is NaN (a cell's value is a vector: the run's ``trials.jsonl`` has it)
and ``clean`` is the cell's clean accuracy where ``clean`` is one of the objectives.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> write_run_record(root / "r1", searcher="random", objective="clean", dataset="cifar10",
...                  seed=0, values=[0.5, 0.7, 0.6], optimum=0.9)  # doctest: +ELLIPSIS
PosixPath('...r1')
>>> table = load_trajectories(root)
>>> table[["n", "value", "best", "regret"]].round(2).values.tolist()
[[1.0, 0.5, 0.5, 0.4], [2.0, 0.7, 0.7, 0.2], [3.0, 0.6, 0.7, 0.2]]
>>> expand_to_budget(table, 4)["best"].round(2).tolist()
[0.5, 0.7, 0.7, 0.7]
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.compare.plan import config_label
from robnas.errors import ComparisonError, NoRunsError, RobnasError
from robnas.run_record import CONFIG_FILE, TRIALS_FILE, RunRecord, RunRecordError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

logger = logging.getLogger(__name__)

FOUND_TOLERANCE = 1e-9
"""A best value within this of the optimum counts as having found it."""

RUN_KEYS: tuple[str, ...] = ("run_id", "searcher", "objective", "dataset", "seed")
"""The columns that identify a run."""

TRAJECTORY_COLUMNS: tuple[str, ...] = (
    *RUN_KEYS,
    "budget",
    "n",
    "value",
    "best",
    "clean",
    "optimum",
    "regret",
    "found",
    "time",
)
"""The columns of the tidy trajectory table, in order."""


@dataclass(frozen=True)
class RunInfo:
    """What identifies one run record, read from its ``config.json`` and ``summary.json``.

    Attributes:
        path: the run folder.
        run_id: the folder's run id.
        searcher: registry name of the searcher (``random``, ``re``, ``ls``, ``bo``), with
            the hyperparameters that differ from its defaults (``re:warmup=params``, see
            :func:`~robnas.compare.plan.searcher_label`).
        objective: canonical objective text (``pgd@1/255``).
        dataset: dataset name.
        seed: the searcher's seed (``None`` if it had none).
        budget: the budget the run was asked for.
        optimum: the table's optimum for this objective, if known.
        finished: whether ``summary.json`` exists.
    """

    path: Path
    run_id: str
    searcher: str
    objective: str
    dataset: str
    seed: int | None
    budget: int
    optimum: float | None
    finished: bool


def find_run_dirs(root: str | os.PathLike[str]) -> list[Path]:
    """Every folder at or below ``root`` that holds a ``config.json`` (sorted by path)."""
    base = Path(root)
    if not base.is_dir():
        raise NoRunsError(f"no such folder: {base}")
    return sorted(p.parent for p in base.rglob(CONFIG_FILE))


def read_run_info(run_dir: str | os.PathLike[str]) -> RunInfo:
    """Read the identity of the run record in ``run_dir``.

    Raises:
        RunRecordError: ``config.json`` (or ``summary.json``) is missing a field or is not JSON.
    """
    path = Path(run_dir)
    record = RunRecord(path)
    config = record.config()
    summary = record.summary()
    try:
        name = config_label(config["searcher"])
        optimum = (summary or {}).get("optimum", config.get("optimum"))
        seed = config.get("seed")
        return RunInfo(
            path=path,
            run_id=str(config.get("run_id") or path.name),
            searcher=str(name),
            objective=str(config["objective"]),
            dataset=str(config["dataset"]),
            seed=None if seed is None else int(seed),
            budget=int(config["budget"]),
            optimum=None if optimum is None else float(optimum),
            finished=summary is not None,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise RunRecordError(f"{path / CONFIG_FILE}: not a run config ({err!r})") from None


def load_trajectories(
    root: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    finished_only: bool = True,
) -> pd.DataFrame:
    """Read run records into the tidy trajectory table (one row per run and evaluation).

    Args:
        root: a folder searched recursively for run records, or an iterable of run folders.
        finished_only: skip runs without ``summary.json`` (killed or still running).

    Returns:
        A DataFrame with :data:`TRAJECTORY_COLUMNS`, sorted by run and ``n``. ``best`` is the
        record's own best-so-far where present (it may honour a clean-accuracy constraint),
        else the running maximum of ``value``.

    Raises:
        NoRunsError: no (finished) run record was found.
        RunRecordError: a record is malformed (a torn last line of a killed run is ignored).
        ComparisonError: two run folders hold one run id (a searcher and seed of two
            comparisons read together), which the table would merge into one run.
    """
    import pandas as pd

    if isinstance(root, (str, os.PathLike)):
        dirs = find_run_dirs(root)
        where = str(root)
    else:
        dirs = [Path(p) for p in root]
        where = "the given folders"
    frames = []
    seen: dict[str, Path] = {}
    for run_dir in dirs:
        info = read_run_info(run_dir)
        if finished_only and not info.finished:
            logger.info("skipping unfinished run %s", run_dir)
            continue
        if info.run_id in seen:  # the table tells runs apart by id: they would merge into one
            raise ComparisonError(
                f"{seen[info.run_id]} and {run_dir} are two runs with one run id ({info.run_id}, e.g. "
                "one searcher and seed in two comparisons): the trajectory table tells runs apart by "
                "id and would merge them into one; read each folder of runs on its own")
        seen[info.run_id] = run_dir
        frames.append(_run_frame(info, RunRecord(run_dir).read_trials()))
    if not frames:
        raise NoRunsError(f"no finished run records under {where}")
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["dataset", "objective", "searcher", "seed", "run_id", "n"],
                             kind="stable").reset_index(drop=True)


def _run_frame(info: RunInfo, trials: Sequence[dict[str, Any]]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    n = np.array([int(t["n"]) for t in trials], dtype=np.int64)
    value = _numbers(info, trials, "value")
    best = _numbers(info, trials, "best")
    if best.size and np.isnan(best).all():
        best = np.fmax.accumulate(value)
    optimum = math.nan if info.optimum is None else info.optimum
    regret = optimum - best
    frame = pd.DataFrame(
        {
            "run_id": info.run_id,
            "searcher": info.searcher,
            "objective": info.objective,
            "dataset": info.dataset,
            "seed": pd.array([info.seed] * len(trials), dtype="Int64"),
            "budget": info.budget,
            "n": n,
            "value": value,
            "best": best,
            "clean": _clean_column(info, trials),
            "optimum": optimum,
            "regret": regret,
            "found": _found(best, optimum),
            "time": _numbers(info, trials, "time"),
        },
        columns=list(TRAJECTORY_COLUMNS),
    )
    return frame.sort_values("n", kind="stable")


def _clean_column(info: RunInfo, trials: Sequence[dict[str, Any]]) -> np.ndarray:
    """Each trial's clean accuracy: its ``clean`` entry, or in a multi-objective run (a vector
    of ``values`` per trial) the component of the objective ``clean`` where it is one."""
    import numpy as np

    if trials and "values" in trials[0] and "clean" not in trials[0]:
        names = [part.strip().split(":")[0] for part in str(info.objective).split(",")]
        if "clean" not in names:
            return np.full(len(trials), np.nan)
        position = names.index("clean")
        return np.array([_number(info, t, "values", position) for t in trials], dtype=np.float64)
    return _numbers(info, trials, "clean")


def _numbers(info: RunInfo, trials: Sequence[dict[str, Any]], field: str) -> np.ndarray:
    """The trials' ``field`` as floats (NaN where absent or null), see :func:`_number`."""
    import numpy as np

    return np.array([_number(info, t, field) for t in trials], dtype=np.float64)


def _number(info: RunInfo, trial: dict[str, Any], field: str, position: int | None = None) -> float:
    """A trial's number ``field`` (its ``position``-th entry for a list such as ``values``):
    NaN where absent or null.

    Raises:
        RunRecordError: the entry is not a number (a record edited by hand: a string, a list,
            ``true``), naming the file and line, rather than a ``ValueError`` deep in pandas.
    """
    where = f"{info.path / TRIALS_FILE}: line {trial['n']}"
    value = trial.get(field)
    if position is not None and value is not None:
        if not isinstance(value, list) or position >= len(value):
            raise RunRecordError(f"{where}: {field} {value!r} has no entry {position + 1}; the record "
                                 "was edited")
        value = value[position]
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        label = field if position is None else f"{field} entry {position + 1}"
        raise RunRecordError(f"{where}: {label} {value!r} is not a number; the record was edited")
    return float(value)


def expand_to_budget(table: pd.DataFrame, budget: int | None = None) -> pd.DataFrame:
    """Put every run on the grid ``n = 1..budget``, carrying ``best`` forward.

    Rows past the end of a run (a run that stopped early, e.g. because it ran out of cells
    satisfying a constraint) repeat its last ``best``/``regret``/``found`` with ``value`` NaN;
    evaluations beyond ``budget`` are dropped. Before a run's first feasible value ``best``
    stays NaN.

    Args:
        table: a trajectory table from :func:`load_trajectories`.
        budget: the grid's end; defaults to the largest ``budget`` among the runs.

    Returns:
        A table with the same columns and exactly ``budget`` rows per run.
    """
    import numpy as np

    if table.empty:
        return table.copy()
    end = int(table["budget"].max()) if budget is None else int(budget)
    if end < 1:
        raise RobnasError(f"budget must be at least 1, got {end}")
    grid = np.arange(1, end + 1, dtype=np.int64)
    kept = table[table["n"] <= end].drop_duplicates(["run_id", "n"], keep="last")
    runs = kept.drop_duplicates("run_id")[[*RUN_KEYS, "budget", "optimum"]]
    full = runs.loc[runs.index.repeat(end)].reset_index(drop=True)
    full["n"] = np.tile(grid, len(runs))
    out = full.merge(kept[["run_id", "n", "value", "best", "clean", "time"]],
                     on=["run_id", "n"], how="left", sort=False)
    out["best"] = out.groupby("run_id", sort=False)["best"].ffill()
    out["regret"] = out["optimum"] - out["best"]
    out["found"] = _found(out["best"].to_numpy(), out["optimum"].to_numpy())
    out = out[list(TRAJECTORY_COLUMNS)]
    return out


def write_run_record(
    run_dir: str | os.PathLike[str],
    *,
    searcher: str,
    objective: str,
    dataset: str,
    seed: int | None,
    values: Sequence[float],
    optimum: float | None,
    budget: int | None = None,
    finished: bool = True,
) -> Path:
    """Write a run record with given values in the run-record format (for tests and examples).

    The real writer is :func:`robnas.loop.run_search`; this helper writes the same three files
    (``config.json``, ``trials.jsonl``, ``summary.json`` when ``finished``) from a list of
    values, so reports can be checked on records whose statistics are known.
    """
    from robnas.arch import Arch

    path = Path(run_dir)
    config = {
        "run_id": path.name,
        "searcher": {"name": searcher, "params": {"seed": seed}},
        "objective": objective,
        "dataset": dataset,
        "seed": seed,
        "budget": len(values) if budget is None else budget,
        "min_clean": None,
        "mode": "tabular",
        "versions": {},
        "oracle": {"mode": "tabular"},
        "created": "1970-01-01T00:00:00+00:00",
    }
    best = -math.inf
    with RunRecord.create(path, config) as record:
        for n, value in enumerate(values, start=1):
            if value > best:
                best, best_arch = float(value), Arch.from_code(n - 1)
            record.append_trial({
                "n": n, "index": None, "arch": Arch.from_code(n - 1).to_string(),
                "value": float(value), "best": best, "clean": None, "cost_seconds": 0.0,
                "time": 0.001 * n,
            })
        if finished:
            record.write_summary({
                "best_arch": best_arch.to_string() if values else None, "best_index": None,
                "best_value": best if values else None, "best_clean": None,
                "regret": None if optimum is None or not values else optimum - best,
                "rank": None, "optimum": optimum, "n_evaluations": len(values),
                "wall_seconds": 0.001 * len(values),
            })
    return path


def _found(best: Any, optimum: Any) -> Any:
    import numpy as np

    with np.errstate(invalid="ignore"):
        return np.greater_equal(best, np.asarray(optimum, dtype=np.float64) - FOUND_TOLERANCE)
