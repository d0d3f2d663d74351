"""The multi-objective search loop: :func:`run_search` with a list of objectives.

Asking, known and pending cells, the anti-stall guard, several workers and the replay of a
resumed run are the single-objective loop's, in one implementation (:mod:`robnas.loop_core`):
the budget counts distinct isomorphism classes, a proposal of a known (or pending) class is
answered at no cost, the anti-stall guard forces a random unseen cell after ``max_known`` known
proposals in a row, ``workers`` evaluations are kept in flight, and a killed run resumes from
its record by replaying it (see :mod:`robnas.loop` for the details). What differs:

* A searcher sees a **vector** where it saw a number: ``tell(arch, values)`` with one value per
  objective, turned larger-is-better (minimised objectives, e.g. ``params:min``, are negated;
  :func:`robnas.multi_objective.oriented`).
* Each trial line of ``trials.jsonl`` stores the raw objective vector (``values``, in the order
  of ``config.json``'s ``objectives``), ``hypervolume``: that of the evaluated cells' front so
  far, ``best``: its share of the true front's hypervolume (so comparisons plot and rank it as
  they do a best value, with optimum 1), and ``on_front``: whether the cell's class is on the
  table's true front. ``config.json``
  records the ``objectives``, the ``reference_point`` and the ``true_hypervolume``;
  ``objective`` holds the list's label (``pgd@1/255,clean``), so comparisons group such runs.
* The result is the front of the evaluated cells (:attr:`MultiSearchResult.front`, a
  DataFrame), its hypervolume, the true front's hypervolume, the hypervolume regret and the
  share of the true front's classes found. With a cost objective on a table (``params:min``),
  whose value for a class is its representative's, each front member is named by that
  representative (``arch``, ``index``): an isomorph the searcher evaluated may cost more (a
  convolution whose output never reaches the cell's output still has weights); its trial line
  keeps the cell evaluated.

A searcher that names a prior (``prior``/``warmup``, e.g. ``hvi`` with
``prior="imagenet16-120"``) gets one score column per objective, resolved here
(:func:`robnas.priors.provide_scores` -> :func:`robnas.priors.objective_scores`) before the
record is opened; ``config.json`` records its source and SHA-256s as ``prior``, and a resume
whose prior changed is refused, as in the single-objective loop.

There is no ``min_clean``: make clean accuracy an objective instead.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from robnas.arch import Arch
from robnas.cost import is_metric
from robnas.errors import InvalidParameterError
from robnas.isomorphism import class_code, class_count
from robnas.loop_core import (
    MAX_KNOWN,
    LoopCore,
    RunStats,
    check_workers,
    guard_rng,
    make_schedule,
    recorded_sessions,
)
from robnas.multi_objective import (
    DirectedObjective,
    ParetoProblem,
    evaluate_objectives,
    front_frame,
    label,
    oriented,
    parse_objectives,
)
from robnas.oracle import run_provenance
from robnas.run_record import CONFIG_FILE, RunRecord, RunRecordError, merged_provenance

if TYPE_CHECKING:
    import pandas as pd

    from robnas.execution import Executor
    from robnas.oracle import Oracle
    from robnas.searchers import Searcher




@dataclass
class MultiSearchResult(RunStats):
    """What a multi-objective search found (also what ``summary.json`` holds).

    Attributes:
        objectives: the directed objectives.
        front: the evaluated cells on their own Pareto front: ``arch``, ``index``, one column
            per objective (best first on the first objective).
        hypervolume: the front's hypervolume w.r.t. ``reference_point`` (``None`` without a table).
        reference_point: the fixed reference point of this dataset and objective list.
        true_hypervolume: the hypervolume of the table's true front.
        regret: ``true_hypervolume - hypervolume``.
        true_front_size: classes on the true front.
        true_front_found: of those, how many were evaluated.
        problem: the :class:`~robnas.multi_objective.ParetoProblem` (``None`` without a table).
    """

    objectives: tuple[DirectedObjective, ...]
    front: pd.DataFrame
    hypervolume: float | None
    reference_point: list[float] | None
    true_hypervolume: float | None
    regret: float | None
    true_front_size: int | None
    true_front_found: int | None
    problem: ParetoProblem | None = field(default=None, repr=False)

    @property
    def relative_regret(self) -> float | None:
        """``regret / true_hypervolume``: the share of the true front's hypervolume missed."""
        if self.regret is None or not self.true_hypervolume:
            return None
        return _clean(self.regret / self.true_hypervolume)  # 1 when nothing is found, not 1 - 4e-16

    @property
    def share_found(self) -> float | None:
        """Share of the true front's classes that were evaluated."""
        if not self.true_front_size:
            return None
        return (self.true_front_found or 0) / self.true_front_size

    def trials_frame(self) -> pd.DataFrame:
        """The trials as a DataFrame (:meth:`RunStats.trials_frame`), the ``values`` list of each
        trial spread into one column per objective, named as in :attr:`front`."""
        frame = super().trials_frame()
        if "values" not in frame:
            return frame
        at = frame.columns.get_loc("values")
        vectors = frame.pop("values").tolist()
        for offset, objective in enumerate(self.objectives):
            frame.insert(at + offset, objective.name, [float(v[offset]) for v in vectors])
        return frame

    def summary(self) -> dict[str, Any]:
        """The JSON-ready summary (``summary.json``). ``best_value`` is the front's share of the
        true hypervolume and ``optimum`` is 1, so comparisons read multi-objective runs as they
        read single-objective ones (the regret is then the relative hypervolume regret)."""
        return {
            "objectives": [str(o) for o in self.objectives],
            "front": _records(self.front),
            "hypervolume": self.hypervolume,
            "reference_point": self.reference_point,
            "true_hypervolume": self.true_hypervolume,
            "regret": self.regret,
            "true_front_size": self.true_front_size,
            "true_front_found": self.true_front_found,
            "share_found": self.share_found,
            "true_front": None if self.problem is None else _records(self.problem.true_front()),
            "relative_regret": self.relative_regret,
            "best_value": None if self.relative_regret is None else 1.0 - self.relative_regret,
            "optimum": None if self.true_hypervolume is None else 1.0,
            "classes": class_count(),
            **self.run_summary(),
        }


