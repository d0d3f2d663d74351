"""One dataset's released results over the 6,466 representative cells.

Each file is parsed once into a cached array (rows = ``meta.representatives``) and kept as a
stdlib array; scalar methods answer from it without NumPy, vectorised methods view it through
NumPy. An aggregate objective is the correctly rounded mean of the decimal numbers its terms
hold (:func:`decimal_mean`) in both paths, so a single lookup and a vectorised one agree to the
last bit, and two classes whose released values have the same mean get the same float (they
tie in ranks and optima).
"""

from __future__ import annotations

import logging
import math
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

from robnas.benchmark.cache import ArrayCache, as_numpy
from robnas.benchmark.checksums import META_PATH, pinned_sha256
from robnas.benchmark.location import download_command
from robnas.benchmark.meta import SpaceMeta
from robnas.benchmark.release import folder_names, read_result_file, result_path
from robnas.errors import ChecksumMismatchError, DataFormatError
from robnas.objective import Grid, Term, default_grid_points
from robnas.vocabulary import CLEAN, SEVERITIES, Corruption, Dataset, Measure

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import numpy as np

_log = logging.getLogger(__name__)
_CORRUPTION_KEYS = {c.value for c in Corruption}
_ACCURACY_SUFFIX = f"_{Measure.ACCURACY.value}.json"


_MAX_DECIMALS = 15
"""Most decimal places :func:`decimal_mean` reads a value with (the release has 3)."""


def decimal_mean(values: Sequence[float]) -> float:
    """The mean of ``values`` as the decimal numbers they were written as, correctly rounded.

    A value read from JSON as ``0.336`` is the float nearest 0.336, not 0.336, so summing the
    floats (even exactly, with :func:`math.fsum`) gives means that differ in the last bit for
    sets of values with the same decimal mean (``0.1 + 0.2`` against ``0.3 + 0.0``), and ranks
    would split such ties. Here each value is taken as the shortest decimal with at most
    ``_MAX_DECIMALS`` places that reads back as it (the same scale for all, the fewest places
    that fit), the integers are summed exactly and divided once (Python's correctly rounded
    integer division). Values that are no such decimal fall back to ``fsum / n``.

    >>> decimal_mean([0.1, 0.2]) == decimal_mean([0.3, 0.0]) == 0.15
    True
    """
    n = len(values)
    if all(math.isfinite(v) for v in values):
        for places in range(_MAX_DECIMALS + 1):
            scale = 10**places
            units = [round(v * scale) for v in values]
            if all(u / scale == v for u, v in zip(units, values, strict=True)):
                return sum(units) / (scale * n)
    return math.fsum(values) / n


