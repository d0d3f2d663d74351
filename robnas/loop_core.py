"""What both search loops share: asking, known cells, pending cells, the anti-stall guard, replay.

:class:`LoopCore` drives one session of a run, single- or multi-objective alike
(:mod:`robnas.loop_state`, :mod:`robnas.multi_loop` add how a trial is built and learnt). It
keeps up to ``workers`` evaluations in flight on a :class:`~robnas.schedule.Schedule`:

* it asks the searcher until ``workers`` new cells are pending (or the budget is reached: a
  pending cell counts when proposed), then waits for one result, tells it, and asks again;
* a proposal whose class is known is told its value at once; one whose class is pending costs
  nothing either: it is told the value when that evaluation ends (a class is never evaluated
  twice). Both count as known proposals (``n_known``) and towards the anti-stall guard;
* results are recorded and told in the order they finish (``n`` counts them); with one worker
  this is exactly the sequential loop.

Replay (resuming)
    The recorded trials are in the order their results came back. The loop replays the run's
    asks and tells in that order; a recorded trial is consumed when its cell is pending.
    Simulated schedules (:attr:`Schedule.replays_itself`) re-run the schedule during the
    replay and check that it hands back the recorded cell; otherwise cells proposed during
    the replay are held back, and those that turn out not to be recorded (they were in flight
    when the run was killed) are submitted when the replay ends. So a killed run resumes
    without evaluating a recorded cell again and without counting one twice; with a
    deterministic schedule (tabular mode) it ends exactly as an uninterrupted run. Live, with
    several workers, the order in which results come back is not reproducible, so a resumed
    run continues correctly but may differ from one that was never interrupted. Where the
    searcher proposes other cells than recorded, the loop tells it every remaining recorded
    trial as an unasked cell and carries on from there (``diverged_at``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.run_record import RunRecord
from robnas.schedule import MAX_WORKERS, Schedule
from robnas.searchers import Searcher, random_unseen

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("robnas.loop")

MAX_KNOWN = 1000
"""Known proposals in a row after which the loop forces a random unseen cell."""
GUARD_SALT = 0x6C6F6F70  # keeps the guard's random stream apart from the searcher's


@dataclass(kw_only=True)
class RunStats:
    """How a run went: what every search result reports, single- or multi-objective.

    Attributes:
        n_evaluations: distinct classes evaluated (the budget spent).
        n_proposals: cells the searcher proposed, known or not (this session, replay included).
        n_known: proposals answered from memory at no cost (this session, replay included).
        n_forced: cells the anti-stall guard chose (this session).
        wall_seconds: seconds the run took, over all its sessions.
        workers: evaluations kept in flight.
        simulated_time: tabular mode: the simulated makespan of the run, in mean evaluations
            (:mod:`robnas.schedule`); ``None`` live.
        trials: the trial records, in order.
        record_dir: the run folder, if one was written.
        replay: ``{"trials": k, "diverged_at": n or None}`` for a resumed run.
    """

    n_evaluations: int
    n_proposals: int
    n_known: int
    n_forced: int
    wall_seconds: float
    workers: int = 1
    simulated_time: float | None = None
    trials: list[dict[str, Any]] = field(default_factory=list, repr=False)
    record_dir: Path | None = None
    replay: dict[str, Any] | None = None

    def trials_frame(self) -> pd.DataFrame:
        """The trials as a DataFrame: one row per distinct class evaluated, in order, one column
        per field of a ``trials.jsonl`` line (``n``, ``index``, ``arch``, ``value``, ``best`` so
        far, ``clean``, ...; a multi-objective run has one column per objective instead of the
        ``values`` list). Collect runs with ``pd.concat`` for an anytime plot of ``best``
        against ``n``."""
        import pandas as pd

        return pd.DataFrame(self.trials)

    def run_summary(self) -> dict[str, Any]:
        """The JSON-ready run fields, as the end of ``summary.json``."""
        return {
            "n_evaluations": self.n_evaluations,
            "n_proposals": self.n_proposals,
            "n_known": self.n_known,
            "n_forced": self.n_forced,
            "wall_seconds": self.wall_seconds,
            "workers": self.workers,
            "simulated_time": self.simulated_time,
            "record_dir": None if self.record_dir is None else str(self.record_dir),
            "replay": self.replay,
        }


@dataclass
class _Pending:
    arch: Arch
    forced: bool
    proposed: int
    submitted: bool
    waiters: list[Arch] = field(default_factory=list)  # isomorphs asked while it was pending


class LoopCore:
    """The shared part of the loop's state for one session (see the module docs).

    Subclasses build trials (:meth:`evaluate`, :meth:`make_trial`) and learn them
    (:meth:`learn`, which tells the searcher and stores the told value in :attr:`memory`).
    """

    def __init__(self, searcher: Searcher, record: RunRecord | None,
                 replay: deque[dict[str, Any]], time_offset: float = 0.0, workers: int = 1) -> None:
        self.searcher, self.record, self.replay = searcher, record, replay
        self.time_offset, self.workers = time_offset, workers
        self.started = time.perf_counter()
        self.memory: dict[int, Any] = {}  # class code -> value told
        self.trials: list[dict[str, Any]] = []
        self.pending: dict[int, _Pending] = {}  # class code -> evaluation in flight, in order
        self.n_proposals = self.n_known = self.n_forced = self.replayed = self.submitted = 0
        self.diverged_at: int | None = None
        self.schedule: Schedule | None = None

    # -- hooks ---------------------------------------------------------------------------------
    def evaluate(self, arch: Arch) -> Any:
        """The oracle's outcome for ``arch`` (what :meth:`make_trial` turns into a trial)."""
        raise NotImplementedError

    def make_trial(self, arch: Arch, outcome: Any, forced: bool, extra: dict[str, Any]) -> dict[str, Any]:
        """The trial of a newly evaluated cell (appended to the record)."""
        raise NotImplementedError

    def learn(self, arch: Arch, trial: dict[str, Any]) -> None:
        """Add ``trial`` to what the loop knows and tell the searcher."""
        raise NotImplementedError

    # -- the loop ------------------------------------------------------------------------------
    @property
    def n_evaluations(self) -> int:
        """Distinct classes evaluated so far (recorded ones included)."""
        return len(self.trials)

    def elapsed(self) -> float:
        """Seconds since the run started, over all its sessions."""
        return self.time_offset + time.perf_counter() - self.started

    def replay_report(self) -> dict[str, Any]:
        """How the recorded trials were replayed."""
        return {"trials": self.replayed, "diverged_at": self.diverged_at}

    def run_stats(self, resumed: bool) -> dict[str, Any]:
        """The :class:`RunStats` fields of this session, as keywords for a result."""
        return {
            "n_evaluations": self.n_evaluations,
            "n_proposals": self.n_proposals,
            "n_known": self.n_known,
            "n_forced": self.n_forced,
            "wall_seconds": self.elapsed(),
            "workers": self.workers,
            "simulated_time": schedule_makespan(self),
            "trials": self.trials,
            "record_dir": None if self.record is None else self.record.path,
            "replay": self.replay_report() if resumed else None,
        }

    def run(self, schedule: Schedule, budget: int, max_known: int, guard_rng: np.random.Generator,
            on_result: Callable[[], None] = lambda: None, *,
            sessions: list[tuple[int, int]] | None = None) -> None:
        """Ask, evaluate and tell until ``budget`` distinct classes are evaluated.

        ``sessions``: ``(first trial, budget)`` of each recorded session, oldest first: while
        replaying, proposals stop where that session's budget stopped them.
        """
        self.schedule = schedule
        known_in_a_row = 0

        def cap() -> int:
            limit = budget
            for start, session_budget in sessions or ():
                if start <= self.n_evaluations and self.replay:
                    limit = session_budget
            return limit

        while self.n_evaluations < budget:
            while len(self.pending) < self.workers and self.n_evaluations + len(self.pending) < cap():
                arch = self.searcher.ask()
                if not isinstance(arch, Arch):
                    raise TypeError(f"{type(self.searcher).__name__}.ask() returned {arch!r}, not an Arch")
                self.n_proposals += 1
                if self.answer_known(arch):
                    known_in_a_row += 1
                    if known_in_a_row < max_known:
                        continue
                    arch = random_unseen(guard_rng, set(self.memory) | set(self.pending))
                    self.n_forced += 1
                    logger.warning("%d known proposals in a row: evaluating a random unseen cell",
                                   known_in_a_row)
                    self._submit(arch, forced=True)
                else:
                    self._submit(arch, forced=False)
                known_in_a_row = 0
            self._complete_one()
            on_result()

    def answer_known(self, arch: Arch) -> bool:
        """If ``arch``'s class is known, tell its value; if pending, tell it when it ends."""
        code = class_code(arch)
        told = self.memory.get(code)
        if told is not None:
            self.searcher.tell(arch, told)
            self.n_known += 1
            return True
        if code in self.pending:
            self.pending[code].waiters.append(arch)
            self.n_known += 1
            return True
        return False

    # -- internals -----------------------------------------------------------------------------
    def _submit(self, arch: Arch, *, forced: bool) -> None:
        self.submitted += 1
        held = bool(self.replay) and not self._schedule.replays_itself
        self.pending[class_code(arch)] = _Pending(arch, forced, self.submitted, not held)
        if not held:
            self._schedule.submit(arch)

    @property
    def _schedule(self) -> Schedule:
        assert self.schedule is not None
        return self.schedule

    def _complete_one(self) -> None:
        if self.replay and not self._schedule.replays_itself:
            expected = self.replay[0]
            entry = self.pending.get(class_code(Arch.from_string(expected["arch"])))
            if self._matches(entry, expected):
                self.replay.popleft()
                self.replayed += 1
                self._finish(entry, expected)  # type: ignore[arg-type]
                self._release_if_replayed()
                return
            self._diverge()
            if not self.pending:
                return
        arch, outcome, extra = self._schedule.next()
        entry = self.pending.get(class_code(arch))
        if entry is None:  # became known while it ran (a diverged replay told it)
            return
        if self.replay:  # a simulated schedule re-runs the recorded run
            expected = self.replay[0]
            if self._matches(entry, expected) and expected["arch"] == arch.to_string():
                self.replay.popleft()
                self.replayed += 1
                self._finish(entry, expected)
                return
            self._diverge()
            if class_code(arch) not in self.pending:
                return
        self._finish(entry, self.make_trial(arch, outcome, entry.forced, self._extra(entry, extra)))

    def _extra(self, entry: _Pending, extra: dict[str, Any]) -> dict[str, Any]:
        """Trial fields of the schedule: a measured ``cost_seconds``; with several workers also
        ``proposed`` (the cell's place among the proposals) and the simulated ``finished``."""
        if self.workers == 1:
            extra = {k: v for k, v in extra.items() if k != "finished"}
        else:
            extra = {**extra, "proposed": entry.proposed}
        return extra

    @staticmethod
    def _matches(entry: _Pending | None, expected: dict[str, Any]) -> bool:
        return (entry is not None and entry.arch.to_string() == expected["arch"]
                and entry.forced == bool(expected.get("forced")))

    def _finish(self, entry: _Pending, trial: dict[str, Any]) -> None:
        del self.pending[class_code(entry.arch)]
        self.learn(entry.arch, trial)
        told = self.memory[class_code(entry.arch)]
        for waiter in entry.waiters:
            self.searcher.tell(waiter, told)

    def _release_if_replayed(self) -> None:
        """After the last recorded trial: submit the cells held back during the replay."""
        if self.replay:
            return
        for entry in self.pending.values():
            if not entry.submitted:
                entry.submitted = True
                self._schedule.submit(entry.arch)

    def _diverge(self) -> None:
        self.diverged_at = self.replay[0]["n"]
        logger.warning(
            "replay diverged at trial %d: the searcher proposes other cells than recorded; "
            "telling it the %d remaining recorded trials and continuing from there",
            self.diverged_at,
            len(self.replay),
        )
        replayed: list[Arch] = []
        while self.replay:
            trial = self.replay.popleft()
            replayed.append(Arch.from_string(trial["arch"]))
            self.learn(replayed[-1], trial)
        for code in [c for c in self.pending if c in self.memory]:  # now known: told, not evaluated
            entry = self.pending.pop(code)
            for arch in [entry.arch, *entry.waiters]:
                if arch in replayed:  # that tell answered this proposal: one tell per ask
                    replayed.remove(arch)
                else:
                    self.searcher.tell(arch, self.memory[code])
            self.n_known += 1
        self._release_if_replayed()


