"""The results store: every live evaluation, cached in SQLite so it is never paid for twice.

One row of ``results`` per finished evaluation, keyed by :class:`ResultKey`: dataset, cell
(NB201 index or arch string), release key, point (epsilon in units of 1/255, or severity),
attack-protocol fingerprint, weights identity, the identity of the test images (a SHA-256 of
the test-set files read, :func:`~robnas.evaluation.datasets.images_identity`; stored with the
weights identity in the ``weights`` column, so stores written before it open unchanged, their
rows, which lack it, simply no longer match) and the number of images requested. Rows of
``progress`` hold the per-batch counts of an evaluation under way (keyed also by batch size),
so a killed evaluation resumes at the first batch it had not finished; they are deleted when
the result is written.

The database uses write-ahead logging and a busy timeout, and every write is one short
transaction, so two processes (e.g. two searches on one GPU box) can share a store; if both
evaluate the same thing at once, both compute it and the second ``INSERT OR REPLACE`` wins
with an equal answer.

>>> import tempfile, pathlib
>>> store = ResultStore(pathlib.Path(tempfile.mkdtemp()) / "live.sqlite")
>>> key = ResultKey("cifar10", "13433", "pgd@Linf", 1.0, "abc", "w1", 100)
>>> store.get(key) is None
True
>>> store.add_batch(key, 64, batch=0, correct=30, n=64, seconds=1.5)
>>> store.batches(key, 64)
{0: (30, 64, 1.5)}
>>> store.put(key, correct=47, n=100, seconds=2.0).accuracy
0.47
>>> store.get(key).n, store.batches(key, 64)
(100, {})
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from robnas.errors import StoreError

STORE_FILE = "live-results.sqlite"
"""File name of the default store inside robnas' cache directory."""