class ResultTable:
    """The released results of one dataset, loaded lazily one file at a time.

    Values are the floats the release's JSON holds, unchanged. A file holding a value that is
    not a number or (for accuracies) not in [0, 1] is refused when it is parsed.

    Pinned SHA-256: a root whose ``meta.json`` is the release's own (its SHA-256 equals the pin)
    is a copy of the release, and each result file read from it is compared with its pin (the
    checksum is computed anyway, for provenance). A file that differs is logged as a warning
    on every load, or refused with :class:`~robnas.errors.ChecksumMismatchError` when
    ``strict_data``. A root with its own ``meta.json`` is a table a user built: no pins apply
    and nothing is ever reported; neither is a file the release does not pin.

    Args:
        root: the data root.
        dataset: which dataset's folder to read.
        meta: the parsed ``meta.json`` of the same root.
        cache: where parsed files are cached.
        strict_data: refuse (instead of warn about) a release file that differs from its pin.
    """

    def __init__(
        self, root: Path, dataset: Dataset, meta: SpaceMeta, cache: ArrayCache, strict_data: bool = False
    ) -> None:
        self.root = Path(root)
        self.dataset = Dataset(dataset)
        self.meta = meta
        self.cache = cache
        self.strict_data = strict_data
        self.is_release = meta.checksum == pinned_sha256(META_PATH)
        self._raw: dict[tuple[str, Measure], tuple[array, tuple[int, ...]]] = {}
        self._aggregates: dict[tuple[Term, ...], array] = {}
        self._checksums: dict[str, str] = {}

    @property
    def grid(self) -> Grid:
        """The keys whose accuracy file is present, with their points (none where the dataset's
        folder is missing; :func:`~robnas.benchmark.release.folder_names` refuses one that
        cannot be listed)."""
        names = folder_names(self.root / self.dataset.value)
        present = {name[: -len(_ACCURACY_SUFFIX)] for name in names if name.endswith(_ACCURACY_SUFFIX)}
        points = default_grid_points(self.meta.epsilons)
        return Grid({k: v for k, v in points.items() if k in present})

    @property
    def missing_release_grid(self) -> Grid:
        """The keys the release holds for this dataset (a pinned accuracy file) whose file is not
        here, with their points; empty outside a copy of the release (a table a user built)."""
        if not self.is_release:
            return Grid({})
        present = self.grid.points
        return Grid({key: points for key, points in default_grid_points(self.meta.epsilons).items()
                     if key not in present and pinned_sha256(f"{self.dataset.value}/{key}{_ACCURACY_SUFFIX}")})

    def has(self, key: str, measure: Measure = Measure.ACCURACY) -> bool:
        """Whether the file of ``key``/``measure`` is present."""
        return result_path(self.root, self.dataset, key, measure).is_file()

    # -- raw access ----------------------------------------------------------------------------
    def _load(self, key: str, measure: Measure = Measure.ACCURACY) -> tuple[array, tuple[int, ...]]:
        slot = (key, Measure(measure))
        if slot not in self._raw:
            path = result_path(self.root, self.dataset, key, measure)
            if not path.is_file():  # named, never guessed
                read_result_file(path, self.dataset, key, measure)
            checksum = self.cache.checksum(path)
            relative = f"{self.dataset.value}/{path.name}"
            self._check_pin(relative, checksum)
            self._checksums[relative] = checksum
            self._raw[slot] = self.cache.array(
                ("result-checked", checksum, self.meta.checksum, self.dataset.value, key, str(measure)),
                lambda: self._parse(path, key, Measure(measure)),
            )
        return self._raw[slot]

    def _check_pin(self, relative: str, checksum: str) -> None:
        expected = pinned_sha256(relative) if self.is_release else None
        if expected is None or expected == checksum:
            return
        message = (f"{self.root / relative} differs from the released file (SHA-256 {checksum[:12]}, "
                   f"pinned {expected[:12]}): its values may not be the published ones; reinstall it "
                   f"with `{download_command(self.root, self.dataset.value)} --force`")
        if self.strict_data:
            raise ChecksumMismatchError(f"{message} (refused under --strict-data)")
        _log.warning("%s (--strict-data refuses it)", message)

    def _position(self, term: Term) -> tuple[int, int]:
        """(column, width) of ``term`` in its key's array."""
        if term.key == CLEAN:
            return 0, 1
        if term.key in _CORRUPTION_KEYS:
            return SEVERITIES.index(int(term.point)), len(SEVERITIES)  # type: ignore[arg-type]
        epsilons = self.meta.epsilons[term.key]
        return epsilons.index(float(term.point)), len(epsilons)  # type: ignore[arg-type]

    # -- scalar path (no NumPy) ----------------------------------------------------------------
    def scalar(self, term: Term, row: int) -> float:
        """The value of one term for one row."""
        flat, _ = self._load(term.key)
        column, width = self._position(term)
        return flat[row * width + column]

    def objective_scalar(self, terms: tuple[Term, ...], row: int) -> float:
        """The objective value of one row: its single term, or the exact mean of its terms."""
        if len(terms) == 1:
            return self.scalar(terms[0], row)
        return decimal_mean([self.scalar(t, row) for t in terms])

    def objective_list(self, terms: tuple[Term, ...]) -> memoryview:
        """All 6,466 objective values, read-only, without NumPy (rows = ``meta.representatives``).

        A zero-copy view of the shared data: it supports ``len``, indexing, iteration and
        ``max``, and refuses writes, which would change every later answer.
        """
        return memoryview(self._objective_array(terms)).toreadonly()

    def _objective_array(self, terms: tuple[Term, ...]) -> array:
        if len(terms) == 1:
            flat, _ = self._load(terms[0].key)
            column, width = self._position(terms[0])
            return flat if width == 1 else flat[column::width]
        if terms not in self._aggregates:
            columns = [self._objective_array((t,)) for t in terms]
            self._aggregates[terms] = array("d", (decimal_mean(v) for v in zip(*columns, strict=True)))
        return self._aggregates[terms]

    # -- NumPy path ----------------------------------------------------------------------------
    def key_array(self, key: str, measure: Measure = Measure.ACCURACY) -> np.ndarray:
        """``(6466, ...)`` float64 array of a file: clean ``(6466,)``, attacks ``(6466, n_eps)``."""
        return as_numpy(*self._load(key, measure))

    def column(self, term: Term) -> np.ndarray:
        """``(6466,)`` values of one term."""
        return self.objective_column((term,))

    def objective_column(self, terms: tuple[Term, ...]) -> np.ndarray:
        """``(6466,)`` objective values (a zero-copy view where possible)."""
        return as_numpy(self._objective_array(terms), (self.meta.num_classes,))

    def checksums(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """SHA-256 of ``meta.json`` and of every file read so far (by path relative to the root,
        ``meta.json`` first, then sorted), or with ``keys`` of those keys' present accuracy
        files only (each read here if it was not yet)."""
        if keys is None:
            files = self._checksums
        else:
            files = {}
            for key in dict.fromkeys(keys):
                if self.has(key):
                    self._load(key)
                    relative = f"{self.dataset.value}/{key}{_ACCURACY_SUFFIX}"
                    files[relative] = self._checksums[relative]
        return {"meta.json": self.meta.checksum, **{path: files[path] for path in sorted(files)}}

    def _parse(self, path: Path, key: str, measure: Measure) -> np.ndarray:
        import numpy as np

        values = read_result_file(path, self.dataset, key, measure)
        reps = self.meta.representatives
        try:
            ids = np.fromiter((int(k) for k in values), dtype=np.int64, count=len(values))
        except ValueError:
            raise DataFormatError(f"{path}: ids must be NB201 indices") from None
        missing = np.setdiff1d(reps, ids)
        if missing.size:
            shown = ", ".join(str(i) for i in missing[:5])
            raise DataFormatError(f"{path}: {missing.size} representative ids have no value (e.g. {shown})")
        try:
            stacked = np.asarray([values[str(i)] for i in reps], dtype=np.float64)
        except (ValueError, TypeError):
            raise DataFormatError(f"{path}: values are not numbers of one shape per id") from None
        bad = ~np.isfinite(stacked) if measure != Measure.ACCURACY else ~((stacked >= 0) & (stacked <= 1))
        if bad.any():
            row = int(np.flatnonzero(bad.reshape(len(reps), -1).any(axis=1))[0])
            value = values[str(int(reps[row]))]
            what = "a number" if measure != Measure.ACCURACY else "an accuracy in [0, 1]"
            raise DataFormatError(f"{path}: {key} {measure.value} of id {int(reps[row])} is {value!r}, "
                                  f"not {what} ({int(bad.sum())} such value(s)); the file is refused")
        if measure == Measure.ACCURACY:
            expected = self._expected_width(key)
            if expected is None and stacked.ndim != 1:
                raise DataFormatError(f"{path}: clean accuracy must be one number per id")
            if expected is not None and (stacked.ndim != 2 or stacked.shape[1] != expected):
                raise DataFormatError(f"{path}: expected {expected} values per id, found shape {stacked.shape[1:]}")
        return stacked

    def _expected_width(self, key: str) -> int | None:
        if key == CLEAN:
            return None
        if key in _CORRUPTION_KEYS:
            return len(SEVERITIES)
        return len(self.meta.epsilons.get(key, ())) or None
