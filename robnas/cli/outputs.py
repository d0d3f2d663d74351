"""Output places of the CLI: checked before any work is done, written atomically after.

A command that writes a file or a folder checks the place first (:func:`writable_file`,
:func:`writable_dir`): not empty, not a folder where a file goes (or a file where a folder
goes), its parent exists, and a file can really be created there (a probe file, removed at
once: permission bits say nothing for root or on read-only mounts). Only then does the work
start, so a bad ``-o``/``--out`` costs nothing and leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from robnas.errors import OutputPathError
from robnas.new_files import new_file_beside

if TYPE_CHECKING:
    import pandas as pd

TABLE_FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""File suffix -> table format (``--format`` is inferred from ``-o``'s suffix)."""


def writable_file(text: str | None, option: str) -> Path | None:
    """The file path ``text`` (``None`` stays ``None``: stdout), checked to be writable.

    Raises:
        OutputPathError: empty, a folder, a missing or unwritable parent folder.
    """
    if text is None:
        return None
    if not text.strip():
        raise OutputPathError(f"{option} needs a file name, got {text!r}")
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise OutputPathError(f"{option} {text} is a folder; give a file name, e.g. {path / 'out.csv'}")
    parent = Path(os.path.realpath(path)).parent  # through a link: where its file is written
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise OutputPathError(f"{option} {text}: the folder {parent} {what}")
    _probe(parent, option, text)
    return path


def writable_dir(text: str | None, option: str) -> Path:
    """The folder path ``text`` (it may not exist yet), checked to be creatable and writable.

    Raises:
        OutputPathError: empty, an existing file, or a place where nothing can be created.
    """
    if text is None or not text.strip():
        raise OutputPathError(f"{option} needs a folder, got {text!r}")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{option} {text} is a file, not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{option} {text}: {existing} is a file, not a folder")
    _probe(existing, option, text)
    return path


def table_format(fmt: str | None, output: Path | None, option: str = "-o") -> str:
    """The table format: ``--format`` if given, else inferred from the output's suffix.

    Raises:
        OutputPathError: the suffix is unknown (and no ``--format``), or contradicts ``--format``;
            Parquet to stdout.
    """
    suffix = output.suffix.lower() if output is not None else ""
    inferred = TABLE_FORMATS.get(suffix)
    if fmt is None:
        if output is None:
            return "csv"
        if inferred is None:
            known = ", ".join(TABLE_FORMATS)
            raise OutputPathError(f"cannot tell the format of {option} {output} from its suffix; "
                                  f"name it {known} or give --format csv|parquet")
        return inferred
    if inferred is not None and inferred != fmt:
        raise OutputPathError(f"--format {fmt} but {option} {output} is named like {inferred}; "
                              "make them agree")
    if fmt == "parquet" and output is None:
        raise OutputPathError("--format parquet needs -o FILE (Parquet is binary)")
    return fmt


def write_frame(frame: pd.DataFrame, fmt: str, output: Path | None) -> None:
    """Write a DataFrame as CSV (stdout when no path) or Parquet, atomically for files: a
    regular file is replaced whole or not at all, through a symbolic link its target is (the
    link stays); a device or named pipe (``/dev/stdout``, a FIFO) is written into, not replaced.

    Raises:
        OutputPathError: the file could not be written (nothing is left behind).
    """
    if output is None:
        frame.to_csv(sys.stdout, index=False)
        return
    target = Path(os.path.realpath(output))
    tmp = None
    try:
        if target.exists() and not target.is_file():
            _write_table(frame, fmt, str(target))
        else:
            tmp = str(new_file_beside(target))
            _write_table(frame, fmt, tmp)
            os.replace(tmp, target)
    except OSError as err:
        raise OutputPathError(f"cannot write {output}: {err.strerror or err}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    print(f"wrote {len(frame)} rows to {output}", file=sys.stderr)


def _write_table(frame: pd.DataFrame, fmt: str, path: str) -> None:
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


@contextmanager
def run_folder(out: Path | None, run_id: str, *, resume: Path | None = None) -> Iterator[Path]:
    """The folder of a run: ``resume`` (a run resumed) as it is, or a new ``out/run_id``
    (``-2``, ``-3``, ... appended when taken) created at once, so two commands started in the
    same second get a folder each.

    When the command then fails before the first trial is recorded (a live oracle without
    weights, a Ray cluster that cannot start, a bad prior, Ctrl-C), a new folder is removed with
    the folders above it this command made, if empty, so a failure leaves nothing written. A
    Ctrl-C that leaves recorded trials says how to go on (``robnas search --resume RUN_DIR``).
    """
    if resume is not None:
        run_dir, made = resume, []
    else:
        assert out is not None
        made = [folder for folder in (out, *out.parents) if not folder.exists()]  # deepest first
        out.mkdir(parents=True, exist_ok=True)
        run_dir, number = out / run_id, 1
        while True:
            try:
                run_dir.mkdir()  # atomic: the folder is this command's alone
                break
            except FileExistsError:
                number += 1
                run_dir = out / f"{run_id}-{number}"
    try:
        yield run_dir
    except BaseException as stopped:
        trials = run_dir / "trials.jsonl"
        text = trials.read_bytes() if trials.is_file() else b""  # bytes: an edited record may not be UTF-8
        recorded = len(text.strip().splitlines())
        if recorded and isinstance(stopped, KeyboardInterrupt):
            print(f"robnas: {recorded} trial{'s' if recorded != 1 else ''} kept in {run_dir}; continue with "
                  f"`robnas search --resume {run_dir}`", file=sys.stderr)
        if resume is None and not recorded:
            shutil.rmtree(run_dir, ignore_errors=True)
            for folder in made:
                with suppress(OSError):  # not empty: another command's run is there
                    folder.rmdir()
        raise


def _probe(folder: Path, option: str, text: str) -> None:
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".robnas-probe-")
    except OSError as err:
        raise OutputPathError(f"{option} {text}: cannot write in {folder} ({err.strerror or err})") from None
    os.close(handle)
    os.unlink(probe)
