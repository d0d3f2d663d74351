"""The executor on a real local Ray instance (started once for this module) and the local pool."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from robnas.errors import DataNotFoundError, ExecutorError
from robnas.execution import LocalExecutor, TaskResources, make_executor

# -- tasks (module level: they are pickled to the workers) ------------------------------------

def _setup(folder: str) -> dict:
    """Counts, in a file per process, how often a worker built its context."""
    path = Path(folder) / f"setup-{os.getpid()}"
    path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))
    return {"folder": folder, "pid": os.getpid()}


def _square(context: dict, item: int) -> tuple[int, int]:
    assert context["pid"] == os.getpid()  # the context of this very process
    return item * item, os.getpid()


def _slow_once(folder: str, item: int) -> int:
    """Item 0's first attempt announces its pid and hangs (to be killed); every other call returns."""
    marker = Path(folder) / f"attempt-{item}-{os.getpid()}"
    first = not list(Path(folder).glob(f"attempt-{item}-*"))
    marker.write_text("")
    if item == 0 and first:
        time.sleep(120)
    return item + 100


def _sleep_marked(folder: str, item: int) -> int:
    """Item 0 returns at once; every other item announces that it started and sleeps."""
    if item:
        (Path(folder) / f"start-{item}-{os.getpid()}").write_text("")
        time.sleep(20)
    return item


def _die(context: None, item: int) -> int:
    """Item 1's worker process is killed (kill -9) mid-task."""
    if item == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def _late_failure(folder: str, item: str) -> str:
    """``first`` returns at once, ``ok`` soon after; ``die`` (its worker killed) and ``fail``
    (raises) end once ``ok`` has ended, leaving ``ended-<item>-<pid>`` behind; ``hang`` sleeps."""
    if item == "first":
        return item
    if item == "ok":
        time.sleep(0.5)
        (Path(folder) / "ok").write_text("")
        return item
    if item == "hang":
        time.sleep(60)
    while not (Path(folder) / "ok").exists():
        time.sleep(0.02)
    time.sleep(0.3)  # "ok"'s result on its way to the driver
    (Path(folder) / f"ended-{item}-{os.getpid()}").write_text("")
    if item == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    raise ValueError(f"task {item} failed")


def _ended(folder: Path, item: str) -> int:
    """The pid of the worker that ended ``item`` (:func:`_late_failure`), once its end is seen
    by the driver's pool (a killed worker is gone) and a little after."""
    found = []
    deadline = time.monotonic() + 120
    while not found:
        assert time.monotonic() < deadline, f"task {item} never ended"
        found = list(folder.glob(f"ended-{item}-*"))
        time.sleep(0.05)
    pid = int(found[0].name.rsplit("-", 1)[1])
    while item == "die" and _alive(pid):
        time.sleep(0.05)
    time.sleep(1.0)
    return pid


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return False


def _fail(context: None, item: int) -> int:
    if item == 3:
        raise ValueError("task 3 failed")
    return item


def _refuse(context: None, item: int) -> int:
    """A task that fails as robnas' own checks do (a one-line :class:`DataNotFoundError`)."""
    raise DataNotFoundError(f"no weights for NB201 index {item}: /nowhere/{item:06d}.pickle.pbz2 is missing")


# -- tests ------------------------------------------------------------------------------------

def test_ray_runs_every_task_once_with_one_context_per_worker(ray_executor, tmp_path) -> None:
    items = list(range(12))
    out = list(ray_executor.imap_unordered(_square, items, setup=_setup, setup_args=(str(tmp_path),),
                                           resources=TaskResources(cpus=0.5)))
    assert sorted(position for position, _ in out) == items
    assert all(value == items[position] ** 2 for position, (value, _) in out)
    pids = {pid for _, (_, pid) in out}
    assert os.getpid() not in pids
    builds = {p.name: int(p.read_text()) for p in tmp_path.glob("setup-*")}
    assert set(builds) == {f"setup-{pid}" for pid in pids} and set(builds.values()) == {1}
    assert ray_executor.describe()["engine"] == "ray" and ray_executor.workers == 2


