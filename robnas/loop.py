"""The search loop: the only place that joins a searcher, an objective and an oracle.

:func:`run_search` asks the searcher for cells, evaluates each new isomorphism class once,
tells the searcher what it learned, and (optionally) writes a run record as it goes.

Budget and known cells
    The budget counts distinct isomorphism classes evaluated
    (:func:`robnas.isomorphism.class_code`). A proposal whose class is already known costs
    nothing: the loop answers it from its memory (``tell`` with the known value) and asks
    again. So that no searcher can stall the loop, after ``max_known`` known proposals in a
    row the loop itself draws a random unseen cell (with a generator seeded from the
    searcher's ``seed``), evaluates it and tells the searcher about it as an unasked cell;
    such trials carry ``"forced": true``. The shipped searchers avoid known classes
    themselves, so the guard is a safety net.

Several workers (``workers=N``)
    The loop keeps up to N evaluations in flight (:mod:`robnas.loop_core`): it asks until N
    new cells are pending, then tells each result as it comes back and asks again. A pending
    cell counts against the budget when it is proposed; a proposal of a pending class costs
    nothing and is answered when that evaluation ends, so no class is evaluated twice. Trials
    are recorded in the order results come back, with ``proposed`` (the cell's place among the
    proposals). Live, the evaluations run as executor tasks (``executor``: a local process pool
    of N workers by default, or Ray) and only this process writes the results store and the
    record. In tabular mode the same asynchronous schedule is simulated
    (:mod:`robnas.schedule`: each cell costs its FLOPs over the mean FLOPs of all cells), so
    the same seed gives the same run; trials carry the simulated ``finished`` time and
    ``SearchResult.simulated_time`` is the makespan. ``workers=1`` is the sequential loop.

``min_clean``
    Cells whose clean accuracy is below ``min_clean`` are infeasible: evaluated and recorded
    (with their true value and ``"feasible": false``) but never the best. The searcher is told
    a penalised value, ``clean - min_clean - 1`` (in ``(-2, -1)``, below every feasible value
    and closer to ``-1`` the nearer the cell is to the threshold), so every searcher prefers
    feasible cells and is drawn towards the feasible region (Deb's feasibility rules). Cells
    whose clean accuracy is unknown (NaN) count as feasible.

``max_params``, ``max_flops``
    Cost constraints (:mod:`robnas.cost`: millions of parameters, millions of
    multiply-accumulates per image) work the same way: the evaluated cell's own cost is
    recorded in its trial (``params``, ``flops``), and a cell is infeasible when no cell of its
    class is within the limits (:func:`robnas.cost.within_limits_codes`: isomorphic cells
    compute one function; a class-mate within them is recorded as ``within_limits_index``), as
    the feasible optimum counts classes. With several constraints the searcher is told
    ``-1 - v``, ``v`` the mean over the constraints of each one's normalised violation
    (``min_clean - clean``; ``(cost - limit) / cost`` of the class's cell least over them), so
    ``min_clean`` alone penalises exactly as described above. The optimum (and so the regret)
    is then the best value among the cells that satisfy every constraint, and the rank is
    among the classes with such a cell. A cost is not something to maximise: ``objective``
    ``params`` or ``flops`` is refused.

Resuming
    With ``resume=True`` the loop re-reads the record and *replays* it: the searcher (built
    afresh from the recorded config) asks as in the first run and each proposal is answered
    from the recorded trials, without evaluating anything; as long as the proposals match
    the recording the searcher ends in the very state of the interrupted run, so the resumed
    run equals an uninterrupted one with the same seed. All shipped searchers replay exactly
    with a fixed seed (Optuna's samplers are seeded and deterministic on one machine). Where a
    proposal differs (no seed, a different Optuna version or sampler nondeterminism), the loop
    logs a warning, tells the searcher every remaining recorded trial as an unasked cell and
    carries on from there: nothing is lost or re-evaluated, but the continuation differs from
    an uninterrupted run. ``SearchResult.replay`` says which happened.

    With several workers a run killed with evaluations in flight resumes the same way: the
    replay consumes the recorded results in their order, the cells that were in flight are
    proposed again by the replayed searcher and evaluated (live: answered from the results
    store if they had finished there), and nothing recorded is evaluated or counted twice. In
    tabular mode the resumed run equals the uninterrupted one; live, the order in which
    results come back is not reproducible, so it may differ from a run that was never stopped.
    A resumed run keeps its recorded ``workers``. A session with several workers stops
    proposing as its budget fills up, so ``config.json`` keeps each session's budget
    (``sessions``) and the replay stops proposing where that session did: a finished run
    extended to a larger budget replays without diverging.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from robnas.arch import NUM_CELLS, Arch
from robnas.cost import FLOPS, PARAMS, cost_arrays
from robnas.errors import InvalidObjectiveError, InvalidParameterError, RobnasError
from robnas.isomorphism import class_code_array, class_count
from robnas.loop_core import (
    MAX_KNOWN,
    RunStats,
    check_workers,
    guard_rng,
    make_schedule,
    recorded_sessions,
)
from robnas.loop_state import LoopState
from robnas.objective import Objective
from robnas.oracle import Oracle, run_provenance
from robnas.priors import provide_scores
from robnas.run_record import RunRecord, RunRecordError, merged_provenance, utc_now, versions
from robnas.searchers import (
    Searcher,
    default_params,
    get_params,
    make_searcher,
    mark_driven,
    searcher_name,
    validate_params,
)
from robnas.searchers._base import check_float, check_int
from robnas.vocabulary import CLEAN, Dataset

if TYPE_CHECKING:
    from robnas.execution import Executor

logger = logging.getLogger(__name__)

CHANCE_TOLERANCE = 0.005
"""A value (or clean accuracy) within this of ``1 / classes`` counts as chance level."""
NUM_CLASSES = {Dataset.CIFAR10: 10, Dataset.CIFAR100: 100, Dataset.IMAGENET16_120: 120}


@dataclass
class SearchResult(RunStats):
    """What a search found, and how (also what ``summary.json`` holds, see :meth:`summary`).

    Attributes:
        best_arch: best feasible cell evaluated (``None`` if none was feasible).
        best_index: its NB201 index (where the oracle knows indices).
        best_value: its objective value.
        best_clean: its clean accuracy.
        optimum: best value over the space where known (among cells with clean accuracy
            >= ``min_clean`` and within ``max_params``/``max_flops`` when those are set and the
            oracle can tell).
        regret: ``optimum - best_value``.
        rank: rank of ``best_arch`` on the objective (1 = best, ties share) where known: among
            the 6,466 classes, or with ``min_clean`` or a cost limit among the feasible ones.
        chance: ``1 / classes`` of the dataset.
        at_chance: the best value is at chance level (within :data:`CHANCE_TOLERANCE`).
        constant_output: the best cell's clean accuracy is at chance level.
        ranked_classes: how many classes ``rank`` is among (6,466; with ``min_clean`` the
            feasible classes).
        best_within_limits_index: with cost limits, when ``best_arch`` itself is over one: the
            NB201 index of the cell of its class within them (the same function without the
            weights of edges that never reach the output), else ``None``.
    """

    best_arch: Arch | None
    best_index: int | None
    best_value: float | None
    best_clean: float | None
    optimum: float | None
    regret: float | None
    rank: int | None
    chance: float | None
    at_chance: bool
    constant_output: bool
    ranked_classes: int | None = None
    best_within_limits_index: int | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON-ready summary (``summary.json``)."""
        return {
            "best_arch": None if self.best_arch is None else self.best_arch.to_string(),
            "best_index": self.best_index,
            "best_value": self.best_value,
            "best_clean": self.best_clean,
            "regret": self.regret,
            "rank": self.rank,
            "ranked_classes": self.ranked_classes,
            "best_within_limits_index": self.best_within_limits_index,
            "optimum": self.optimum,
            "classes": class_count(),
            "chance": self.chance,
            "at_chance": self.at_chance,
            "constant_output": self.constant_output,
            **self.run_summary(),
        }


