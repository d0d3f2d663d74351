"""Run records: one folder per search run, written as the run happens, so a killed run resumes.

Layout of ``runs/<run-id>/``:

* ``config.json`` — ``run_id``, ``searcher`` (``name`` and constructor ``params``),
  ``objective`` (canonical text), ``dataset``, ``seed``, ``budget``, ``min_clean``, ``mode``
  (``tabular`` or ``live``), ``versions`` (robnas, Python, dependencies), ``oracle`` (the
  oracle's provenance, with data checksums) and ``created`` (UTC, ISO 8601). Rewritten
  atomically when a resumed run changes its budget or runs under other versions: each such
  session adds ``{"time", "budget"}`` to ``resumed``, with its ``versions`` where they differ
  from the last ones recorded (so every trial's versions are on record).
* ``trials.jsonl`` — one JSON object per distinct evaluated cell, appended and flushed as soon
  as it is known: ``n`` (1-based count), ``index`` (NB201 index or null), ``arch`` (NB201
  string), ``value``, ``best`` (best feasible value so far, null if none), ``clean``,
  ``cost_seconds``, ``time`` (seconds since the run started, over all its sessions); plus
  ``feasible`` when the run has ``min_clean`` or a cost limit, the cell's own ``params`` /
  ``flops`` under ``max_params`` / ``max_flops`` (and ``within_limits_index`` where a cell of
  its class is within them and it is not), ``forced`` when the loop's anti-stall guard chose
  the cell, and ``proposed`` (and, simulated, ``finished``) with several workers. A line cut
  short by a kill is dropped when the record is reopened.
* ``summary.json`` — written atomically at the end of each session (see
  :class:`robnas.loop.SearchResult`).
* ``.robnas-run.lock`` — the lock a writing process holds (see below).

One writer at a time
    :meth:`RunRecord.create` and :meth:`RunRecord.resume` take an exclusive lock on the folder
    (``filelock``, released by :meth:`RunRecord.close` or when the process dies, even by
    ``kill -9``). A second process that would write the same folder (a ``--resume`` while the
    run is still going, two runs started in the same second with one ``--out``) is refused
    with a :class:`RunRecordError` instead of interleaving its lines with the first.

Resuming trusts nothing
    :meth:`RunRecord.resume` refuses a record whose config differs from the resumed run
    (:data:`RESUME_KEYS`), whose data files changed (SHA-256 in the config's ``oracle``, and of
    a prior's scores in ``prior``), or whose trials disagree with the oracle
    (:func:`check_trials`: each arch a valid cell, its index, value, clean accuracy and running
    best as the data says, no class twice); the message names the line of ``trials.jsonl``.

Flushing hands each line to the operating system, which keeps it through a killed process
(not through a power cut: nothing is fsync'ed, to keep tabular runs fast).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import re
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from robnas._version import __version__
from robnas.errors import RobnasError, RunRecordError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from robnas.arch import Arch
    from robnas.objective import Objective
    from robnas.oracle import Oracle

CONFIG_FILE = "config.json"
TRIALS_FILE = "trials.jsonl"
SUMMARY_FILE = "summary.json"
LOCK_FILE = ".robnas-run.lock"
RESUME_KEYS = ("searcher", "objective", "dataset", "seed", "min_clean", "mode", "max_params", "max_flops")
"""Config entries a resumed run must share with its record."""
_TOLERANCE = 1e-9  # recorded values are the oracle's floats, written by repr: they round-trip
_DEPENDENCIES = ("numpy", "pandas", "pyarrow", "optuna", "torch", "torchattacks", "scipy", "scikit-learn")



class RunRecord:
    """Reads and writes one run folder. Use :meth:`create` or :meth:`open`.

    Args:
        path: the run folder.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._trials_file: IO[str] | None = None
        self._lock: Any = None

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], config: dict[str, Any]) -> RunRecord:
        """Start a new record at ``path`` (created; must not hold a record already).

        The record holds the folder's lock until :meth:`close`.

        Raises:
            RunRecordError: the folder holds a record, another process writes it, or it cannot
                be created.
        """
        record = cls(path)
        if record._exists():
            raise record._exists_error()
        record._refuse_a_folder_of_runs()
        try:
            record.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunRecordError(f"cannot create run folder {record.path}: {err.strerror}") from None
        with record._closed_on_error():
            record._acquire()
            if record._exists():  # another process created it between the check and the lock
                raise record._exists_error()
            record.write_config(config)
            (record.path / TRIALS_FILE).touch()
        return record

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunRecord:
        """An existing record, for reading (its ``config.json`` must be readable)."""
        record = cls(path)
        record.config()
        return record

    @classmethod
    def resume(
        cls,
        path: str | os.PathLike[str],
        config: dict[str, Any],
        oracle: Oracle,
        objective: Objective,
        check: Callable[[list[dict[str, Any]], Path], None] | None = None,
        param_defaults: dict[str, Any] | None = None,
    ) -> tuple[RunRecord, list[dict[str, Any]]]:
        """Reopen the record at ``path`` to continue it as the run ``config`` describes.

        Takes the folder's lock (held until :meth:`close`), checks the stored config against
        ``config`` (:data:`RESUME_KEYS` and the data checksums), drops a last line cut short
        by a kill, checks every recorded trial against ``oracle`` (:func:`check_trials`) and
        records a new ``budget`` and new ``versions`` (in ``resumed``). ``check(trials,
        trials_path)`` replaces :func:`check_trials` for records whose trials hold other
        fields (a multi-objective run's ``values``).

        Returns:
            The record and its trials, in order.

        Raises:
            RunRecordError: not a record, locked by another process, or a mismatch (the
                message names what differs, and for a trial its line in ``trials.jsonl``).
        """
        record = cls.open(path)
        with record._closed_on_error():
            record._acquire()
            stored = record.config()
            check_entries(stored, record.path)
            check_resumable(stored, config, record.path, param_defaults)
            trials = record.read_trials(repair=True)
            budget = config["budget"]
            if budget < len(trials):
                raise RunRecordError(
                    f"{record.path} already holds {len(trials)} evaluations; the budget must be >= that"
                )
            if check is None:
                limits = {key[4:]: config[key] for key in ("max_params", "max_flops")
                          if config.get(key) is not None}
                check_trials(trials, oracle, objective, config.get("min_clean"), record.path / TRIALS_FILE,
                             limits=limits)
            else:
                check(trials, record.path / TRIALS_FILE)
            now = config.get("versions")
            new_versions = now is not None and now != _latest_versions(stored)
            if stored.get("budget") != budget or new_versions:
                stored["budget"] = budget
                session = {"time": utc_now(), "budget": budget, **({"versions": now} if new_versions else {})}
                stored.setdefault("resumed", []).append(session)
                record.write_config(stored)
        return record, trials

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
        for number, line in enumerate(complete.splitlines(), start=1):
            try:
                trial = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
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
        """Close the trials file (appending reopens it) and release the folder's lock."""
        if self._trials_file is not None:
            self._trials_file.close()
            self._trials_file = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- internals -----------------------------------------------------------------------------
    def _acquire(self) -> None:
        """Take the folder's lock at once, or refuse: one writer per record."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path / LOCK_FILE))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunRecordError(
                f"{self.path} is being written by another robnas process (a run or a resume "
                "still going); wait for it to end, or stop it, then resume"
            ) from None
        except OSError as err:
            raise RunRecordError(f"cannot lock run folder {self.path}: {err.strerror or err}") from None
        self._lock = lock

    def _exists(self) -> bool:
        return (self.path / CONFIG_FILE).exists() or (self.path / TRIALS_FILE).exists()

    def _refuse_a_folder_of_runs(self) -> None:
        """A folder whose subfolders hold run records (``runs/``, ``--out``'s default) is a place
        for runs, not one run: a record written into it would sit above the others, and reading
        the folder (``load_trajectories``, ``compare --from``) would take it for one of them."""
        try:
            children = sorted(c for c in self.path.iterdir() if c.is_dir())
        except OSError:  # missing (created next) or unreadable (creating it says so)
            return
        runs = [c.name for c in children if (c / CONFIG_FILE).exists() or (c / TRIALS_FILE).exists()]
        if runs:
            raise RunRecordError(
                f"{self.path} holds run records of its own ({runs[0]}{', ...' if len(runs) > 1 else ''}): "
                f"a run record needs a folder of its own, e.g. {self.path / 'my-run'}"
            )

    def _exists_error(self) -> RunRecordError:
        return RunRecordError(
            f"{self.path} already holds a run record; use --resume {self.path} to continue it"
        )

    @contextlib.contextmanager
    def _closed_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> RunRecord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ENTRY_TYPES = {"oracle": dict, "prior": dict, "versions": dict, "resumed": list, "sessions": list}
"""config.json entries a resume reads, and the JSON type each must have where present."""


def check_entries(stored: dict[str, Any], path: Path) -> None:
    """Refuse a record whose ``config.json`` entries that a resume reads have another shape
    (:data:`_ENTRY_TYPES`, the oracle's ``checksums`` an object, each of ``sessions`` an object
    with a whole ``start`` and ``budget``), in one line rather than a traceback mid-resume.

    >>> check_entries({"sessions": [{"start": 0}]}, Path("r"))
    Traceback (most recent call last):
    ...
    robnas.errors.RunRecordError: cannot resume r: config.json's sessions [{'start': 0}] is not what robnas ...
    """
    def refuse(key: str, value: Any) -> RunRecordError:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        return RunRecordError(f"cannot resume {path}: config.json's {key} {shown} is not what "
                              "robnas writes; the record was edited")

    for key, kind in _ENTRY_TYPES.items():
        if key in stored and not isinstance(stored[key], kind):
            raise refuse(key, stored[key])
    checksums = (stored.get("oracle") or {}).get("checksums")
    if checksums is not None and not isinstance(checksums, dict):
        raise refuse("oracle checksums", checksums)
    for session in stored.get("sessions") or []:
        if not (isinstance(session, dict) and all(
                isinstance(session.get(k), int) and not isinstance(session.get(k), bool) for k in ("start", "budget"))):
            raise refuse("sessions", stored["sessions"])


def _latest_versions(config: dict[str, Any]) -> Any:
    """The versions the last session of a record ran under: those of its last ``resumed``
    entry that names versions, else ``versions``."""
    for session in reversed(config.get("resumed") or []):
        if isinstance(session, dict) and "versions" in session:
            return session["versions"]
    return config.get("versions")


def check_resumable(stored: dict[str, Any], config: dict[str, Any], path: Path,
                    param_defaults: dict[str, Any] | None = None) -> None:
    """Refuse to continue the record ``stored`` as the run ``config`` describes, where they differ.

    A searcher parameter the record lacks (it was written by a robnas whose searcher did not have
    that parameter yet) counts as its default, ``param_defaults[name]``, so a run recorded
    before a parameter was added resumes when the new parameter is left at its default.
    Compares :data:`RESUME_KEYS`, the SHA-256 of every data file both configs name, what a live
    oracle measures with (:data:`_MEASURED_BY`, and the identities of weights and images both
    name), and the provenance of the searcher's prior scores (``prior``: a scores file's or another table's
    SHA-256, or that of a stored measure's scores) where the record has one.

    Raises:
        RunRecordError: naming the first entry that differs.
    """
    _check_same_searcher(stored.get("searcher"), config.get("searcher"), path, param_defaults or {})
    for key in RESUME_KEYS:
        if key == "searcher":
            continue
        if stored.get(key) != config.get(key):
            raise RunRecordError(
                f"cannot resume {path}: its {key} is {stored.get(key)!r}, not {config.get(key)!r}"
            )
    old = (stored.get("oracle") or {}).get("checksums") or {}
    new = (config.get("oracle") or {}).get("checksums") or {}
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    if changed:
        raise RunRecordError(
            f"cannot resume {path}: the data changed since the run was recorded ({changed[0]} "
            "has another SHA-256); start a new run"
        )
    _check_same_measurement(stored.get("oracle") or {}, config.get("oracle") or {}, path)
    if "prior" in stored and not _same_prior(stored["prior"], config.get("prior")):
        raise RunRecordError(
            f"cannot resume {path}: the searcher's prior scores changed since the run was "
            f"recorded ({stored['prior'].get('measure')!r}: another SHA-256 or source); start a new run"
        )


_MEASURED_BY = (("n_images",), ("protocol", "fingerprint"), ("weights", "epochs"), ("weights", "seed"))
"""Entries of a live oracle's provenance that decide what it measures: a resume must keep them."""
_PER_FILE = (("checksums",), ("weights", "files"), ("images_identity",))
"""Entries of an oracle's provenance with one entry per file read (or cell's weights loaded)."""


def _entry(provenance: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(provenance, dict) or key not in provenance:
            return _ABSENT
        provenance = provenance[key]
    return provenance


def _check_same_measurement(old: dict[str, Any], new: dict[str, Any], path: Path) -> None:
    """Refuse a live resume whose oracle measures otherwise than the recorded one (another
    number of images, attack protocol or weights' epochs or seed; weights or images of another
    SHA-256 where both name them), whose values would be recorded as the run's."""
    for keys in _MEASURED_BY:
        was, now = _entry(old, keys), _entry(new, keys)
        if was is not _ABSENT and now is not _ABSENT and was != now:
            raise RunRecordError(f"cannot resume {path}: it was measured with {' '.join(keys)} {was!r}, "
                                 f"this oracle uses {now!r}; resume it with the recorded settings")
    for keys in _PER_FILE[1:]:
        was, now = _entry(old, keys), _entry(new, keys)
        if isinstance(was, dict) and isinstance(now, dict):
            changed = sorted(k for k in was.keys() & now.keys() if was[k] != now[k])
            if changed:
                raise RunRecordError(f"cannot resume {path}: {' '.join(keys)} {changed[0]} has another "
                                     "identity than when the run was recorded; start a new run")


def merged_provenance(recorded: Any, current: dict[str, Any]) -> dict[str, Any]:
    """``current`` (the oracle's provenance at the end of a session) with the per-file entries of
    the ``recorded`` one that it lacks (:data:`_PER_FILE`: data checksums, the weights of cells
    evaluated and the test images' identities of earlier sessions, which a resumed session
    does not read again), so ``config.json`` names what every recorded trial was measured with.

    >>> merged_provenance({"weights": {"files": {"1": "a"}}}, {"weights": {"files": {"2": "b"}, "seed": 7}})
    {'weights': {'files': {'1': 'a', '2': 'b'}, 'seed': 7}}
    """
    merged = dict(current)
    if not isinstance(recorded, dict):
        return merged
    for keys in _PER_FILE:
        was, now = _entry(recorded, keys), _entry(merged, keys)
        if not (isinstance(was, dict) and isinstance(now, dict)):
            continue
        parent = merged
        for key in keys[:-1]:
            parent[key] = dict(parent[key])
            parent = parent[key]
        parent[keys[-1]] = {**was, **now}
    return merged


def _same_prior(recorded: Any, given: Any) -> bool:
    """Whether the prior provenance ``given`` has every entry of the ``recorded`` one (an entry
    the record lacks, such as a stored measure's ``scores_sha256``, was not recorded by the
    robnas that wrote it and cannot be compared).

    >>> _same_prior({"measure": "synflow"}, {"measure": "synflow", "scores_sha256": "ab"})
    True
    >>> _same_prior({"measure": "synflow", "scores_sha256": "ab"}, {"measure": "synflow", "scores_sha256": "cd"})
    False
    """
    if not isinstance(recorded, dict) or not isinstance(given, dict):
        return recorded == given
    return all(key in given and given[key] == value for key, value in recorded.items())


def _check_same_searcher(recorded: Any, given: Any, path: Path, defaults: dict[str, Any]) -> None:
    """Refuse another searcher, or the same with another parameter value, naming that one thing.

    A parameter the record lacks counts as its default (``defaults``: the given searcher's,
    so only for the same searcher: another searcher's defaults are not the record's)."""
    if not (isinstance(recorded, dict) and isinstance(given, dict)
            and isinstance(recorded.get("params"), dict) and isinstance(given.get("params"), dict)):
        if recorded != given:
            raise RunRecordError(f"cannot resume {path}: its searcher is {recorded!r}, not {given!r}")
        return
    if recorded.get("name") != given.get("name"):
        raise RunRecordError(f"cannot resume {path}: its searcher is {recorded.get('name')!r}, "
                             f"not {given.get('name')!r}")
    old, new = {**defaults, **recorded["params"]}, given["params"]
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key, _ABSENT) != new.get(key, _ABSENT):
            raise RunRecordError(
                f"cannot resume {path}: its searcher {recorded['name']} has {key}="
                f"{_shown(old.get(key, _ABSENT))}, not {_shown(new.get(key, _ABSENT))}")


_ABSENT = object()


def _shown(value: Any) -> str:
    return "(not set)" if value is _ABSENT else repr(value)


def check_cells(trials: Sequence[dict[str, Any]], oracle: Oracle, path: Path,
                value_key: str = "value", *, action: str = "resume") -> list[Arch]:
    """The cells of recorded trials, refusing the first trial that is malformed.

    Each trial must name a valid cell of a class no earlier trial holds, with the oracle's
    NB201 index for it (where the oracle knows indices), a finite ``value_key`` entry (a
    number for ``"value"``, a non-empty list of numbers otherwise), a ``time`` (a number
    >= 0: a resumed run's clock goes on from the last) and ``forced`` true or false if given.

    Raises:
        RunRecordError: ``cannot <action>: <path> line N: ...`` for the first trial that is wrong.
    """
    from robnas.arch import Arch
    from robnas.isomorphism import class_code

    index_of = getattr(oracle, "index_of", None)
    archs: list[Arch] = []
    seen: dict[int, int] = {}
    for number, trial in enumerate(trials, start=1):
        where = f"cannot {action}: {path} line {number}"
        try:
            arch = Arch.from_string(trial["arch"])
        except (RobnasError, AttributeError, TypeError, ValueError):
            raise RunRecordError(f"{where}: {trial['arch']!r} is not an NB201 cell") from None
        code = class_code(arch)
        if code in seen:
            raise RunRecordError(f"{where}: {arch.to_string()} repeats the class of line {seen[code]}")
        seen[code] = number
        if index_of is not None and trial.get("index") != int(index_of(arch)):
            raise RunRecordError(
                f"{where}: index {trial.get('index')!r} is not that of {arch.to_string()} "
                f"({int(index_of(arch))}); the record was edited"
            )
        value = trial.get(value_key)
        if not (_is_number(value) if value_key == "value" else
                isinstance(value, list) and bool(value) and all(_is_number(v) for v in value)):
            what = "a number" if value_key == "value" else "a list of numbers"
            raise RunRecordError(f"{where}: {value_key} {value!r} is not {what}")
        if not (_is_number(trial.get("time")) and trial["time"] >= 0):
            raise RunRecordError(f"{where}: time {trial.get('time')!r} is not a number of seconds")
        if not isinstance(trial.get("forced", False), bool):
            raise RunRecordError(f"{where}: forced {trial['forced']!r} is not true or false")
        archs.append(arch)
    return archs


def check_trials(
    trials: Sequence[dict[str, Any]],
    oracle: Oracle,
    objective: Objective,
    min_clean: float | None,
    path: Path,
    *,
    limits: dict[str, float] | None = None,
    action: str = "resume",
) -> None:
    """Refuse recorded trials that the oracle contradicts (before ``action``: ``resume``, or
    ``compare`` for a finished run a comparison reuses).

    Each trial must name a valid cell of a class no earlier trial holds, with the oracle's
    NB201 index for it (where the oracle knows indices) and a finite ``value``
    (:func:`check_cells`). Where the oracle answers by a table look-up (it has
    ``objective_values``), ``value`` and ``clean`` must be the table's and ``best`` the running
    best of the feasible values; a live oracle's values are not re-measured (that would cost
    the run again). With cost ``limits`` (metric -> limit, as ``max_params``/``max_flops``),
    each trial's recorded cost must be its cell's (:mod:`robnas.cost`) and only cells whose
    class has a cell within every limit (:func:`robnas.cost.within_limits_codes`, the loop's
    rule) count towards ``best``.

    Raises:
        RunRecordError: ``cannot <action>: <path> line N: ...`` for the first trial that is wrong.
    """
    from robnas.arch import Arch
    from robnas.cost import value as cost_value

    archs = check_cells(trials, oracle, path, action=action)
    if not archs or getattr(oracle, "objective_values", None) is None:
        return
    evaluation = oracle.evaluate(archs, objective)
    mates = None
    if limits:  # a class is within the limits when one of its cells is (the loop's rule)
        from robnas.cost import within_limits_codes

        mates = within_limits_codes(limits, oracle.dataset)
    best: float | None = None
    for number, (trial, arch, value, clean) in enumerate(
        zip(trials, archs, evaluation.values, evaluation.clean, strict=True), start=1
    ):
        where = f"cannot {action}: {path} line {number}"
        if not recorded_matches(trial["value"], value):
            raise RunRecordError(
                f"{where}: value {trial['value']!r} of {trial['arch']} is not the data's "
                f"{float(value)!r}; the record was edited or belongs to other data"
            )
        clean = None if math.isnan(clean) else float(clean)
        if clean is not None and not recorded_matches(trial.get("clean"), clean):
            raise RunRecordError(
                f"{where}: clean accuracy {trial.get('clean')!r} of {trial['arch']} is not the "
                f"data's {clean!r}; the record was edited or belongs to other data"
            )
        mate = arch if mates is None else Arch.from_code(int(mates[arch.code]))  # whose costs count
        within = True
        for metric, limit in (limits or {}).items():
            own = cost_value(metric, arch, oracle.dataset)
            if not recorded_matches(trial.get(metric), own):
                raise RunRecordError(f"{where}: {metric} {trial.get(metric)!r} of {trial['arch']} is not "
                                     f"its cost {own!r}; the record was edited")
            within = within and cost_value(metric, mate, oracle.dataset) <= limit
        if within and (min_clean is None or clean is None or clean >= min_clean):
            best = float(value) if best is None else max(best, float(value))
        if not recorded_matches(trial.get("best"), best):
            raise RunRecordError(
                f"{where}: best so far {trial.get('best')!r} is not the best recorded value "
                f"{best!r}; the record was edited"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def recorded_matches(recorded: Any, actual: float | None) -> bool:
    """Whether a recorded entry is the number ``actual`` (within rounding; both ``None`` match)."""
    if actual is None or not _is_number(recorded):
        return recorded is None and actual is None
    return math.isclose(float(recorded), float(actual), rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)


def versions(extra: Sequence[str] = ()) -> dict[str, str]:
    """robnas, Python, platform and the installed versions of the main dependencies, then of
    the ``extra`` distributions (each where installed)."""
    found = {"robnas": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for name in (*_DEPENDENCIES, *extra):
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
