"""Measure values in the live backend's results store (one more table in the same SQLite file).

Every value is keyed by dataset, cell (NB201 index), measure name and a fingerprint of
everything it depends on (:class:`MeasureSettings`: the measure's function, the hash of a
user's function's code, a built-in measure's revision, its parameters, batch size and seed (left out for a measure that
reads only the cell, such as ``params``), whether it reads test images and which (the
SHA-256 of the test-set file), which weights (at initialisation, or the archive's absolute
path, epochs and seed)); the row also holds the compute time, device and the settings as JSON.
A repeated request reads the row; a killed computation resumes at the cells without one. Rows
written under older settings (before a setting was part of the fingerprint) simply no longer
match and are computed again; the table itself is unchanged, so an older store opens as is.

A lookup that does not know which test images were used (``images=None`` for a measure that
reads them, as :func:`~robnas.evaluation.measures.load_measures` asks) matches values
computed on any one test set under otherwise equal settings, and is refused when the store
holds them for several test sets.

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

from robnas.errors import MeasureError
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
        batch_size: images per batch (``None``: the value does not depend on it).
        seed: initialisation and batch seed (``None``: the value does not depend on it).
        weights: ``init`` or the trained weights' identity (archive's absolute path, epochs,
            seed).
        real_images: the batch holds test images (``False``: data-free, shape only).
        images: with ``real_images``, the test images' identity
            (:func:`~robnas.evaluation.datasets.images_identity`); ``None`` in a lookup: any
            one test set (see the module docs).
        code: SHA-256 (16 hex) of a user's function's code (``None``: a built-in measure).
        revision: a built-in measure's :attr:`~robnas.evaluation.measures.Measure.revision`
            (``None``: its first definition).
    """

    measure: str
    function: str
    params: Mapping[str, Any]
    dataset: str
    batch_size: int | None
    seed: int | None
    weights: str
    real_images: bool
    images: str | None = None
    code: str | None = None
    revision: int | None = None

    def fingerprint(self) -> str:
        """SHA-256 (16 hex) of the settings other than the name and dataset (key columns)."""
        return _fingerprint(self.describe())

    def describe(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return asdict(self) | {"params": dict(self.params)}

    @property
    def any_images(self) -> bool:
        """A lookup of test-image values that does not name the test set."""
        return self.real_images and self.images is None


_OPTIONAL = ("images", "code", "revision")
"""Settings added later: left out of the fingerprint while ``None``, so values keyed before
them (a built-in data-free measure's) keep their fingerprint."""


def _fingerprint(described: Mapping[str, Any]) -> str:
    body = {k: v for k, v in described.items()
            if k not in {"measure", "dataset"} and not (k in _OPTIONAL and v is None)}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class MeasureStore(SqliteStore):
    """The ``measures`` table of the results store (default: robnas' cache dir).

    Args:
        path: the SQLite file; default the live backend's ``live-results.sqlite``.
        timeout: seconds to wait for another process's write lock.
    """

    schema = _SCHEMA

    def put_many(self, settings: MeasureSettings, rows: Iterable[tuple[int, float, float, str]]) -> None:
        """Store ``(index, value, seconds, device)`` rows in one transaction (NaN is stored as NULL).

        Raises:
            MeasureError: ``settings`` reads test images but does not name them.
        """
        if settings.any_images:
            raise MeasureError(f"{settings.measure}: values of test images are stored with the "
                               "identity of those images (settings.images)")
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
        """Stored ``index -> (value, seconds)`` for these settings (NULL reads as NaN).

        Settings that read test images without naming them (``images=None``) match the values
        of any one test set under otherwise equal settings.

        Raises:
            MeasureError: ``images=None`` and the store holds values of several test sets.
        """
        fingerprint = settings.fingerprint()
        if settings.any_images:
            found = self._any_images(settings)
            if len(found) > 1:
                sets = ", ".join(f"{images} ({count} cells)" for images, _, count in found)
                raise MeasureError(
                    f"the results store {self.path} holds {settings.measure} values for "
                    f"{settings.dataset} under these settings on {len(found)} test sets: {sets}; "
                    "name the images they were computed on: --images DIR (load_measures(images=DIR))")
            if not found:
                return {}
            fingerprint = found[0][1]
        with self._connect() as db:
            rows = db.execute(
                "SELECT arch, value, seconds FROM measures WHERE dataset = ? AND measure = ? "
                "AND fingerprint = ?", (settings.dataset, settings.measure, fingerprint),
            ).fetchall()
        return {int(a): (math.nan if v is None else float(v), float(s)) for a, v, s in rows}

    def _any_images(self, settings: MeasureSettings) -> list[tuple[str, str, int]]:
        """``(images, fingerprint, cells)`` of each test set whose values match ``settings``
        but for the images."""
        wanted = settings.fingerprint()
        with self._connect() as db:
            rows = db.execute(
                "SELECT fingerprint, MIN(settings), COUNT(*) FROM measures WHERE dataset = ? AND "
                "measure = ? GROUP BY fingerprint", (settings.dataset, settings.measure)).fetchall()
        found = []
        for fingerprint, text, count in rows:
            try:
                described = json.loads(text)
            except ValueError:
                continue
            if isinstance(described, dict) and described.get("images") is not None and \
                    _fingerprint({**described, "images": None}) == wanted:
                found.append((str(described["images"]), str(fingerprint), int(count)))
        return sorted(found, key=lambda item: -item[2])

    def settings(self, dataset: str, measure: str) -> list[tuple[dict[str, Any], int]]:
        """Every setting ``measure`` was computed under for ``dataset``, with its cell count."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT settings, COUNT(*) FROM measures WHERE dataset = ? AND measure = ? "
                "GROUP BY fingerprint ORDER BY COUNT(*) DESC", (dataset, measure)).fetchall()
        return [(json.loads(s), int(n)) for s, n in rows]