def run_search(
    searcher: Searcher | str,
    oracle: Oracle,
    objective: Objective | str,
    budget: int,
    *,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    record_dir: str | Path | None = None,
    min_clean: float | None = None,
    resume: bool = False,
    progress: bool = False,
    max_known: int = MAX_KNOWN,
    max_params: float | None = None,
    max_flops: float | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    gpus_per_task: float = 0.0,
) -> SearchResult:
    """Search until ``budget`` distinct isomorphism classes have been evaluated.

    Args:
        searcher: a fresh searcher, or its name in :data:`robnas.searchers.SEARCHERS`
            (``"random"``, ``"re"``, ``"ls"``, ``"bo"``, ``"predictor"``); for ``resume``, the
            same searcher as the record's config. An object that already drove a search is
            refused (it would go on from that run's state).
        oracle: answers the evaluations.
        objective: what to maximise.
        budget: distinct classes to evaluate in total (a resumed run counts its recorded ones).
        params: constructor keywords of a searcher given by name, e.g. ``{"seed": 0}``.
        seed: the seed of a searcher given by name (as ``params={"seed": seed}``; an object
            has its own).
        record_dir: the run folder to write (a new one), or to continue with ``resume``.
        min_clean: only cells with at least this clean accuracy may be the best (module docs).
        resume: continue the record in ``record_dir`` (module docs).
        progress: show a tqdm progress bar on stderr: distinct classes evaluated of the
            budget, and the best value so far.
        max_known: known proposals in a row before the loop forces an unseen cell.
        max_params: only cells with at most this many million parameters may be the best.
        max_flops: only cells with at most this many million FLOPs may be the best.
        workers: evaluations kept in flight (module docs: several workers).
        executor: where live evaluations run with several workers (default: a local process
            pool of ``workers`` processes); unused in tabular mode, which simulates the workers.
        gpus_per_task: GPUs each live evaluation asks of a Ray executor.

    Raises:
        InvalidParameterError: (a :class:`ValueError` too) a bad budget (a whole number in
            1..6466), ``min_clean`` or cost limit, constraints no cell meets
            (:func:`check_reachable`), bad searcher hyperparameters or seed, or a bad
            ``workers``: all checked before the run folder is made.
        InvalidSearcherError: (a :class:`ValueError` too) an unknown searcher name, a class
            instead of an object, or an object that already drove a search.
        RobnasError: an invalid objective (a cost metric included),
            a ``prior``/``warmup`` measure that cannot be resolved
            (:mod:`robnas.priors`), or a run record that cannot be written or does not match the
            arguments.

    Example (``ROBNAS_DATA`` points at the release)::

        from robnas import run_search
        from robnas.benchmark import TabularOracle

        result = run_search("re", TabularOracle("cifar10"), "pgd@1/255", 300, params={"seed": 0})
        result.best_value, result.regret   # (0.588, 0.0)
    """
    searcher = make_searcher(searcher, **searcher_params(params, seed))
    check_oracle(oracle)
    objective = Objective.parse(objective)
    if objective.is_cost:
        raise InvalidObjectiveError(
            f"{objective} is a cost, not an objective to maximise: search an accuracy and "
            f"constrain it with --max-{objective.key} (see costs with robnas query/table/analyze)"
        )
    oracle.validate(objective)
    limits = _cost_limits(max_params, max_flops)
    budget = check_budget(budget)
    check_int("max_known", max_known, 1, None)
    check_record_dir(record_dir)
    if min_clean is not None:
        check_float("--min-clean", min_clean, 0.0, 1.0)
    _load_columns(oracle, objective, min_clean)
    check_reachable(oracle, min_clean, limits)
    prior = provide_scores(searcher, oracle, objective)
    validate_params(searcher)  # before a run folder is made: a bad one leaves none behind
    record, recorded = _open_record(
        searcher, oracle, objective, int(budget), record_dir, min_clean, resume, limits,
        workers=check_workers(workers), prior=prior,
    )
    workers = check_workers(workers)
    state = LoopState(
        oracle=oracle,
        objective=objective,
        searcher=searcher,
        min_clean=min_clean,
        record=record,
        replay=deque(recorded),
        max_cost=limits,
        time_offset=float(recorded[-1]["time"]) if recorded else 0.0,
        workers=workers,
    )
    from tqdm.auto import tqdm

    bar = tqdm(total=int(budget), disable=not progress, unit="cell", desc="search", leave=False)

    def on_result() -> None:
        if state.best is not None:
            bar.set_postfix_str(f"best {state.best['value']:.3f}", refresh=False)
        bar.update(state.n_evaluations - bar.n)

    schedule = make_schedule(oracle, state.evaluate, workers, oracle.validate(objective),
                             executor=executor, gpus_per_task=gpus_per_task)
    mark_driven(searcher)  # its state is this run's from here: another run_search refuses it
    try:
        state.run(schedule, int(budget), max_known, guard_rng(searcher), on_result,
                  sessions=recorded_sessions(record))
        bar.close()
        result = _result(state, oracle, objective, min_clean, record, bool(resume), limits)
        if record is not None:  # still under the folder's lock
            config = record.config()
            config["oracle"] = merged_provenance(config.get("oracle"), run_provenance(oracle, (str(objective), CLEAN)))
            record.write_config(config)
            record.write_summary(result.summary())
    finally:
        bar.close()
        schedule.close()
        if record is not None:
            record.close()
    return result


