"""Find the Ray worker processes of this test process's own local Ray instance (Linux ``/proc``)."""

from __future__ import annotations

import os
import time
from pathlib import Path


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