def run_multi_search(
    searcher: Searcher | str,
    oracle: Oracle,
    objectives: Any,
    budget: int,
    *,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    record_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    max_known: int = MAX_KNOWN,
    problem: ParetoProblem | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    gpus_per_task: float = 0.0,
) -> MultiSearchResult:
    """Search until ``budget`` distinct classes have been evaluated on two or three objectives.

    Args:
        searcher: a fresh searcher that accepts vectors in ``tell`` (for ``resume``, built from
            the record's config), or its :data:`~robnas.searchers.MULTI_OBJECTIVE_SEARCHERS`
            name (``"hvi"``), built with ``params``.
        oracle: answers the evaluations (a tabular oracle also gives the true front).
        objectives: the objective list (texts such as ``["pgd@1/255", "params:min"]``).
        budget: distinct classes to evaluate in total (a resumed run counts its recorded ones).
        record_dir: the run folder to write (a new one), or to continue with ``resume``.
        resume: continue the record in ``record_dir``.
        progress: show a tqdm progress bar on stderr.
        max_known: known proposals in a row before the loop forces an unseen cell.
        problem: the :class:`ParetoProblem` of this oracle and objectives, if already built
            (comparisons build it once per worker).
        workers, executor, gpus_per_task: evaluations kept in flight and where live ones run,
            as in :func:`robnas.loop.run_search`.
        params: constructor keywords of a searcher given by name.
        seed: the seed of a searcher given by name (as ``params={"seed": seed}``).

    Raises:
        InvalidSearcherError: an unknown name, or one of robnas' single-objective searchers.
        InvalidParameterError: a bad budget, ``workers`` or searcher hyperparameter (checked
            before the run folder is made).
        RobnasError: bad objectives, or a record that cannot be written or resumed.
    """
    from robnas.loop import check_budget, check_oracle, check_record_dir, searcher_params
    from robnas.searchers import make_multi_searcher, mark_driven, validate_params
    from robnas.searchers._base import check_int

    searcher = make_multi_searcher(searcher, **searcher_params(params, seed))
    check_oracle(oracle)
    parsed = parse_objectives(objectives)
    if problem is None and hasattr(oracle, "objective_values"):
        problem = ParetoProblem.from_oracle(oracle, parsed)
    if problem is not None:
        if not isinstance(problem, ParetoProblem):
            raise InvalidParameterError(f"problem must be a ParetoProblem (ParetoProblem.from_oracle), got {problem!r}")
        if problem.objectives != parsed:
            raise InvalidParameterError(f"the problem given is for other objectives ({label(problem.objectives)}, "
                                        f"not {label(parsed)})")
        dataset = getattr(getattr(oracle, "dataset", None), "value", None)
        if dataset is not None and problem.dataset != dataset:
            raise InvalidParameterError(f"the problem given is for {problem.dataset}, the oracle answers for "
                                        f"{dataset}: its values would be recorded as the oracle's")
    if problem is None:
        for objective in parsed:
            oracle.validate(objective.name)
    budget = check_budget(budget)
    check_int("max_known", max_known, 1, None)
    check_record_dir(record_dir)
    from robnas.priors import provide_scores

    prior = provide_scores(searcher, oracle, parsed)
    check_workers(workers)
    validate_params(searcher)  # before a run folder is made: a bad one leaves none behind
    record, recorded = _open_record(searcher, oracle, parsed, problem, int(budget), record_dir,
                                    resume, check_workers(workers), prior)
    workers = check_workers(workers)
    state = _State(oracle, parsed, problem, searcher, record, deque(recorded),
                   float(recorded[-1]["time"]) if recorded else 0.0, workers)
    from tqdm.auto import tqdm

    bar = tqdm(total=int(budget), disable=not progress, unit="cell", desc="search", leave=False)
    terms = [t for o in parsed if not is_metric(o.name) for t in oracle.validate(o.name)]
    schedule = make_schedule(oracle, state.evaluate, workers, terms, executor=executor,
                             gpus_per_task=gpus_per_task)
    mark_driven(searcher)  # its state is this run's from here: another run_multi_search refuses it
    try:
        state.run(schedule, int(budget), max_known, guard_rng(searcher),
                  lambda: bar.update(len(state.trials) - bar.n), sessions=recorded_sessions(record))
        bar.close()
        result = state.result(bool(resume))
        if record is not None:  # still under the folder's lock
            config = record.config()
            config["oracle"] = merged_provenance(config.get("oracle"), run_provenance(oracle, [o.name for o in parsed]))
            record.write_config(config)
            record.write_summary(result.summary())
    finally:
        bar.close()
        schedule.close()
        if record is not None:
            record.close()
    return result


