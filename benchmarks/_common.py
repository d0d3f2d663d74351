"""What every benchmark script shares: the data folder, one-line errors, and a provenance header.

The scripts are run as ``python benchmarks/NAME.py``, so this folder is on ``sys.path`` and they
import this module as ``_common``. Bad input (no data folder, an unknown searcher, an objective
the table lacks) ends in one line, ``NAME.py: error: ...``, and exit code 2, as the ``robnas``
command does; before any figure, :func:`print_provenance` prints what a run must record to be
reproduced: the command, the seeds, robnas and dependency versions, and the data's checksums.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from collections.abc import Callable, Iterable
from typing import NoReturn

EXTRA_VERSIONS = ("scikit-learn", "matplotlib", "ray")


def fail(message: str) -> NoReturn:
    """Print ``NAME.py: error: message`` to stderr and exit with code 2."""
    print(f"{os.path.basename(sys.argv[0]) or 'benchmark'}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def run(main: Callable[[], int | None]) -> NoReturn:
    """Run a script's ``main``; a :class:`~robnas.errors.RobnasError` becomes one line, exit 2."""
    from robnas.errors import RobnasError

    try:
        code = main()
    except RobnasError as err:
        fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    raise SystemExit(code or 0)


def data_root(path: str | None) -> str:
    """``--data PATH``, else ``$ROBNAS_DATA``, else robnas's default data folder, checked: a
    folder holding the release's ``meta.json`` (else one line naming the fix, exit 2)."""
    from robnas.benchmark.location import resolve_data_root
    from robnas.errors import RobnasError

    try:
        return str(resolve_data_root(path))
    except RobnasError as err:
        fail(str(err))


def check_names(kind: str, names: Iterable[str], valid: Iterable[str]) -> None:
    """One line naming the unknown ``names`` and the valid ones, exit 2, if any is unknown."""
    valid = list(valid)
    unknown = [name for name in names if name not in valid]
    if unknown:
        fail(f"unknown {kind} {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")


def seed_range(first: int, count: int) -> str:
    """``"0-99 (100)"``: the seeds ``first .. first + count - 1``."""
    if count <= 0:
        return "none"
    return f"{first}" if count == 1 else f"{first}-{first + count - 1} ({count})"


def data_checksum(root: str) -> tuple[int, str, list[str]]:
    """(number of release files, one SHA-256 over their ``sha256sum`` lines, the files whose
    hash differs from robnas's pin)."""
    from pathlib import Path

    from robnas.benchmark.cache import sha256_of
    from robnas.benchmark.checksums import pinned_sha256
    from robnas.benchmark.data_info import describe

    lines, mismatches = [], []
    for entry in sorted(describe(root).files, key=lambda f: f.relative):
        digest = sha256_of(Path(root) / entry.relative)
        lines.append(f"{digest}  ./{entry.relative}\n")
        pin = pinned_sha256(entry.relative)
        if pin is not None and pin != digest:
            mismatches.append(entry.relative)
    return len(lines), hashlib.sha256("".join(lines).encode()).hexdigest(), mismatches


def print_provenance(data: str | None = None, seeds: str | None = None) -> None:
    """Print ``# ``-prefixed lines: the command, the seeds, the versions and, with ``data``, the
    data folder and its checksum (a SHA-256 over every release file's SHA-256, and whether they
    all match robnas's pins)."""
    from robnas.run_record import versions

    found = versions(EXTRA_VERSIONS)
    command = shlex.join([os.path.relpath(sys.argv[0]) if sys.argv[0] else "", *sys.argv[1:]])
    print(f"# command: python {command}")
    if seeds is not None:
        print(f"# seeds: {seeds}")
    print("# versions: " + ", ".join(f"{name} {version}" for name, version in found.items()))
    if data is not None:
        files, digest, mismatches = data_checksum(data)
        pins = (f"{len(mismatches)} differ from robnas's pins: {', '.join(mismatches)}" if mismatches
                else "all match robnas's pinned SHA-256s")
        print(f"# data: {data}, {files} files, SHA-256 of their sha256sum list {digest[:16]}; {pins}")
    sys.stdout.flush()
