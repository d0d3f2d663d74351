"""The executor: where many independent tasks run, a local process pool or Ray.

The executor decides only *where* a task runs, never what it computes. A task is a picklable,
module-level function ``fn(context, item) -> result``; ``context`` is built once per worker
process by ``setup(*setup_args)`` (e.g. the tabular oracles of a comparison, a live oracle's
weights archive) and reused by every task that process runs. Results travel back to the
driver, which alone writes run records and results stores, so workers need no shared
filesystem and nothing is written twice.

Two engines behind one interface (:class:`Executor`, :meth:`Executor.imap_unordered`):

* :class:`LocalExecutor`: worker processes on this machine (``spawn``, BLAS/OpenMP thread pools
  limited to one thread, :data:`WORKER_THREAD_VARIABLES`); ``jobs=1`` runs in this process.
  A worker that dies breaks the pool: the call raises and a re-run resumes. Workers start with
  SIGINT blocked (:func:`sigint_blocked`), so a Ctrl-C reaches the driver alone: it stops the
  pool (:func:`stop_pool`: pending tasks cancelled, workers ended) and nothing prints from
  half-started workers.
* :class:`RayExecutor`: one Ray task per item (``ray.remote``), on a Ray instance started here
  (``address=None``) or a running cluster (``address="auto"`` or ``ray://...``). A worker
  process or node that dies mid-task has its task retried (``max_retries``); each task asks
  for ``cpus`` CPUs and ``gpus`` GPUs, fractions allowed, so several small evaluations can
  share one GPU. Ray is imported only here, only when this engine is used.

Each result is yielded exactly once, as ``(position, result)``, in completion order: a task
that Ray retried still yields once, so the driver never counts a task twice. Of tasks that
ended together, those that succeeded come first, so a failure (or a dead worker, which fails
every pending task of a local pool) never drops a result that had already come back. A task that
raised raises the same exception in the driver on both engines (Ray's ``RayTaskError`` wrapper,
whose message is a coloured ``ray::run_task()`` header, is unwrapped: :func:`ray_result`).
Tasks that ask for GPUs are refused up front where no node of the Ray cluster has that many
(:meth:`RayExecutor.check_resources`), instead of waiting forever to be scheduled.

Where the next task depends on earlier results (a search that keeps N evaluations in flight),
:meth:`Executor.submitter` gives a :class:`~robnas.submitters.Submitter`: ``submit(item)`` one task at a time and
``wait()`` for the next that ends, on the same engines.

>>> with LocalExecutor(jobs=1) as executor:
...     sorted(executor.imap_unordered(_example_task, [1, 2, 3], setup=_example_setup, setup_args=(10,)))
[(0, 11), (1, 12), (2, 13)]
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import re
import signal
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robnas.errors import ExecutorError
from robnas.vocabulary import Engine

if TYPE_CHECKING:
    from robnas.submitters import Submitter

logger = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = tuple(e.value for e in Engine)
"""The executor engines (``--executor`` choices)."""

WORKER_THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Thread-pool sizes set to 1 for worker processes (a value the caller set is kept)."""

DEFAULT_MAX_RETRIES = 3
"""Ray retries of a task whose worker process or node died."""

Setup = Callable[..., Any]
Task = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class TaskResources:
    """What one task asks of a worker (Ray schedules by it; the local pool runs one per process).

    Attributes:
        cpus: CPUs per task (fractions allowed on Ray).
        gpus: GPUs per task; a fraction lets several tasks share one GPU (Ray only).
    """

    cpus: float = 1.0
    gpus: float = 0.0


# -- per-process worker context ---------------------------------------------------------------

_CONTEXTS: dict[tuple[str, str, bytes], Any] = {}
"""Per worker process: ``setup``'s name and pickled ``setup_args`` -> the context it built (once)."""


