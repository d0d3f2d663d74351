"""Where the search loop's evaluations run, and in which order their results come back.

A schedule takes cells (:meth:`submit`) and hands back one finished evaluation at a time
(:meth:`next`), so the loop (:mod:`robnas.loop_core`) can keep several evaluations in flight.
Three kinds:

* :class:`SimulatedSchedule` (tabular mode, and any oracle that is not live): a deterministic
  discrete-event simulation of ``workers`` identical workers. Each evaluation occupies a free
  worker for its cell's cost (:func:`simulated_cost`) from the moment it is submitted; results
  come back in the order of their simulated finish times (ties: the earlier submission first).
  The values are looked up at once, so the same seed gives the same run, and ``makespan`` is
  the simulated time the run would have taken. With one worker the results come back in the
  order the cells were submitted, which is the sequential loop.
* :class:`InProcessSchedule`: evaluates each cell in this process when its result is asked for
  (the live oracle with one worker: what the loop always did).
* :class:`ExecutorSchedule` (live mode, several workers): one executor task per cell
  (:mod:`robnas.execution`: a local process pool or Ray) measures its terms into a scratch
  store and sends the counts back; this process alone writes them into the live oracle's
  results store (:mod:`robnas.evaluation.cell_tasks`), then reads the cell's values from it.
  A cell whose results the store already holds (finished by a run that was killed before it
  recorded the trial) is answered from the store, without a task.

The simulated cost
    The released table holds no evaluation times, so the simulation uses a model: a cell's
    cost is its FLOPs (:mod:`robnas.cost`, multiply-accumulates of one forward pass, which
    every attack step repeats) divided by the mean FLOPs of the 15,625 cells. Time is thus
    counted in *mean evaluations*: one worker evaluating 300 cells takes about 300 units,
    and ``makespan(1) / makespan(N)`` is the speed-up of N workers.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from robnas.arch import Arch
from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    from robnas.execution import Executor, Submitter
    from robnas.objective import Term

MAX_WORKERS = 1024
"""Most evaluations a search keeps in flight (here, not in the loop, so that the CLI's option
checks read it without importing NumPy: ``robnas --help`` stays light)."""
Evaluate = Callable[[Arch], Any]
"""The loop's evaluation of one cell (its outcome is whatever the loop's state builds a trial from)."""


@cache
def _cost_scale(dataset: Dataset) -> float:
    from robnas.cost import FLOPS, cost_arrays

    return float(cost_arrays(dataset)[FLOPS].mean())


def simulated_cost(arch: Arch, dataset: str | Dataset) -> float:
    """The simulated evaluation time of ``arch``: its FLOPs over the mean FLOPs of all cells.

    >>> round(simulated_cost(Arch.from_string(
    ...     "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"),
    ...     "cifar10"), 3)
    4.004
    """
    from robnas.cost import flops

    dataset = parse_dataset(dataset)
    return flops(arch, dataset) / _cost_scale(dataset)


class Schedule:
    """The interface the loop drives (see the module docs)."""

    replays_itself = False
    """Whether results come back in a deterministic order worth re-running during a replay
    (cheap, simulated): then the loop submits replayed cells too, instead of holding them back."""
    makespan: float | None = None
    """Simulated time of everything finished so far (``None`` where nothing is simulated)."""

    def submit(self, arch: Arch) -> None:
        """Start evaluating ``arch``."""
        raise NotImplementedError

    def next(self) -> tuple[Arch, Any, dict[str, Any]]:
        """The next finished evaluation: ``(arch, outcome, extra)``; ``extra`` holds trial fields
        the schedule knows (``cost_seconds`` measured by a worker, simulated ``finished``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (idempotent)."""


class SimulatedSchedule(Schedule):
    """``workers`` simulated workers, evaluations costing :func:`simulated_cost` (module docs).

    >>> from robnas.arch import Arch
    >>> cheap, dear = Arch.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), Arch((3,) * 6)
    >>> schedule = SimulatedSchedule(lambda arch: arch.code, "cifar10", workers=2)
    >>> schedule.submit(dear); schedule.submit(cheap)
    >>> [schedule.next()[0] == cheap for _ in range(2)]  # the cheap cell finishes first
    [True, False]
    """

    replays_itself = True

    def __init__(self, evaluate: Evaluate, dataset: str | Dataset, workers: int = 1) -> None:
        self._evaluate = evaluate
        self._dataset = parse_dataset(dataset)
        self._free = [0.0] * workers  # per worker: when it is free
        self._now = 0.0  # the time of the last result handed back
        self._events: list[tuple[float, int, Arch, Any]] = []
        self._tickets = 0
        self.makespan = 0.0

    def submit(self, arch: Arch) -> None:
        worker = min(range(len(self._free)), key=lambda w: (self._free[w], w))
        start = max(self._now, self._free[worker])
        finish = start + simulated_cost(arch, self._dataset)
        self._free[worker] = finish
        heapq.heappush(self._events, (finish, self._tickets, arch, self._evaluate(arch)))
        self._tickets += 1

    def next(self) -> tuple[Arch, Any, dict[str, Any]]:
        finish, _, arch, outcome = heapq.heappop(self._events)
        self._now = finish
        self.makespan = max(self.makespan or 0.0, finish)
        return arch, outcome, {"finished": round(finish, 6)}


class InProcessSchedule(Schedule):
    """Evaluates each cell here, in submission order, when its result is asked for."""

    def __init__(self, evaluate: Evaluate) -> None:
        self._evaluate = evaluate
        self._queue: deque[Arch] = deque()

    def submit(self, arch: Arch) -> None:
        self._queue.append(arch)

    def next(self) -> tuple[Arch, Any, dict[str, Any]]:
        arch = self._queue.popleft()
        return arch, self._evaluate(arch), {}


class ExecutorSchedule(Schedule):
    """Live evaluations as executor tasks; the results are stored and read here (module docs).

    Args:
        oracle: the live oracle (its store is written by this process only).
        terms: the terms every cell is measured on (clean accuracy is added).
        evaluate: reads a cell's outcome once its terms are stored.
        executor: where the tasks run.
        gpus_per_task: GPUs each task asks of Ray.
    """

    def __init__(self, oracle: Any, terms: Sequence[Term], evaluate: Evaluate, executor: Executor,
                 gpus_per_task: float = 0.0) -> None:
        from robnas.evaluation.cell_tasks import LiveSettings, cell_submitter, with_clean

        self._oracle = oracle
        self._terms = with_clean(terms)
        self._evaluate = evaluate
        self._submitter: Submitter = cell_submitter(LiveSettings.of(oracle), executor, gpus_per_task)
        self._tasks: dict[int, tuple[Arch, int, list[Any]]] = {}  # ticket -> (cell, representative, keys sent)
        self._stored: deque[Arch] = deque()  # cells whose results the store already holds
        self.tasks_sent = 0

    def submit(self, arch: Arch) -> None:
        from robnas.evaluation.cell_tasks import unstored

        oracle = self._oracle
        index = oracle.meta.representative_of(oracle.index_of(arch))
        terms, keys = unstored(oracle.store, self._terms, [oracle.result_key(index, t) for t in self._terms])
        if not terms:
            self._stored.append(arch)  # finished before (e.g. by a run that was killed)
            return
        self._tasks[self._submitter.submit((index, terms))] = (arch, index, keys)  # the stored terms not again
        self.tasks_sent += 1

    def next(self) -> tuple[Arch, Any, dict[str, Any]]:
        from robnas.evaluation.cell_tasks import store_counts

        if self._stored:
            arch = self._stored.popleft()
            return arch, self._evaluate(arch), {}
        ticket, counts = self._submitter.wait()
        arch, index, keys = self._tasks.pop(ticket)
        seconds = store_counts(index, counts, keys, self._oracle.store)
        return arch, self._evaluate(arch), {"cost_seconds": seconds}

    def close(self) -> None:
        self._submitter.close()


__all__ = ["ExecutorSchedule", "InProcessSchedule", "Schedule", "SimulatedSchedule", "simulated_cost"]