def _load_columns(oracle: Oracle, objective: Objective, min_clean: float | None) -> None:
    """Let a tabular oracle read its files up front, so the provenance holds their checksums."""
    values_of = getattr(oracle, "objective_values", None)
    if values_of is not None:
        values_of(objective)
        if min_clean is not None:
            values_of("clean")


def check_oracle(oracle: object) -> None:
    """Refuse what is not an oracle (a dataset name, say) in one line, not an AttributeError
    from inside the loop.

    >>> check_oracle("cifar10")
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: oracle must be an oracle object such as TabularOracle("cifar10"), got 'cifar10'
    """
    if not isinstance(oracle, Oracle):
        raise InvalidParameterError(f'oracle must be an oracle object such as TabularOracle("cifar10"), '
                                    f"got {oracle!r}")


def searcher_params(params: Mapping[str, Any] | None, seed: int | None) -> dict[str, Any]:
    """``params`` with ``seed`` (the loops' ``seed=`` keyword) added.

    >>> searcher_params({"population_size": 20}, 3)
    {'population_size': 20, 'seed': 3}

    Raises:
        InvalidParameterError: ``params`` names another seed.
    """
    merged = dict(params or {})
    if seed is not None:
        if "seed" in merged and merged["seed"] != seed:
            raise InvalidParameterError(f"seed={seed!r} and params={{'seed': {merged['seed']!r}}}: "
                                        "give the seed once")
        merged["seed"] = seed
    return merged