def _open_record(searcher: Searcher, oracle: Oracle, objectives: tuple[DirectedObjective, ...],
                 problem: ParetoProblem | None, budget: int, record_dir: str | Path | None,
                 resume: bool, workers: int = 1, prior: dict[str, Any] | None = None
                 ) -> tuple[RunRecord | None, list[dict[str, Any]]]:
    """The single-objective loop's record handling (creation, resume checks, budget changes,
    the prior's provenance), with the objective list's label as ``objective`` and the
    multi-objective fields in the config a new record is created with."""
    from robnas.loop import _open_record as open_record

    def check(trials: list[dict[str, Any]], path: Path) -> None:
        check_vectors(trials, oracle, objectives, problem, path)
        if problem is not None:
            check_problem_fields(RunRecord(path.parent).config(), problem, path.parent / CONFIG_FILE)

    fields = {  # in the first config.json written: a record killed at once is still multi-objective
        "objectives": [str(o) for o in objectives],
        "reference_point": None if problem is None else problem.reference.tolist(),
        "true_hypervolume": None if problem is None else problem.true_hypervolume,
    }
    return open_record(searcher, oracle, label(objectives), budget,  # type: ignore[arg-type]
                       record_dir, None, resume, {}, check, workers=workers,
                       prior=prior, data_objectives=[o.name for o in objectives], fields=fields)


def check_problem_fields(config: dict[str, Any], problem: ParetoProblem, path: Path, *,
                         action: str = "resume") -> None:
    """Refuse a record whose ``reference_point`` or ``true_hypervolume`` is not the table's
    (``problem``'s): a resumed run kept them as they were, edited, beside the values of the
    data, and every report of the run would read them.

    Raises:
        RunRecordError: ``cannot <action>: <config.json>: <key> ... is not the data's ...``.
    """
    for key, expected in (("reference_point", problem.reference.tolist()),
                          ("true_hypervolume", problem.true_hypervolume)):
        recorded = config.get(key)
        numbers = recorded if isinstance(expected, list) else [recorded]
        wanted = expected if isinstance(expected, list) else [expected]
        if not (isinstance(numbers, list) and len(numbers) == len(wanted)
                and all(isinstance(x, int | float) and not isinstance(x, bool) and _same(x, y)
                        for x, y in zip(numbers, wanted, strict=True))):
            raise RunRecordError(f"cannot {action}: {path}: {key} {recorded!r} is not the data's {expected!r}; "
                                 "the record was edited or belongs to other data")