_KEY_COLUMNS = ("dataset", "arch", "key", "point", "protocol", "weights", "n_requested")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results (
    dataset TEXT NOT NULL, arch TEXT NOT NULL, key TEXT NOT NULL, point TEXT NOT NULL,
    protocol TEXT NOT NULL, weights TEXT NOT NULL, n_requested INTEGER NOT NULL,
    correct INTEGER NOT NULL, n INTEGER NOT NULL, accuracy REAL NOT NULL,
    seconds REAL NOT NULL, device TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY ({", ".join(_KEY_COLUMNS)})
);
CREATE TABLE IF NOT EXISTS progress (
    dataset TEXT NOT NULL, arch TEXT NOT NULL, key TEXT NOT NULL, point TEXT NOT NULL,
    protocol TEXT NOT NULL, weights TEXT NOT NULL, n_requested INTEGER NOT NULL,
    batch_size INTEGER NOT NULL, batch INTEGER NOT NULL,
    correct INTEGER NOT NULL, n INTEGER NOT NULL, seconds REAL NOT NULL,
    PRIMARY KEY ({", ".join(_KEY_COLUMNS)}, batch_size, batch)
);
"""
_WHERE = " AND ".join(f"{c} = ?" for c in _KEY_COLUMNS)



@dataclass(frozen=True)
class ResultKey:
    """What identifies one live result.

    Attributes:
        dataset: dataset value (``cifar10``, ...).
        arch: NB201 index as text, or the NB201 arch string.
        key: release key (``clean``, ``pgd@Linf``, ``fog``, ...).
        point: epsilon (units of 1/255) or severity; ``None`` for ``clean``.
        protocol: :meth:`AttackProtocol.fingerprint`.
        weights: identity of the weights evaluated (archive, file, epochs, seed).
        n_requested: number of test images asked for (``0`` = the whole test set).
        images: identity of the test images evaluated on
            (:func:`~robnas.evaluation.datasets.images_identity`; ``""``: not named).
    """

    dataset: str
    arch: str
    key: str
    point: float | int | None
    protocol: str
    weights: str
    n_requested: int
    images: str = ""

    def row(self) -> tuple[str, str, str, str, str, str, int]:
        """The key as stored (the point as canonical text, so 8 and 8.0 are one key; the
        images' identity after the weights', ``WEIGHTS;images=ID``, in the ``weights`` column)."""
        point = "" if self.point is None else repr(float(self.point))
        weights = f"{self.weights};images={self.images}" if self.images else self.weights
        return (self.dataset, str(self.arch), self.key, point, self.protocol, weights,
                int(self.n_requested))


@dataclass(frozen=True)
class StoredResult:
    """A finished evaluation: ``correct`` of ``n`` images, and the seconds it took."""

    correct: int
    n: int
    seconds: float
    device: str

    @property
    def accuracy(self) -> float:
        """``correct / n`` (NaN for zero images)."""
        return self.correct / self.n if self.n else float("nan")


class SqliteStore:
    """A SQLite file with a schema, opened per operation (one short transaction each), with
    write-ahead logging and a busy timeout so several processes can share it.

    Subclasses set :attr:`schema` (``CREATE TABLE IF NOT EXISTS ...`` statements); several
    stores may share one file, each creating its own tables.

    Args:
        path: the database file (created with its folder); default
            ``default_cache_dir() / "live-results.sqlite"``.
        timeout: seconds to wait for another process's write lock.
    """

    schema = ""

    def __init__(self, path: str | os.PathLike[str] | None = None, timeout: float = 60.0) -> None:
        if path is None:
            from robnas.benchmark.location import default_cache_dir

            path = default_cache_dir() / STORE_FILE
        self.path = Path(path)
        self.timeout = timeout
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.timeout)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the results store {self.path}: {err}") from None
        try:
            if not self._ready:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(self.schema)
                self._ready = True
            with connection:  # one transaction, committed on success
                yield connection
        except sqlite3.Error as err:
            raise StoreError(f"results store {self.path}: {err}") from None
        finally:
            connection.close()


class ResultStore(SqliteStore):
    """A SQLite file of live results and in-progress batches (see the module docs).

    Args:
        path: the database file (created with its folder); default
            ``default_cache_dir() / "live-results.sqlite"``.
        timeout: seconds to wait for another process's write lock.
    """

    schema = _SCHEMA

    def get(self, key: ResultKey) -> StoredResult | None:
        """The stored result for ``key``, or ``None``."""
        with self._connect() as db:
            row = db.execute(f"SELECT correct, n, seconds, device FROM results WHERE {_WHERE}",
                             key.row()).fetchone()
        return None if row is None else StoredResult(int(row[0]), int(row[1]), float(row[2]), row[3])

    def put(self, key: ResultKey, correct: int, n: int, seconds: float,
            device: str = "cpu") -> StoredResult:
        """Store a finished result (replacing an equal key) and drop its progress rows."""
        accuracy = correct / n if n else float("nan")
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key.row(), int(correct), int(n), accuracy, float(seconds), device, time.time()),
            )
            db.execute(f"DELETE FROM progress WHERE {_WHERE}", key.row())
        return StoredResult(int(correct), int(n), float(seconds), device)

    def put_many(self, rows: list[tuple[ResultKey, int, int, float, str]]) -> None:
        """Store several finished results ``(key, correct, n, seconds, device)`` in one
        transaction (all or none), dropping their progress rows."""
        with self._connect() as db:
            for key, correct, n, seconds, device in rows:
                db.execute(
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*key.row(), int(correct), int(n), correct / n if n else float("nan"),
                     float(seconds), device, time.time()),
                )
                db.execute(f"DELETE FROM progress WHERE {_WHERE}", key.row())

    def add_batch(self, key: ResultKey, batch_size: int, batch: int, correct: int, n: int,
                  seconds: float) -> None:
        """Record one finished batch of an evaluation under way."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO progress VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key.row(), int(batch_size), int(batch), int(correct), int(n), float(seconds)),
            )

    def batches(self, key: ResultKey, batch_size: int) -> dict[int, tuple[int, int, float]]:
        """Finished batches of ``key`` at ``batch_size``: batch -> (correct, n, seconds)."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT batch, correct, n, seconds FROM progress WHERE {_WHERE} AND batch_size = ?",
                (*key.row(), int(batch_size)),
            ).fetchall()
        return {int(b): (int(c), int(n), float(s)) for b, c, n, s in rows}

    def count(self) -> int:
        """Number of finished results stored."""
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