def check_budget(budget: object) -> int:
    """``budget`` as an int in 1..6466 (distinct classes); a bool, a float or text is refused.

    >>> check_budget(20.5)
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: budget must be an integer in 1..6466, got 20.5 (float)
    """
    check_int("budget", budget, 1, class_count())
    return int(budget)  # type: ignore[call-overload]


def check_record_dir(record_dir: object) -> None:
    """Refuse a ``record_dir`` that is no folder path (a ``str`` or ``os.PathLike``, not empty;
    ``None``: no record), before anything runs.

    >>> check_record_dir(5)
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: record_dir must be a folder path (str or os.PathLike), got 5
    """
    if record_dir is None:
        return
    if not isinstance(record_dir, (str, os.PathLike)) or not str(record_dir):
        raise InvalidParameterError(f"record_dir must be a folder path (str or os.PathLike), got {record_dir!r}")


def check_reachable(oracle: Oracle, min_clean: float | None, limits: Mapping[str, float]) -> None:
    """Refuse constraints no cell meets: a ``min_clean`` above the table's best clean accuracy
    (where the oracle knows it: tabular), or cost limits no cell of the space is within together.
    No budget would find a cell then, and the run would evaluate it all to report none."""
    if min_clean is not None:
        try:
            best = oracle.optimum("clean")  # type: ignore[arg-type]
        except RobnasError:  # a table without clean accuracy: the run says so when it reads it
            best = None
        if best is not None and best < min_clean:
            raise InvalidParameterError(
                f"--min-clean {min_clean:g}: no cell of the {_name(oracle.dataset)} table has clean "
                f"accuracy >= {min_clean:g} (the best has {best:.4g}); lower --min-clean")
    if not limits:
        return
    costs = cost_arrays(oracle.dataset)
    within = np.logical_and.reduce([costs[metric] <= limit for metric, limit in limits.items()])
    if not within.any():
        smallest = ", ".join(f"{metric} {costs[metric].min():.4g}" for metric in limits)
        given = " ".join(f"--max-{metric} {limit:g}" for metric, limit in limits.items())
        raise InvalidParameterError(
            f"{given}: no cell of the {_name(oracle.dataset)} space is within "
            f"{'them' if len(limits) > 1 else 'it'} (the smallest: {smallest}); raise the limit")