def check_workers(workers: object) -> int:
    """``workers`` as an int in 1..:data:`MAX_WORKERS`.

    Raises:
        InvalidParameterError: anything else.
    """
    from robnas.errors import InvalidParameterError

    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not (
            1 <= workers <= MAX_WORKERS):
        raise InvalidParameterError(f"workers must be a whole number in 1..{MAX_WORKERS}, got {workers!r}")
    return int(workers)


def guard_rng(searcher: Searcher) -> np.random.Generator:
    """The anti-stall guard's generator, seeded from the searcher's seed (apart from its stream)."""
    seed = getattr(searcher, "seed", None)
    return np.random.default_rng(None if seed is None else [int(seed), GUARD_SALT])


def is_live(oracle: Any) -> bool:
    """Whether ``oracle`` measures cells (the live oracle) rather than looking them up."""
    return hasattr(oracle, "store") and hasattr(oracle, "result_key")


def make_schedule(oracle: Any, evaluate: Callable[[Arch], Any], workers: int, terms: Any, *,
                  executor: Any = None, gpus_per_task: float = 0.0) -> Schedule:
    """The schedule of a session (:mod:`robnas.schedule`): a live oracle evaluates in this
    process with one worker and as executor tasks with several (``executor``, default a local
    process pool of ``workers`` processes); any other oracle is simulated."""
    from robnas.schedule import ExecutorSchedule, InProcessSchedule, SimulatedSchedule

    if not is_live(oracle):
        return SimulatedSchedule(evaluate, oracle.dataset, workers)
    if workers == 1 and executor is None:
        return InProcessSchedule(evaluate)
    if executor is None:
        from robnas.execution import LocalExecutor

        executor = LocalExecutor(workers)
    return ExecutorSchedule(oracle, terms, evaluate, executor, gpus_per_task)


def recorded_sessions(record: RunRecord | None) -> list[tuple[int, int]]:
    """``(first trial, budget)`` of each session of the run in ``record`` (``config.json``'s
    ``sessions``, kept for runs with several workers)."""
    if record is None:
        return []
    return [(int(s["start"]), int(s["budget"])) for s in record.config().get("sessions") or []]


def schedule_makespan(state: LoopCore) -> float | None:
    """The simulated makespan of the session's schedule (``None`` live), rounded."""
    makespan = None if state.schedule is None else state.schedule.makespan
    return None if makespan is None else round(makespan, 6)
