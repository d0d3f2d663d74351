"""Measure values in the live backend's results store (one more table in the same SQLite file).

Every value is keyed by dataset, cell (NB201 index), measure name and a fingerprint of
everything it depends on (:class:`MeasureSettings`: the measure's function and parameters,
batch size and seed, which images, which weights); the row also holds the compute time and
device. A repeated request reads the row; a killed computation resumes at the cells without
one.

>>> import tempfile, pathlib
>>> store = MeasureStore(pathlib.Path(tempfile.mkdtemp()) / "live.sqlite")
>>> settings = MeasureSettings("synflow", "m:synflow", {}, "cifar10", 64, 0, "init", False)
>>> store.put_many(settings, [(13433, 2.5e30, 0.04, "cpu")])
>>> store.values(settings)
{13433: (2.5e+30, 0.04)}
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from robnas.evaluation.store import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measures (
    dataset TEXT NOT NULL, arch TEXT NOT NULL, measure TEXT NOT NULL, fingerprint TEXT NOT NULL,
    value REAL, seconds REAL NOT NULL, device TEXT NOT NULL, settings TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (dataset, arch, measure, fingerprint)
);
"""


@dataclass(frozen=True)
class MeasureSettings:
    """What a measure value depends on (its fingerprint).

    Attributes:
        measure: the measure's name.
        function: ``module:qualname`` of its function.
        params: its keyword arguments.
        dataset: dataset value.
        batch_size: images per batch.
        seed: initialisation and batch seed.
        weights: ``init`` or the trained weights' identity (archive, epochs, seed).
        real_images: the batch holds test images (``False``: data-free, shape only).
    """

    measure: str
    function: str
    params: Mapping[str, Any]
    dataset: str
    batch_size: int
    seed: int
    weights: str
    real_images: bool

    def fingerprint(self) -> str:
        """SHA-256 (16 hex) of the settings other than the name and dataset (key columns)."""
        body = {k: v for k, v in self.describe().items() if k not in {"measure", "dataset"}}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return asdict(self) | {"params": dict(self.params)}


class MeasureStore(SqliteStore):
    """The ``measures`` table of the results store (default: robnas' cache dir).

    Args:
        path: the SQLite file; default the live backend's ``live-results.sqlite``.
        timeout: seconds to wait for another process's write lock.
    """

    schema = _SCHEMA

    def put_many(self, settings: MeasureSettings, rows: Iterable[tuple[int, float, float, str]]) -> None:
        """Store ``(index, value, seconds, device)`` rows in one transaction (NaN is stored as NULL)."""
        fingerprint, described = settings.fingerprint(), json.dumps(settings.describe(), sort_keys=True)
        now = time.time()
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO measures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(settings.dataset, str(int(index)), settings.measure, fingerprint,
                  None if value is None or math.isnan(value) else float(value), float(seconds),
                  device, described, now) for index, value, seconds, device in rows],
            )

    def values(self, settings: MeasureSettings) -> dict[int, tuple[float, float]]:
        """Stored ``index -> (value, seconds)`` for these settings (NULL reads as NaN)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT arch, value, seconds FROM measures WHERE dataset = ? AND measure = ? "
                "AND fingerprint = ?", (settings.dataset, settings.measure, settings.fingerprint()),
            ).fetchall()
        return {int(a): (math.nan if v is None else float(v), float(s)) for a, v, s in rows}

    def settings(self, dataset: str, measure: str) -> list[tuple[dict[str, Any], int]]:
        """Every setting ``measure`` was computed under for ``dataset``, with its cell count."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT settings, COUNT(*) FROM measures WHERE dataset = ? AND measure = ? "
                "GROUP BY fingerprint ORDER BY COUNT(*) DESC", (dataset, measure)).fetchall()
        return [(json.loads(s), int(n)) for s, n in rows]