def check_vectors(trials: list[dict[str, Any]], oracle: Oracle,
                  objectives: tuple[DirectedObjective, ...], problem: ParetoProblem | None,
                  path: Path, *, action: str = "resume") -> None:
    """Refuse recorded multi-objective trials that the record or the table contradicts.

    Each trial must name a valid cell of a new class with its NB201 index
    (:func:`robnas.run_record.check_cells`) and one finite value per objective; with a
    :class:`ParetoProblem` (a tabular oracle) the values must be the table's.

    Raises:
        RunRecordError: ``cannot <action>: <path> line N: ...`` for the first trial that is wrong
            (``action``: ``resume``, or ``compare`` for a finished run a comparison reuses).
    """
    from robnas.run_record import check_cells

    archs = check_cells(trials, oracle, path, "values", action=action)
    for number, trial in enumerate(trials, start=1):
        if len(trial["values"]) != len(objectives):
            raise RunRecordError(f"cannot {action}: {path} line {number}: {len(trial['values'])} "
                                 f"values for {len(objectives)} objectives")
    if problem is None or not archs:
        return
    from robnas.pareto import dominated_by_any, non_dominated_mask

    rows = problem.rows_of(archs)
    table = problem.values[rows]
    front = np.zeros((0, len(objectives)))
    hypervolume = 0.0
    true_front = problem.front_indices
    for number, (trial, expected, row) in enumerate(zip(trials, table, rows, strict=True), start=1):
        where = f"cannot {action}: {path} line {number}"
        if not all(_same(v, e) for v, e in zip(trial["values"], expected, strict=True)):
            raise RunRecordError(
                f"{where}: values {trial['values']} of {trial['arch']} are not the data's "
                f"{[float(e) for e in expected]}; the record was edited or belongs to other data"
            )
        # the fields derived from the values so far: the running front's hypervolume, its
        # share of the true front's, and whether the class is on the true front
        if not dominated_by_any(expected, front, problem.maximize):
            front = np.vstack([front, [expected]])
            front = front[non_dominated_mask(front, problem.maximize)]
            hypervolume = problem.hypervolume(front)
        on_front = int(problem.representatives[row]) in true_front
        for key, recorded, derived in (("hypervolume", trial.get("hypervolume"), hypervolume),
                                       ("best", trial.get("best"), hypervolume / problem.true_hypervolume)):
            if not (isinstance(recorded, int | float) and not isinstance(recorded, bool)
                    and _same(recorded, derived)):
                raise RunRecordError(f"{where}: {key} {recorded!r} is not that of the front recorded "
                                     f"so far ({derived!r}); the record was edited")
        if trial.get("on_front") is not on_front:
            raise RunRecordError(f"{where}: on_front {trial.get('on_front')!r} of {trial['arch']} is "
                                 f"wrong (its class is {'' if on_front else 'not '}on the true front); "
                                 "the record was edited")


def _same(recorded: Any, actual: float) -> bool:
    return math.isclose(float(recorded), float(actual), rel_tol=1e-9, abs_tol=1e-9)