def test_a_killed_ray_worker_has_its_task_retried_and_counted_once(ray_executor, tmp_path) -> None:
    results: list[tuple[int, int]] = []
    consumer = threading.Thread(target=lambda: results.extend(ray_executor.imap_unordered(
        _slow_once, [0, 1, 2, 3], setup=str, setup_args=(str(tmp_path),))))
    consumer.start()
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("attempt-0-*")):
        assert time.monotonic() < deadline, "task 0 never started"
        time.sleep(0.05)
    (victim,) = tmp_path.glob("attempt-0-*")
    pid = int(victim.name.rsplit("-", 1)[1])
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)  # the worker dies mid-task
    consumer.join(timeout=90)
    assert not consumer.is_alive()
    assert sorted(results) == [(0, 100), (1, 101), (2, 102), (3, 103)]  # each result once
    attempts = sorted(p.name for p in tmp_path.glob("attempt-0-*"))
    assert len(attempts) == 2 and f"attempt-0-{pid}" in attempts  # retried in another process


def test_a_failing_task_raises_on_both_engines(ray_executor) -> None:
    for executor in (ray_executor, LocalExecutor(jobs=1)):
        with pytest.raises(ValueError, match="task 3 failed"):
            list(executor.imap_unordered(_fail, range(5)))


def test_bad_executor_options_are_refused() -> None:
    with pytest.raises(ExecutorError, match="choose from local, ray"):
        make_executor("dask")
    with pytest.raises(ExecutorError, match="--ray-address needs --executor ray"):
        make_executor("local", address="auto")


def test_a_submitter_keeps_tasks_in_flight_on_every_engine(ray_executor, tmp_path) -> None:
    # One task at a time, the next submitted as one ends (a search with N workers): each
    # ticket comes back once with its own result, from worker processes (in-process for jobs=1).
    for executor, remote in ((LocalExecutor(1), False), (LocalExecutor(2), True), (ray_executor, True)):
        folder = tmp_path / executor.engine / str(executor.workers)
        folder.mkdir(parents=True)
        with executor.submitter(_square, setup=_setup, setup_args=(str(folder),)) as submitter:
            tickets = {submitter.submit(item): item for item in (3, 4)}
            seen = {}
            for item in (5, 6, 7):
                ticket, (value, pid) = submitter.wait()
                seen[ticket] = value
                tickets[submitter.submit(item)] = item
            for _ in range(2):
                ticket, (value, pid) = submitter.wait()
                seen[ticket] = value
            with pytest.raises(ExecutorError, match="no task is running"):
                submitter.wait()
        assert sorted(tickets) == [0, 1, 2, 3, 4]
        assert seen == {ticket: item * item for ticket, item in tickets.items()}
        assert (pid != os.getpid()) == remote


def test_a_failed_ray_task_raises_the_tasks_own_error_and_message(ray_executor) -> None:
    # Ray wraps a task's exception in a RayTaskError whose message is a coloured
    # "ray::run_task() (pid=..., ip=...)" header: the driver gets the task's own exception and
    # its one-line message instead, exactly as from the local pool, for a map and a submitter.
    expected = "no weights for NB201 index 7: /nowhere/000007.pickle.pbz2 is missing"
    for executor in (ray_executor, LocalExecutor(jobs=1)):
        with pytest.raises(DataNotFoundError) as raised:
            list(executor.imap_unordered(_refuse, [7]))
        assert type(raised.value) is DataNotFoundError and str(raised.value) == expected
        with executor.submitter(_refuse) as submitter, pytest.raises(DataNotFoundError) as raised:
            submitter.submit(7)
            submitter.wait()
        assert type(raised.value) is DataNotFoundError and str(raised.value) == expected


