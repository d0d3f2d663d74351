"""Find the Ray worker processes of this test process's own local Ray instance (Linux ``/proc``)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _descendants(root: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found = []
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1):
            if ancestor == root:
                found.append(pid)
                break
            ancestor = parents.get(ancestor)
    return found


def running_task_pids(function: str = "run_task") -> list[int]:
    """Pids of the Ray workers under this process now executing ``function``.

    Ray names a worker process ``ray::<function>`` while it runs a task (``ray::IDLE``
    otherwise); only descendants of this process count, so other users' Ray instances on the
    same machine are never touched.
    """
    pids = []
    for pid in _descendants(os.getpid()):
        try:
            title = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(f"ray::{function}".encode()):
            pids.append(pid)
    return pids


def wait_for(condition, what: str, timeout: float = 120.0, every: float = 0.02):
    """Poll ``condition()`` until it returns something truthy (returned), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def kill_a_worker_mid_task(driver: Callable[[], Any], ready: Callable[[], bool] | None = None,
                           timeout: float = 300.0) -> tuple[int, Any]:
    """Run ``driver()`` in a thread; once ``ready()`` holds, SIGKILL a Ray worker of this
    process running a task; return (its pid, what ``driver()`` returned)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = driver()
        except BaseException as err:  # re-raised in the test's thread
            outcome["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    if ready is not None:
        wait_for(ready, "the moment to kill", timeout)
    victim = wait_for(running_task_pids, "a running Ray task", timeout)[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "the driver did not finish after its worker was killed"
    if "error" in outcome:
        raise outcome["error"]
    return victim, outcome["value"]