class _State(LoopCore):
    """What the loop knows during one session: memory, trials, the front so far, the replay."""

    def __init__(self, oracle: Oracle, objectives: tuple[DirectedObjective, ...],
                 problem: ParetoProblem | None, searcher: Searcher, record: RunRecord | None,
                 replay: deque[dict[str, Any]], time_offset: float, workers: int = 1) -> None:
        super().__init__(searcher, record, replay, time_offset, workers)
        self.oracle, self.objectives, self.problem = oracle, objectives, problem
        self.front: list[int] = []  # positions in trials of the current front
        self.hypervolume: float | None = None
        self.front_found: set[int] = set()
        self._front_indices = None if problem is None else problem.front_indices

    def evaluate(self, arch: Arch) -> Any:
        return evaluate_objectives(self.oracle, [arch], self.objectives, self.problem)

    def make_trial(self, arch: Arch, outcome: Any, forced: bool, extra: dict[str, Any]) -> dict[str, Any]:
        values, seconds = outcome
        vector = [float(v) for v in values[0]]
        representative = None
        if self._front_indices is not None:
            representative = int(self.oracle.representative_index(arch))  # type: ignore[attr-defined]
        index_of = getattr(self.oracle, "index_of", None)
        trial: dict[str, Any] = {
            "n": len(self.trials) + 1,
            "index": None if index_of is None else int(index_of(arch)),
            "arch": arch.to_string(),
            "values": vector,
            **self._hypervolume_with(vector),
            "on_front": None if representative is None else representative in self._front_indices,
            "cost_seconds": float(extra.pop("cost_seconds", seconds[0])),
            "time": round(self.elapsed(), 6),
        }
        if forced:
            trial["forced"] = True
        trial.update(extra)
        if self.record is not None:
            self.record.append_trial(trial)
        return trial

    def _hypervolume_with(self, vector: list[float]) -> dict[str, float | None]:
        """``hypervolume`` of the front after adding ``vector`` and ``best``: its share of the
        true front's hypervolume (the number comparisons rank and plot)."""
        from robnas.pareto import dominated_by_any

        if self.problem is None:
            return {"hypervolume": None, "best": None}
        front = np.asarray([self.trials[i]["values"] for i in self.front]).reshape(-1, len(vector))
        if self.hypervolume is not None and dominated_by_any(vector, front, self.problem.maximize):
            hv = self.hypervolume  # a dominated cell leaves the front, and its volume, unchanged
        else:
            hv = self.problem.hypervolume(np.vstack([front, [vector]]))
        return {"hypervolume": hv, "best": hv / self.problem.true_hypervolume}

    def learn(self, arch: Arch, trial: dict[str, Any]) -> None:
        from robnas.pareto import dominated_by_any, non_dominated_mask

        vector = [float(v) for v in trial["values"]]
        told = oriented(vector, self.objectives)
        self.memory[class_code(arch)] = told
        self.trials.append(trial)
        flags = [o.maximize for o in self.objectives]
        current = np.asarray([self.trials[i]["values"] for i in self.front]).reshape(-1, len(flags))
        if not dominated_by_any(vector, current, flags):
            candidates = [*self.front, len(self.trials) - 1]
            points = np.asarray([self.trials[i]["values"] for i in candidates])
            self.front = [i for i, keep in zip(candidates, non_dominated_mask(points, flags),
                                               strict=True) if keep]
        self.hypervolume = trial.get("hypervolume")
        if trial.get("on_front"):
            self.front_found.add(class_code(arch))
        self.searcher.tell(arch, told)

    def result(self, resumed: bool) -> MultiSearchResult:
        front_trials = [self.trials[i] for i in self.front]
        problem = self.problem
        archs, indices = [t["arch"] for t in front_trials], [t["index"] for t in front_trials]
        if problem is not None and any(objective.is_cost for objective in self.objectives):
            # a class's cost is its representative's: name the cell whose cost is shown (an
            # isomorph evaluated may carry a dead convolution's weights: another cost)
            indices = [int(self.oracle.representative_index(arch)) for arch in archs]  # type: ignore[attr-defined]
            archs = [self.oracle.parse_arch(index).to_string() for index in indices]  # type: ignore[attr-defined]
        frame = front_frame(archs, indices, np.asarray([t["values"] for t in front_trials]), self.objectives)
        hv = None if problem is None else (self.hypervolume or 0.0)
        true_hv = None if problem is None else problem.true_hypervolume
        return MultiSearchResult(
            objectives=self.objectives,
            front=frame,
            hypervolume=hv,
            reference_point=None if problem is None else problem.reference.tolist(),
            true_hypervolume=true_hv,
            regret=None if hv is None or true_hv is None else _clean(true_hv - hv, true_hv),
            true_front_size=None if problem is None else len(problem.front_rows),
            true_front_found=None if problem is None else len(self.front_found),
            problem=problem,
            **self.run_stats(resumed),
        )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (missing values as ``None``)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _clean(x: float, scale: float = 1.0) -> float:
    """Round away float noise relative to ``scale`` (a regret of 1e-17 is 0), keeping 12
    significant digits: a true hypervolume can be tiny (6.5e-08 on ImageNet16-120 for
    pgd@8/255, pgd@4/255, params:min), where rounding to 12 decimals lost its 6th digit."""
    return 0.0 if math.isclose(x, 0.0, abs_tol=1e-12 * abs(scale)) else float(f"{x:.12g}")


__all__ = ["MultiSearchResult", "run_multi_search"]