def _name(dataset: object) -> str:
    return str(getattr(dataset, "value", dataset))


def _cost_limits(max_params: float | None, max_flops: float | None) -> dict[str, float]:
    """``{"params": limit, ...}`` for the cost limits given, validated."""
    limits = {}
    for metric, limit in ((PARAMS, max_params), (FLOPS, max_flops)):
        if limit is None:
            continue
        check_float(f"--max-{metric} (millions)", limit, 0.0, low_open=True)
        limits[metric] = float(limit)
    return limits


def _open_record(
    searcher: Searcher,
    oracle: Oracle,
    objective: Objective,
    budget: int,
    record_dir: str | Path | None,
    min_clean: float | None,
    resume: bool,
    limits: dict[str, float],
    check: Callable[[list[dict[str, Any]], Path], None] | None = None,
    *,
    workers: int = 1,
    prior: dict[str, Any] | None = None,
    data_objectives: Sequence[str] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> tuple[RunRecord | None, list[dict[str, Any]]]:
    """A new record, or the resumed one and its trials (``check``: see :meth:`RunRecord.resume`;
    ``prior``: the provenance of the searcher's prior scores, recorded as ``prior``;
    ``data_objectives``: whose data files the oracle's provenance names, by default
    ``objective`` and the clean accuracy reported with it; ``fields``: more entries of a new
    record's ``config.json``, written with the rest in one atomic write)."""
    if record_dir is None:
        if resume:
            raise RunRecordError("resume needs the run folder (record_dir)")
        return None, []
    provenance = run_provenance(oracle, (str(objective), CLEAN) if data_objectives is None else data_objectives)
    config = {
        "run_id": Path(record_dir).name,
        "searcher": {"name": searcher_name(searcher), "params": get_params(searcher)},
        "objective": str(objective),
        "dataset": oracle.dataset.value,
        "seed": getattr(searcher, "seed", None),
        "budget": budget,
        "min_clean": min_clean,
        **{f"max_{metric}": limit for metric, limit in limits.items()},
        "mode": provenance.get("mode", "tabular"),
        "workers": workers,
        "versions": versions(),
        "oracle": provenance,
        "created": utc_now(),
        **(fields or {}),
    }
    if prior is not None:
        config["prior"] = prior
    if workers > 1:  # each session's budget, so a replay proposes what that session proposed
        config["sessions"] = [{"start": 0, "budget": budget}]
    if not resume:
        return RunRecord.create(record_dir, config), []
    recorded_workers = RunRecord.open(record_dir).config().get("workers", 1)
    if recorded_workers != workers:
        raise RunRecordError(f"--workers {workers} conflicts with the run being resumed "
                             f"({recorded_workers}); leave it out")
    record, trials = RunRecord.resume(record_dir, config, oracle, objective, check,
                                      param_defaults=default_params(type(searcher)))
    stored = record.config()
    sessions = stored.get("sessions")
    if sessions and sessions[-1]["budget"] != budget:
        stored["sessions"] = [*sessions, {"start": len(trials), "budget": budget}]
        record.write_config(stored)
    return record, trials


def _result(
    state: LoopState,
    oracle: Oracle,
    objective: Objective,
    min_clean: float | None,
    record: RunRecord | None,
    resumed: bool,
    limits: dict[str, float],
) -> SearchResult:
    best = state.best
    best_arch = None if best is None else Arch.from_string(best["arch"])
    optimum, rank, ranked = _standing(oracle, objective, min_clean, best, limits)
    classes = NUM_CLASSES.get(oracle.dataset)
    chance = None if classes is None else 1.0 / classes
    at_chance = bool(best and chance is not None and best["value"] <= chance + CHANCE_TOLERANCE)
    clean = None if best is None else best["clean"]
    constant = bool(
        clean is not None and chance is not None and clean <= chance + CHANCE_TOLERANCE
    )
    return SearchResult(
        best_arch=best_arch,
        best_index=None if best is None else best["index"],
        best_value=None if best is None else best["value"],
        best_clean=clean,
        optimum=optimum,
        regret=None if optimum is None or best is None else round(optimum - best["value"], 12),
        rank=rank,
        chance=chance,
        at_chance=at_chance,
        constant_output=constant,
        ranked_classes=ranked,
        best_within_limits_index=None if best is None else best.get("within_limits_index"),
        **state.run_stats(resumed),
    )


def _standing(
    oracle: Oracle, objective: Objective, min_clean: float | None, best: dict[str, Any] | None,
    limits: dict[str, float],
) -> tuple[float | None, int | None, int | None]:
    """The optimum, the best cell's rank and the number of classes ranked: over every class, or
    with ``min_clean`` or cost limits over the feasible ones only (where the oracle can tell).

    With constraints a class is feasible when one of its cells meets them all (its cells share
    the clean accuracy but not the cost: a dead convolution still has weights)."""
    if min_clean is None and not limits:
        rank = None if best is None else oracle.rank(Arch.from_string(best["arch"]), objective)
        meta = getattr(oracle, "meta", None)  # a table built for some cells ranks among those
        classes = class_count() if meta is None else len(meta.representatives)
        return oracle.optimum(objective), rank, None if rank is None else classes
    values_of = getattr(oracle, "values_by_code", None)
    if values_of is None:
        return None, None, None
    codes = np.arange(NUM_CELLS)
    values = np.asarray(values_of(codes, objective))
    feasible = np.ones(NUM_CELLS, dtype=bool)
    if min_clean is not None:
        feasible &= np.asarray(values_of(codes, "clean")) >= min_clean
    costs = cost_arrays(oracle.dataset) if limits else {}
    for metric, limit in limits.items():
        feasible &= costs[metric] <= limit
    _, first = np.unique(class_code_array()[feasible], return_index=True)
    per_class = values[feasible][first]
    optimum = float(per_class.max()) if per_class.size else None
    rank = None if best is None else 1 + int((per_class > best["value"]).sum())
    return optimum, rank, int(per_class.size)


__all__ = ["MAX_KNOWN", "SearchResult", "run_search"]
