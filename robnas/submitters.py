"""Tasks submitted one at a time: the :class:`Submitter` of :meth:`robnas.execution.Executor.submitter`.

Where the next task depends on earlier results (a search that keeps N evaluations in flight),
the driver submits one task at a time and waits for the next to end, on the executor's engine:
in this process (:class:`InProcessSubmitter`, one job), on a ``spawn`` process pool
(:class:`PoolSubmitter`) or as Ray tasks (:class:`RaySubmitter`). Each result is returned
once, with the ticket its submission got; closing cancels what has not ended.
"""

from __future__ import annotations

import multiprocessing
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from robnas.errors import ExecutorError
from robnas.execution import (
    WORKER_DIED,
    Setup,
    Task,
    TaskResources,
    failed,
    pool_result,
    ray_next,
    run_task,
    sigint_blocked,
    start_resource_tracker,
    start_worker,
    stop_pool_surely,
    worker_environment,
)


class Submitter(ABC):
    """Tasks submitted one at a time, each result returned once as it ends (see
    :meth:`Executor.submitter`)."""

    @abstractmethod
    def submit(self, item: Any) -> int:
        """Start ``fn(context, item)``; returns the task's ticket (0, 1, 2, ... in order)."""

    @abstractmethod
    def wait(self) -> tuple[int, Any]:
        """The ``(ticket, result)`` of the next task to end (raises what a failed task raised)."""

    def close(self) -> None:  # noqa: B027 (nothing to release by default)
        """Cancel the tasks that have not ended and release the workers."""

    def __enter__(self) -> Submitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessSubmitter(Submitter):
    """Runs each task in this process when it is waited for, oldest first."""

    def __init__(self, fn: Task, setup: Setup | None, setup_args: tuple[Any, ...]) -> None:
        self._fn, self._setup, self._setup_args = fn, setup, setup_args
        self._context: Any = None
        self._queue: list[tuple[int, Any]] = []
        self._tickets = 0

    def submit(self, item: Any) -> int:
        self._queue.append((self._tickets, item))
        self._tickets += 1
        return self._tickets - 1

    def wait(self) -> tuple[int, Any]:
        if not self._queue:
            raise ExecutorError("no task is running")
        ticket, item = self._queue.pop(0)
        if self._context is None and self._setup is not None:
            self._context = self._setup(*self._setup_args)
        return ticket, self._fn(self._context, item)


class PoolSubmitter(Submitter):
    """Tasks on a ``spawn`` process pool of ``jobs`` workers (started by the first task)."""

    def __init__(self, jobs: int, fn: Task, setup: Setup | None, setup_args: tuple[Any, ...]) -> None:
        self._jobs = jobs
        self._call = (fn, setup, setup_args)
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[Future[Any], int] = {}
        self._tickets = 0

    def submit(self, item: Any) -> int:
        """Start a task (raises :class:`~robnas.errors.ExecutorError` where a worker died: the
        pool is broken, and the results that came back before were taken first)."""
        from concurrent.futures.process import BrokenProcessPool

        fn, setup, setup_args = self._call
        if self._pool is None:
            start_resource_tracker()  # not inside sigint_blocked, which its start would undo
        with worker_environment(), sigint_blocked():  # a worker started now inherits both
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self._jobs, initializer=start_worker,
                                                 mp_context=multiprocessing.get_context("spawn"))
            try:
                future = self._pool.submit(run_task, fn, setup, setup_args, item)
            except BrokenProcessPool as err:
                raise ExecutorError(WORKER_DIED) from err
            self._pending[future] = self._tickets
        self._tickets += 1
        return self._tickets - 1

    def wait(self) -> tuple[int, Any]:
        if not self._pending:
            raise ExecutorError("no task is running")
        done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
        # the oldest result first, then failures: a worker that died fails every pending task
        future = min(done, key=lambda f: (failed(f), self._pending[f]))
        return self._pending.pop(future), pool_result(future)

    def close(self) -> None:
        """End the pool: at once when tasks are still pending (stopped early, a Ctrl-C), after
        nothing is left otherwise."""
        if self._pool is not None:
            if self._pending:
                stop_pool_surely(self._pool)
            else:
                self._pool.shutdown(wait=True)
            self._pool = None
        self._pending.clear()


class RaySubmitter(Submitter):
    """One Ray task per submitted item."""

    def __init__(self, ray: Any, remote: Any, max_retries: int, fn: Task, setup: Setup | None,
                 setup_args: tuple[Any, ...], resources: TaskResources) -> None:
        self._ray = ray
        self._remote = remote.options(num_cpus=resources.cpus, num_gpus=resources.gpus,
                                      max_retries=max_retries, retry_exceptions=False)
        self._refs = (ray.put(fn), ray.put(setup), ray.put(setup_args))
        self._pending: dict[Any, int] = {}
        self._tickets = 0

    def submit(self, item: Any) -> int:
        self._pending[self._remote.remote(*self._refs, item)] = self._tickets
        self._tickets += 1
        return self._tickets - 1

    def wait(self) -> tuple[int, Any]:
        if not self._pending:
            raise ExecutorError("no task is running")
        return ray_next(self._ray, self._pending)  # the oldest result first, then failures

    def close(self) -> None:
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending.clear()


__all__ = ["InProcessSubmitter", "PoolSubmitter", "RaySubmitter", "Submitter"]
