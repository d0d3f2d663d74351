"""Whether a file lock is held, probed as another process would (a non-blocking acquire)."""

from __future__ import annotations

from pathlib import Path


def lock_is_held(path: Path) -> bool:
    """Whether some holder has the ``filelock`` lock at ``path`` now (a probe taking it
    releases it at once)."""
    from filelock import FileLock, Timeout

    probe = FileLock(str(path))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False