def _context(setup: Setup | None, setup_args: tuple[Any, ...]) -> Any:
    if setup is None:
        return None
    # by name: a setup shipped by value (e.g. from a script's __main__) is not picklable here
    key = (getattr(setup, "__module__", ""), getattr(setup, "__qualname__", repr(setup)),
           pickle.dumps(setup_args))
    if key not in _CONTEXTS:
        _CONTEXTS[key] = setup(*setup_args)
    return _CONTEXTS[key]


def run_task(fn: Task, setup: Setup | None, setup_args: tuple[Any, ...], item: Any) -> Any:
    """Run one task in this process: ``fn(context, item)`` with this process's context.

    In a local worker told to stop (SIGTERM, :func:`start_worker`), a task handed over after
    the signal is abandoned unstarted (``SystemExit``).
    """
    global _IN_TASK
    if _STOPPING:
        raise SystemExit(128 + signal.SIGTERM)
    _IN_TASK = True
    try:
        return fn(_context(setup, setup_args), item)
    finally:
        _IN_TASK = False


WORKER_DIED = ("a worker process died mid-task (killed, or out of memory); what finished is kept: "
               "run the command again to resume")
"""The one-line error of a local pool whose worker died (the pool is broken)."""


def pool_result(future: Future[Any]) -> Any:
    """``future.result()`` of a local pool's task; a pool broken by a worker that died raises
    :class:`~robnas.errors.ExecutorError` (:data:`WORKER_DIED`) instead of Python's
    ``BrokenProcessPool``, so the command ends in one line rather than a traceback.

    Callers take the ended tasks that succeeded before those that failed (:func:`failed`): a
    worker that dies fails every task still pending at once, and a result that had come back
    (a cell whose task deleted its scratch store) is kept, not dropped with them."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool as err:
        raise ExecutorError(WORKER_DIED) from err


def failed(future: Future[Any]) -> bool:
    """Whether a local pool's ended task failed (it raised, was cancelled or its pool broke)."""
    return future.cancelled() or future.exception() is not None


def ray_next(ray: Any, pending: dict[Any, int]) -> tuple[int, Any]:
    """Wait for a Ray task of ``pending`` (ref -> ticket) to end, and take it out of ``pending``:
    ``(ticket, result)`` of the oldest ended task that succeeded; only where every ended task
    failed, the oldest failure raises (:func:`ray_result`).

    Results first: a failure that ended beside them (a task that raised, or whose worker died
    after every retry) would otherwise drop results that had already come back, evaluations
    whose scratch stores their tasks had deleted (see :func:`pool_result` for the local pool).
    """
    refs = list(pending)
    first, _ = ray.wait(refs, num_returns=1)
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
    failures: list[tuple[Any, Exception]] = []
    for ref in sorted(set(first) | set(ready), key=pending.__getitem__):
        try:
            result = ray_result(ray, ref)
        except Exception as err:
            failures.append((ref, err))
            continue
        return pending.pop(ref), result
    ref, error = failures[0]
    pending.pop(ref)
    raise error