def test_gpu_tasks_no_node_can_run_are_refused_not_left_waiting(ray_executor) -> None:
    # Ray keeps a task that asks for more GPUs than any node has pending forever (no message),
    # so the call runs in a thread and must end within a minute, refused in one line. On a CPU
    # machine the module's Ray instance has no GPUs; on a GPU machine, ask for one more GPU
    # than it has.
    import ray

    have = int(ray.cluster_resources().get("GPU", 0))
    outcome: list[BaseException | list] = []

    def attempt(gpus: float, use_submitter: bool) -> None:
        try:
            if use_submitter:
                with ray_executor.submitter(_fail, resources=TaskResources(gpus=gpus)) as submitter:
                    submitter.submit(2)
                    outcome.append([submitter.wait()])
            else:
                outcome.append(list(ray_executor.imap_unordered(_fail, [1], resources=TaskResources(gpus=gpus))))
        except BaseException as err:  # handed to the test's thread
            outcome.append(err)

    cases = [(0.25, False), (2, True)] if have == 0 else [(have + 1, False), (have + 1, True)]
    for gpus, use_submitter in cases:
        outcome.clear()
        worker = threading.Thread(target=attempt, args=(gpus, use_submitter), daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), f"a task asking for {gpus} GPUs waits forever"
        (error,) = outcome
        expected = ("the Ray cluster has no GPUs (leave --gpus-per-task out to run on CPUs)" if have == 0
                    else f"no node of the Ray cluster has that many GPUs (the most on one node: {have})")
        assert isinstance(error, ExecutorError) and str(error) == f"--gpus-per-task {gpus:g}: {expected}"
    assert list(ray_executor.imap_unordered(_fail, [1], resources=TaskResources(gpus=0))) == [(0, 1)]


def test_a_stopped_local_pool_starts_none_of_its_queued_tasks(tmp_path) -> None:
    # Stopping the pool (a Ctrl-C, or the caller leaving early) ends its workers with SIGTERM.
    # The pool's worker loop catches the SystemExit of the abandoned task and took the next
    # queued task: the workers ran every queued task to its end (hours, for live cells) and
    # the command's exit waited for them. Now nothing queued starts, and the workers end.
    started = lambda: sorted(tmp_path.glob("start-*"))  # noqa: E731
    results = LocalExecutor(jobs=2).imap_unordered(_sleep_marked, list(range(8)), setup=str,
                                                   setup_args=(str(tmp_path),))
    assert next(results) == (0, 0)
    deadline = time.monotonic() + 60
    while len(started()) < 2:  # both workers in a sleeping task, the others queued
        assert time.monotonic() < deadline, "the workers never started their tasks"
        time.sleep(0.02)
    before = started()
    begun = time.monotonic()
    results.close()
    assert time.monotonic() - begun < 15
    time.sleep(2)  # time enough for a worker to take and start a queued task
    assert started() == before
    pids = {int(path.name.rsplit("-", 1)[1]) for path in before}
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "the workers still run after the pool was stopped"
        time.sleep(0.05)


def test_a_killed_local_worker_is_a_one_line_error_on_map_and_submitter() -> None:
    # A worker killed mid-task broke the pool with Python's BrokenProcessPool: the command
    # printed a traceback (exit 1). Now it is an ExecutorError, one line that says a re-run resumes.
    expected = ("a worker process died mid-task (killed, or out of memory); what finished is kept: "
                "run the command again to resume")
    with pytest.raises(ExecutorError) as raised:
        list(LocalExecutor(jobs=2).imap_unordered(_die, [0, 1, 2, 3]))
    assert str(raised.value) == expected
    with LocalExecutor(jobs=2).submitter(_die) as submitter, pytest.raises(ExecutorError) as raised:
        submitter.submit(1)
        submitter.wait()
    assert str(raised.value) == expected


