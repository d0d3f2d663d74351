"""The comparison's worker pool leaves nothing behind when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, ``None`` when gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]
    return None if state in ("Z", "X") else (state, int(ppid))


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info is not None and info[1] == pid:
                found.add(int(entry.name))
    return found


def test_kill_9_of_the_compare_parent_ends_its_workers(release_root, tmp_path) -> None:
    out = tmp_path / "cmp"
    command = [sys.executable, "-m", "robnas", "compare", "-O", "pgd@1/255", "--searchers", "bo",
               "--seeds", "40", "--budget", "300", "--jobs", "2", "--out", str(out),
               "--data", str(release_root), "-q"]
    parent = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and parent.poll() is None:
            if any(p.stat().st_size for p in out.glob("runs/*/trials.jsonl")):
                break  # workers are started and running
            time.sleep(0.05)
        children = _children(parent.pid)
        assert parent.poll() is None and len(children) >= 2, parent.stderr.read().decode()
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_stat(c) for c in children):
            time.sleep(0.05)
        alive = sorted(c for c in children if _stat(c))
        assert alive == [], f"processes of the killed compare still alive: {alive}"
    finally:
        for pid in children:  # never leave a stray process behind, whatever happened
            if _stat(pid):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
            parent.wait()