def ray_result(ray: Any, ref: Any) -> Any:
    """``ray.get(ref)``, raising what the task raised rather than Ray's wrapper of it.

    Ray raises a failed task's exception as a ``RayTaskError`` whose message is the task's
    header (``ray::run_task() (pid=..., ip=...)``, in ANSI colours) and the remote traceback;
    the task's own exception (``cause``) is raised instead, chained to the wrapper so the remote
    traceback stays available, so the driver sees the same exception and one-line message as
    with the local pool. Any other Ray error (e.g. a worker that died after every retry) is
    raised as an :class:`~robnas.errors.ExecutorError` with its first line, uncoloured.
    """
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
            raise cause from err
        raise ExecutorError(f"a Ray task failed: {_first_line(cause if cause is not None else err)}") from err
    except ray.exceptions.RayError as err:
        raise ExecutorError(f"a Ray task failed: {_first_line(err)}") from err


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _first_line(error: BaseException) -> str:
    """The first non-empty line of ``error``'s message, without ANSI colour codes."""
    lines = [line.strip() for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def exit_with_parent() -> None:
    """In a child process: end it (``os._exit``) as soon as its parent process dies.

    A daemon thread waits on the parent's sentinel (:func:`multiprocessing.parent_process`),
    which becomes ready when the parent is gone, however it died (even ``kill -9``), so no
    worker is left blocked on a queue nobody feeds. Does nothing in a process that
    multiprocessing did not start.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        from multiprocessing.connection import wait as wait_for

        wait_for([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="robnas-exit-with-parent", daemon=True).start()


_STOPPING = False
"""Set in a local worker by SIGTERM: tasks it is handed from then on are not started."""
_IN_TASK = False
"""Whether this local worker is inside a task (:func:`run_task`): only there does SIGTERM raise."""


def start_worker() -> None:
    """The initializer of every local worker process: it ends with its parent
    (:func:`exit_with_parent`), and SIGTERM (what :func:`stop_pool` sends) ends it as a normal
    exit (``SystemExit``): a running task is abandoned, the worker's own clean-up runs (the
    semaphores scikit-learn's helpers made are released, so nothing is reported leaked), and
    no traceback is printed. The pool's worker loop catches a task's ``SystemExit`` (it is sent
    back as the task's error) and takes the next queued task, so every task the worker is
    handed after the signal is abandoned unstarted (:func:`run_task`) until the pool's end
    reaches it: a Ctrl-C never leaves workers running the queued tasks to the end."""
    exit_with_parent()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Abandon the running task; outside a task only remember the stop. Raised anywhere else,
    the exit could land in the pool's own code, e.g. while it writes a result to the driver
    holding the result queue's lock, which no other worker could then take: the pool's
    shutdown would wait for ever. An idle worker ends at the pool's shutdown sentinel."""
    global _STOPPING
    _STOPPING = True
    if _IN_TASK:
        raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Hold a Ctrl-C back while worker processes start, then deliver it.

    SIGINT is blocked in this thread, and a spawned worker inherits the mask through ``fork``
    and ``exec`` (Python leaves a blocked signal blocked), so a Ctrl-C (which the terminal sends
    to the whole process group) never interrupts a worker, not even while it is still
    importing: the driver alone gets it and stops the pool (:func:`stop_pool`). A Ctrl-C that
    reached Python just before the mask (its handler not yet run) is recorded instead of raised
    in the middle of a worker's launch (which would leave the worker reading half its start-up
    data), and raised as ``KeyboardInterrupt`` when the block ends; one that arrives under the
    mask is delivered when the mask is lifted. Nothing is changed where the platform has no
    ``pthread_sigmask`` (Windows) or outside the main thread (where Python runs no signal
    handler).
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda number, frame: interrupted.append(number))
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    if interrupted:
        raise KeyboardInterrupt


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now (nothing happens when it runs already).

    A pool starts it with its first semaphore otherwise; starting it unblocks SIGINT and SIGTERM
    in the calling thread (multiprocessing blocks them around the tracker's spawn, then lifts
    them, whatever the mask was), so it must not start inside :func:`sigint_blocked`: the
    workers spawned after it would take a Ctrl-C again.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the pool's pending tasks and end its workers now (a Ctrl-C, a failed task, or a
    caller that stopped early): running tasks are not waited for, their results are dropped.

    Workers are ended through the pool's private process table: Python before 3.14 has no
    public way (``ProcessPoolExecutor.terminate_workers``), and ``shutdown`` alone waits for
    every running task.
    """
    with sigint_blocked():  # a second Ctrl-C waits until the pool is down, then interrupts
        processes = dict(getattr(pool, "_processes", None) or {})  # taken before shutdown clears it
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():
            process.terminate()
        pool.shutdown(wait=True)


def stop_pool_surely(pool: ProcessPoolExecutor) -> None:
    """:func:`stop_pool`, again if a second Ctrl-C lands before it has blocked SIGINT (the
    first is what is being handled: the caller re-raises it)."""
    while True:
        try:
            stop_pool(pool)
            return
        except KeyboardInterrupt:
            continue


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


# -- the interface ----------------------------------------------------------------------------

class Executor(ABC):
    """Runs independent tasks and yields their results to the driver as they finish.

    Use as a context manager (or call :meth:`close`), so started workers are released.
    """

    engine: str = ""
    """``local`` or ``ray``."""

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many tasks run at once at most (Ray: the cluster's CPUs; GPU tasks are further limited by its GPUs)."""

    @abstractmethod
    def imap_unordered(self, fn: Task, items: Sequence[Any], *, setup: Setup | None = None,
                       setup_args: tuple[Any, ...] = (),
                       resources: TaskResources | None = None) -> Iterator[tuple[int, Any]]:
        """Run ``fn(context, item)`` for every item; yield ``(position, result)`` as each ends.

        Args:
            fn: a module-level function (it is pickled to the workers).
            items: the tasks' inputs (picklable).
            setup: builds a worker's context once per process (``setup(*setup_args)``).
            setup_args: arguments of ``setup`` (picklable).
            resources: what each task asks for (default: one CPU, no GPU).

        Raises:
            Exception: the first task that failed, after the others were cancelled (finished
                results already yielded stay with the caller).
        """

    def submitter(self, fn: Task, *, setup: Setup | None = None, setup_args: tuple[Any, ...] = (),
                  resources: TaskResources | None = None) -> Submitter:
        """Tasks submitted one at a time (``fn``, ``setup`` as in :meth:`imap_unordered`).

        Use as a context manager: leaving it cancels what has not ended and releases the
        workers it started.
        """
        from robnas.submitters import InProcessSubmitter

        return InProcessSubmitter(fn, setup, setup_args)

    def check_resources(self, resources: TaskResources) -> None:  # noqa: B027 (nothing to check by default)
        """Refuse tasks asking for ``resources`` that this executor can never provide.

        Raises:
            ExecutorError: no worker can ever run such a task (see :meth:`RayExecutor.check_resources`).
        """

    def close(self) -> None:  # noqa: B027 (engines without lasting workers have nothing to release)
        """Release the workers (idempotent)."""

    def describe(self) -> dict[str, Any]:
        """The engine and its size, for records and reports."""
        return {"engine": self.engine, "workers": self.workers}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """Worker processes on this machine (see the module docs).

    Args:
        jobs: worker processes (default: the CPU count); 1 runs every task in this process.
    """

    engine = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)

    @property
    def workers(self) -> int:
        return self.jobs

    def imap_unordered(self, fn: Task, items: Sequence[Any], *, setup: Setup | None = None,
                       setup_args: tuple[Any, ...] = (),
                       resources: TaskResources | None = None) -> Iterator[tuple[int, Any]]:
        if self.jobs <= 1 or len(items) <= 1:  # in this process: a context for this call only
            context = None if setup is None or not items else setup(*setup_args)
            for position, item in enumerate(items):
                yield position, fn(context, item)
            return
        pool: ProcessPoolExecutor | None = None
        start_resource_tracker()
        try:
            with worker_environment(), sigint_blocked():  # the workers start in these submits
                pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(items)), initializer=start_worker,
                                           mp_context=multiprocessing.get_context("spawn"))
                pending: dict[Future[Any], int] = {
                    pool.submit(run_task, fn, setup, setup_args, item): position
                    for position, item in enumerate(items)}
            while pending:
                # yield each task as it ends (FIRST_EXCEPTION would wait for all of them)
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: (failed(f), pending[f])):  # results first
                    position = pending.pop(future)
                    yield position, pool_result(future)  # a failed task raises here
        except BaseException:  # a failed task, Ctrl-C, or the caller closing the generator
            if pool is not None:
                stop_pool_surely(pool)
            raise
        pool.shutdown(wait=True)

    def submitter(self, fn: Task, *, setup: Setup | None = None, setup_args: tuple[Any, ...] = (),
                  resources: TaskResources | None = None) -> Submitter:
        from robnas.submitters import InProcessSubmitter, PoolSubmitter

        if self.jobs <= 1:
            return InProcessSubmitter(fn, setup, setup_args)
        return PoolSubmitter(self.jobs, fn, setup, setup_args)


