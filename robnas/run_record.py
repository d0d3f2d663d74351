"""Run records: one folder per search run, written as the run happens, so a killed run resumes.

Layout of ``runs/<run-id>/``:

* ``config.json`` — ``run_id``, ``searcher`` (``name`` and constructor ``params``),
  ``objective`` (canonical text), ``dataset``, ``seed``, ``budget``, ``min_clean``, ``mode``
  (``tabular`` or ``live``), ``versions`` (robnas, Python, dependencies), ``oracle`` (the
  oracle's provenance, with data checksums) and ``created`` (UTC, ISO 8601). Rewritten
  atomically when a resumed run changes its budget.
* ``trials.jsonl`` — one JSON object per distinct evaluated cell, appended and flushed as soon
  as it is known: ``n`` (1-based count), ``index`` (NB201 index or null), ``arch`` (NB201
  string), ``value``, ``best`` (best feasible value so far, null if none), ``clean``,
  ``cost_seconds``, ``time`` (seconds since the run started, over all its sessions); plus
  ``feasible`` when the run has ``min_clean`` and ``forced`` when the loop's anti-stall guard
  chose the cell. A line cut short by a kill is dropped when the record is reopened.
* ``summary.json`` — written atomically at the end of each session (see
  :class:`robnas.loop.SearchResult`).

Flushing hands each line to the operating system, which keeps it through a killed process
(not through a power cut: nothing is fsync'ed, to keep tabular runs fast).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from robnas._version import __version__
from robnas.errors import RunRecordError

CONFIG_FILE = "config.json"
TRIALS_FILE = "trials.jsonl"
SUMMARY_FILE = "summary.json"
_DEPENDENCIES = ("numpy", "pandas", "pyarrow", "optuna", "torch", "torchattacks", "scipy")



class RunRecord:
    """Reads and writes one run folder. Use :meth:`create` or :meth:`open`.

    Args:
        path: the run folder.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._trials_file: IO[str] | None = None

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], config: dict[str, Any]) -> RunRecord:
        """Start a new record at ``path`` (created; must not hold a record already)."""
        record = cls(path)
        if (record.path / CONFIG_FILE).exists() or (record.path / TRIALS_FILE).exists():
            raise RunRecordError(
                f"{record.path} already holds a run record; use --resume {record.path} to continue it"
            )
        try:
            record.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunRecordError(f"cannot create run folder {record.path}: {err.strerror}") from None
        record.write_config(config)
        (record.path / TRIALS_FILE).touch()
        return record

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunRecord:
        """An existing record (its ``config.json`` must be readable)."""
        record = cls(path)
        record.config()
        return record

    # -- reading -------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The parsed ``config.json``."""
        return _read_json(self.path / CONFIG_FILE)

    def summary(self) -> dict[str, Any] | None:
        """The parsed ``summary.json`` (``None`` if the run never finished a session)."""
        path = self.path / SUMMARY_FILE
        return _read_json(path) if path.exists() else None

    def read_trials(self, *, repair: bool = False) -> list[dict[str, Any]]:
        """The recorded trials, in order.

        A last line without its newline (the process was killed while writing it) is ignored,
        and removed from the file when ``repair`` is true.

        Raises:
            RunRecordError: on a malformed line before the last or counts out of order.
        """
        path = self.path / TRIALS_FILE
        if not path.exists():
            return []
        raw = path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        if repair and len(complete) != len(raw):
            with path.open("r+b") as handle:
                handle.truncate(len(complete))
        trials = []
        for number, line in enumerate(complete.decode("utf-8").splitlines(), start=1):
            try:
                trial = json.loads(line)
            except json.JSONDecodeError:
                raise RunRecordError(f"{path}: line {number} is not JSON") from None
            if not isinstance(trial, dict) or trial.get("n") != number or "arch" not in trial:
                raise RunRecordError(f"{path}: line {number} is not trial {number}")
            trials.append(trial)
        return trials

    # -- writing -------------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        """Write ``config.json`` atomically."""
        _write_json_atomic(self.path / CONFIG_FILE, config)

    def append_trial(self, trial: dict[str, Any]) -> None:
        """Append one trial line and flush it."""
        if self._trials_file is None:
            self._trials_file = (self.path / TRIALS_FILE).open("a", encoding="utf-8")
        self._trials_file.write(json.dumps(trial, allow_nan=False) + "\n")
        self._trials_file.flush()

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json`` atomically."""
        _write_json_atomic(self.path / SUMMARY_FILE, summary)

    def close(self) -> None:
        """Close the trials file (appending reopens it)."""
        if self._trials_file is not None:
            self._trials_file.close()
            self._trials_file = None

    def __enter__(self) -> RunRecord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def versions() -> dict[str, str]:
    """robnas, Python, platform and the installed versions of the main dependencies."""
    found = {"robnas": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for name in _DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def new_run_id(searcher: str, objective: str, seed: int | None, *, now: _dt.datetime | None = None) -> str:
    """A readable, sortable run id such as ``20260124-191150-re-pgd-8-255-s0``."""
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{searcher}-{objective}").strip("-")
    return f"{stamp}-{slug}-s{'none' if seed is None else seed}"


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunRecordError(f"{path.parent} is not a run record (no {path.name})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunRecordError(f"cannot read {path}: {err}") from None
    if not isinstance(payload, dict):
        raise RunRecordError(f"{path} does not hold a JSON object")
    return payload


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
