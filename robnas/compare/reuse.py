"""Checks on the finished runs a comparison reuses instead of running them again.

A comparison folder keeps every finished run; re-running ``robnas compare`` into it reports
them with the new ones. Their numbers go straight into the statistics, so they are checked
against the table first, as ``robnas search --resume`` checks a record it continues: every
trial's cell, index and value(s) (:func:`robnas.run_record.check_trials`,
:func:`robnas.multi_loop.check_vectors`), the running best (hypervolume share), and the
``optimum`` the regret is taken from (a single-objective run's ``summary.json``; a
multi-objective run's is 1, its true hypervolume and reference point in ``config.json``, and
what the fronts report reads from its ``summary.json``: the true front, its size and the final
share). A record edited by hand,
or written over other data, is refused in one line that names its file and line.
``compare --from`` re-draws without the data and so cannot check.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.errors import DataNotFoundError, RunRecordError
from robnas.objective import CLEAN
from robnas.run_record import CONFIG_FILE, SUMMARY_FILE, TRIALS_FILE, RunRecord, check_trials, recorded_matches

if TYPE_CHECKING:
    from robnas.benchmark import TabularOracle
    from robnas.multi_objective import ParetoProblem

__all__ = ["check_finished_runs"]


def check_finished_runs(runs_dir: Path, oracles: dict[str, TabularOracle],
                        data_root: str | Path) -> None:
    """Check every finished tabular record under ``runs_dir`` (one with a ``summary.json``:
    the report reads them all, planned this time or not) against its dataset's table, taken
    from ``oracles`` or read from ``data_root`` (and added to ``oracles``; a run of a dataset
    not installed there is left unchecked, as ``--from`` leaves every run). Runs not finished
    are left to the run that resumes them (which checks them itself).

    Raises:
        RunRecordError: ``cannot compare: <file> ...``, naming the first wrong entry.
    """
    from robnas.benchmark import TabularOracle
    from robnas.multi_objective import ParetoProblem, is_multi, parse_objectives

    problems: dict[tuple[str, str], ParetoProblem] = {}
    for summary in sorted(runs_dir.glob(f"*/{SUMMARY_FILE}")):
        run_dir = summary.parent
        record = RunRecord.open(run_dir)
        config = record.config()
        objective, dataset = config.get("objective"), config.get("dataset")
        if config.get("mode") != "tabular" or not isinstance(objective, str) or not isinstance(dataset, str):
            continue  # not a table's run (or not a run config: the report says so)
        if dataset not in oracles:
            oracle = TabularOracle(dataset, data=data_root)
            try:
                oracle.validate(CLEAN)  # reads the dataset's first file
            except DataNotFoundError:  # not installed here: reported as before, unchecked
                continue
            oracles[dataset] = oracle
        oracle = oracles[dataset]
        trials = record.read_trials()
        if is_multi(objective):
            from robnas.multi_loop import check_problem_fields, check_vectors

            if (dataset, objective) not in problems:
                problems[dataset, objective] = ParetoProblem.from_oracle(oracle, objective)
            problem = problems[dataset, objective]
            check_vectors(trials, oracle, parse_objectives(objective), problem,
                          run_dir / TRIALS_FILE, action="compare")
            _check_number(config, "true_hypervolume", problem.true_hypervolume, run_dir / CONFIG_FILE)
            check_problem_fields(config, problem, run_dir / CONFIG_FILE, action="compare")
            fields = record.summary() or {}
            _check_number(fields, "optimum", 1.0, summary)
            # what the fronts report reads from the summary: the share of classes found is
            # counted against true_front_size, the median run chosen by best_value
            _check_number(fields, "true_front_size", len(problem.front_rows), summary)
            _check_true_front(fields.get("true_front"), problem, summary)  # the fronts figure draws it
            if fields.get("n_evaluations") == len(trials):  # the summary of the last session
                _check_number(fields, "best_value", trials[-1]["best"] if trials else None, summary)
            continue
        limits = {key[4:]: config[key] for key in ("max_params", "max_flops") if config.get(key) is not None}
        check_trials(trials, oracle, objective, config.get("min_clean"), run_dir / TRIALS_FILE,
                     limits=limits, action="compare")
        if config.get("min_clean") is None and not limits:  # a comparison plans unconstrained runs
            _check_number(record.summary() or {}, "optimum", oracle.optimum(objective), summary)


def _check_number(fields: Mapping[str, Any], key: str, expected: float | None, path: Path) -> None:
    """Refuse ``fields[key]`` unless it is ``expected`` (within rounding)."""
    if expected is None:
        return
    recorded = fields.get(key)
    if not recorded_matches(recorded, expected):
        raise RunRecordError(f"cannot compare: {path}: {key} {recorded!r} is not the data's "
                             f"{float(expected)!r}; the record was edited or belongs to other data")


def _check_true_front(recorded: Any, problem: ParetoProblem, path: Path) -> None:
    """Refuse a summary's ``true_front`` unless it holds the table's true front: each class's
    index and objective values, in order."""
    expected = problem.true_front()
    names = [o.name for o in problem.objectives]
    rows = recorded if isinstance(recorded, list) else []
    same = len(rows) == len(expected) and all(
        isinstance(row, dict) and row.get("index") == int(want["index"])
        and all(recorded_matches(row.get(n), float(want[n])) for n in names)
        for row, (_, want) in zip(rows, expected.iterrows(), strict=False))
    if not same:
        raise RunRecordError(f"cannot compare: {path}: true_front is not the data's ({len(expected)} classes); "
                             "the record was edited or belongs to other data")