class RayExecutor(Executor):
    """Ray tasks on a local Ray instance or a cluster (see the module docs).

    Args:
        address: ``None`` starts a local Ray instance (stopped on :meth:`close`), also where
            a cluster runs on this machine or ``RAY_ADDRESS`` names one (Ray's own default
            would join it, and refuse ``jobs``); ``auto``
            joins the cluster started with ``ray start --head`` on this machine; any other
            value is passed to ``ray.init(address=...)`` (e.g. ``ray://head:10001``). A Ray
            instance already running in this process is used as it is.
        jobs: CPUs of the local instance started here (default: the CPU count).
        max_retries: retries of a task whose worker process or node died.
    """

    engine = "ray"

    def __init__(self, address: str | None = None, *, jobs: int | None = None,
                 max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError("--executor ray needs Ray: pip install 'robnas[ray]'") from None
        self.address = address
        self.max_retries = max_retries
        self._ray = ray
        self._owns = False
        if not ray.is_initialized():
            env = {"env_vars": {name: os.environ.get(name, "1") for name in WORKER_THREAD_VARIABLES}}
            if address is not None:
                _check_reachable(ray, address)
            try:
                with _token_notice_quieted():
                    if address is None:  # "local": a new instance, also where `ray start` runs one
                        ray.init(address="local", num_cpus=jobs or os.cpu_count() or 1, include_dashboard=False,
                                 runtime_env=env, logging_level=logging.WARNING, log_to_driver=False)
                    else:
                        ray.init(address=address, runtime_env=env, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as err:
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                if address is None:  # a local instance of this process's own
                    raise ExecutorError(f"--executor ray: cannot start a local Ray instance ({first})") from None
                raise ExecutorError(f"--ray-address {address}: cannot join a Ray cluster ({first})") from None
            self._owns = True
        self._remote = ray.remote(run_task)

    @property
    def workers(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def imap_unordered(self, fn: Task, items: Sequence[Any], *, setup: Setup | None = None,
                       setup_args: tuple[Any, ...] = (),
                       resources: TaskResources | None = None) -> Iterator[tuple[int, Any]]:
        ray = self._ray
        resources = resources or TaskResources()
        if items:
            self.check_resources(resources)
        remote = self._remote.options(num_cpus=resources.cpus, num_gpus=resources.gpus,
                                      max_retries=self.max_retries, retry_exceptions=False)
        # one shared copy of the function and setup in Ray's object store, not one per task
        fn_ref, setup_ref, args_ref = ray.put(fn), ray.put(setup), ray.put(setup_args)
        pending = {remote.remote(fn_ref, setup_ref, args_ref, item): position
                   for position, item in enumerate(items)}
        try:
            while pending:
                yield ray_next(ray, pending)  # results first; a failed task raises here
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def submitter(self, fn: Task, *, setup: Setup | None = None, setup_args: tuple[Any, ...] = (),
                  resources: TaskResources | None = None) -> Submitter:
        from robnas.submitters import RaySubmitter

        self.check_resources(resources or TaskResources())
        return RaySubmitter(self._ray, self._remote, self.max_retries, fn, setup, setup_args,
                            resources or TaskResources())

    def check_resources(self, resources: TaskResources) -> None:
        """Refuse tasks no node of the cluster can run: Ray would wait for such a node forever.

        Checks the GPUs a task asks for against the GPUs of each live node (a task runs on one
        node), as the cluster has them now.

        Raises:
            ExecutorError: the cluster has no GPUs, or no node has as many as one task asks for.
        """
        if resources.gpus <= 0:
            return
        ray = self._ray
        wanted = f"--gpus-per-task {resources.gpus:g}"
        total = float(ray.cluster_resources().get("GPU", 0.0))
        if total <= 0:
            raise ExecutorError(f"{wanted}: the Ray cluster has no GPUs (leave --gpus-per-task "
                                "out to run on CPUs)")
        try:
            most = max((float(node.get("Resources", {}).get("GPU", 0.0)) for node in ray.nodes()
                        if node.get("Alive", True)), default=total)
        except Exception:  # the node listing is unavailable (e.g. a Ray client): the total decides
            most = total
        if most < resources.gpus:
            raise ExecutorError(f"{wanted}: no node of the Ray cluster has that many GPUs (the most "
                                f"on one node: {most:g}); a task runs on one node")

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False

    def describe(self) -> dict[str, Any]:
        return {"engine": self.engine, "workers": self.workers, "address": self.address or "local",
                "ray": self._ray.__version__}


_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


def _drop_token_enabled_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled")


@contextlib.contextmanager
def _token_notice_quieted() -> Iterator[None]:
    """While ``ray.init`` runs, drop Ray's WARNING that token authentication is enabled (Ray
    logs it for every instance it starts, and on joining a cluster that has a token: the
    secure default, not a problem to report on every command). Only that message of Ray's
    own authentication logger is dropped, only during the call; Ray's warning that a cluster
    runs *without* authentication still reaches the user."""
    log = logging.getLogger(_TOKEN_LOGGER)
    log.addFilter(_drop_token_enabled_notice)
    try:
        yield
    finally:
        log.removeFilter(_drop_token_enabled_notice)


REACH_TIMEOUT_S = 10.0
"""How long :class:`RayExecutor` waits for a ``--ray-address`` to accept a connection."""


def _check_reachable(ray: Any, address: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """Refuse a cluster address (``HOST:PORT`` or ``ray://HOST:PORT``) where nothing accepts a
    connection: ``ray.init`` would retry it for over ten minutes, printing a warning every few
    seconds. ``auto`` (found from the running Ray processes) and addresses not of that form are
    left to Ray."""
    import socket

    target = address.split("://", 1)[1] if "://" in address else address
    host, colon, port = target.rpartition(":")
    host = host.strip("[]")
    if address in ("auto", "local") or not colon or not host or not port.isdigit():
        return
    if not 0 < int(port) < 65536:
        raise ExecutorError(f"--ray-address {address}: the port must be in 1..65535, got {int(port)}")
    hosts = [host]
    if host in ("localhost", "127.0.0.1", "::1"):  # Ray joins this node's own address instead
        with contextlib.suppress(Exception):
            hosts.append(ray.util.get_node_ip_address())
    reason = ""
    for candidate in hosts:
        try:
            with socket.create_connection((candidate, int(port)), timeout=timeout):
                return
        except (OSError, OverflowError) as err:
            reason = reason or (err.strerror if isinstance(err, OSError) and err.strerror else str(err)
                                or type(err).__name__)
    raise ExecutorError(f"--ray-address {address}: cannot join a Ray cluster (nothing accepts a "
                        f"connection at {host}:{port}: {reason}); is the cluster running "
                        "(`ray start --head`)?")


def make_executor(engine: str = "local", *, jobs: int | None = None,
                  address: str | None = None) -> Executor:
    """The executor of ``engine`` (``local`` or ``ray``).

    Args:
        engine: one of :data:`ENGINES`.
        jobs: local worker processes, or the CPUs of a Ray instance started here.
        address: Ray only: ``None`` (start one here), ``auto`` or a cluster address.

    Raises:
        ExecutorError: an unknown engine, ``address`` with the local engine, or Ray
            unavailable.
    """
    if engine not in ENGINES:
        raise ExecutorError(f"unknown executor {engine!r}; choose from {', '.join(ENGINES)}")
    if engine == "local":
        if address is not None:
            raise ExecutorError("--ray-address needs --executor ray")
        return LocalExecutor(jobs)
    return RayExecutor(address, jobs=jobs)


def _example_setup(offset: int) -> int:
    return offset


def _example_task(offset: int, item: int) -> int:
    return offset + item
