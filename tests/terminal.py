"""Run the ``robnas`` command with its stderr on a real pseudo-terminal (or on a plain file).

Progress bars are shown only on a terminal, so tests that check them need one: a pty gives the
child a real ``isatty()`` stderr, exactly as an interactive shell would.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

COMMAND = [sys.executable, "-m", "robnas"]


def run_on_terminal(argv: list[str], *, env: dict[str, str] | None = None,
                    timeout: float = 120) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``robnas ARGV`` whose stderr is a terminal."""
    master, slave = pty.openpty()
    # a real terminal has a size (a fresh pty reports 0 x 0, and tqdm draws nothing that narrow)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    attrs = termios.tcgetattr(slave)  # no output processing: "\n" stays "\n", not "\r\n"
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run([*COMMAND, *argv], stdout=subprocess.PIPE, stderr=slave,
                              stdin=subprocess.DEVNULL, env=env, timeout=timeout, check=False)
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    return done.returncode, done.stdout.decode(), b"".join(chunks).decode(errors="replace")


def run_into_log(argv: list[str], log: Path, *, env: dict[str, str] | None = None,
                 timeout: float = 120) -> tuple[int, str, bytes]:
    """``(exit code, stdout, stderr bytes)`` of ``robnas ARGV`` with stderr written to ``log``."""
    with open(log, "wb") as handle:
        done = subprocess.run([*COMMAND, *argv], stdout=subprocess.PIPE, stderr=handle,
                              stdin=subprocess.DEVNULL, env=env, timeout=timeout, check=False)
    return done.returncode, done.stdout.decode(), log.read_bytes()