@pytest.mark.parametrize("engine", ["pool", "ray"])
def test_a_result_that_came_back_is_kept_when_a_task_beside_it_fails(engine, request, tmp_path) -> None:
    # A worker that died failed every pending task of the pool at once, and a failed task was
    # taken before a result that had come back beside it (the oldest ticket first): the result
    # was dropped with the error, a live cell's evaluation lost (its task had deleted its
    # scratch store), to be run again from its first image. Ray took the oldest ended task
    # first too. Results that came back are now taken first, then the failure.
    executor = LocalExecutor(jobs=2) if engine == "pool" else request.getfixturevalue("ray_executor")
    item, error = ("die", ExecutorError) if engine == "pool" else ("fail", ValueError)
    for attempt in range(1 if engine == "pool" else 4):  # Ray's order of ended tasks varies
        folder = tmp_path / str(attempt)
        folder.mkdir()
        with executor.submitter(_late_failure, setup=str, setup_args=(str(folder),)) as submitter:
            assert (submitter.submit(item), submitter.submit("ok")) == (0, 1)
            _ended(folder, item)  # both ended before the driver looks
            assert submitter.wait() == (1, "ok")
            with pytest.raises(error):  # the broken pool refuses the next task, in one line
                if engine == "pool":  # (it was Python's BrokenProcessPool: a traceback)
                    submitter.submit("first")
                submitter.wait()


def test_a_map_keeps_a_result_that_came_back_beside_a_dead_worker(tmp_path) -> None:
    # The same for a map: a dead worker fails every pending task, and the ended tasks were
    # taken in a set's order, a failure often before the result beside it.
    folder = tmp_path
    results = LocalExecutor(jobs=3).imap_unordered(_late_failure, ["first", "die", "ok", "hang", "hang"],
                                                   setup=str, setup_args=(str(folder),))
    position: int | None = -1
    with pytest.raises(ExecutorError):
        for position, result in results:
            if result == "first":
                _ended(folder, "die")  # the driver busy with a result meanwhile
            else:
                assert (position, result) == (2, "ok")
                position = None
    assert position is None, "the result of 'ok' was dropped"


def test_a_local_ray_instance_is_started_where_a_cluster_runs_on_this_machine(tmp_path) -> None:
    # `ray start --head` (README, "On a cluster") leaves the cluster's address in Ray's temp
    # folder, and ray.init() without an address joins that cluster, refusing the CPUs robnas
    # asks for: `--executor ray` without --ray-address failed with "cannot start a local Ray
    # instance (When connecting to an existing cluster, num_cpus and num_gpus must not be
    # provided.)" instead of starting one for the command. (In a subprocess: this module's
    # instance runs in this one.)
    pytest.importorskip("ray")
    short = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # Ray's socket paths must stay short
    try:
        (short / "ray").mkdir()
        (short / "ray" / "ray_current_cluster").write_text("127.0.0.1:1")  # what `ray start` leaves
        code = ("from robnas.execution import RayExecutor\n"
                "with RayExecutor(jobs=1) as executor:\n"
                "    print(executor.describe()['address'], executor.workers)")
        env = {**os.environ, "RAY_TMPDIR": str(short)}
        env.pop("RAY_ADDRESS", None)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == ["local", "1"]
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_a_stop_signal_outside_a_task_leaves_the_idle_worker_to_end_at_shutdown() -> None:
    # SIGTERM raised SystemExit wherever the worker was: outside a task that is the pool's own
    # code, e.g. writing a result back while holding the result queue's lock, which no other
    # worker could take again (the pool's shutdown then waited for ever). Outside a task the
    # signal is only remembered now: an idle worker stays and ends at the shutdown sentinel.
    from concurrent.futures import ProcessPoolExecutor

    from robnas.execution import run_task, start_worker

    pool = ProcessPoolExecutor(max_workers=1, initializer=start_worker)
    try:
        assert pool.submit(run_task, _own_pid, None, (), 0).result(timeout=60) > 0
        (process,) = pool._processes.values()  # the one worker, idle now
        os.kill(process.pid, signal.SIGTERM)
        time.sleep(0.5)
        assert process.is_alive(), "an idle worker exited at SIGTERM, from outside a task"
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    assert process.exitcode == 0


def _own_pid(context: object, item: int) -> int:
    return os.getpid()
