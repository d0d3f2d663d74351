"""One dataset's released results as arrays over the 6,466 representative cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.meta import SpaceMeta
from robnas.benchmark.release import inventory, read_result_file, result_path

from robnas.errors import DataFormatError
from robnas.objective import Grid, Term, default_grid_points
from robnas.vocabulary import CLEAN, SEVERITIES, Corruption, Dataset, Measure

_CORRUPTION_KEYS = {c.value for c in Corruption}


class ResultTable:
    """The released results of one dataset, loaded lazily one file at a time.

    Rows follow ``meta.representatives`` (sorted representative NB201 indices). Values are the
    floats the release's JSON holds, unchanged.

    Args:
        root: the data root.
        dataset: which dataset's folder to read.
        meta: the parsed ``meta.json`` of the same root.
        cache: where parsed files are cached.
    """

    def __init__(self, root: Path, dataset: Dataset, meta: SpaceMeta, cache: ArrayCache) -> None:
        self.root = Path(root)
        self.dataset = Dataset(dataset)
        self.meta = meta
        self.cache = cache
        self._arrays: dict[tuple[str, Measure], np.ndarray] = {}
        self._checksums: dict[str, str] = {}

    @property
    def grid(self) -> Grid:
        """The keys whose accuracy file is present, with their points."""
        present = {f.key for f in inventory(self.root) if f.dataset == self.dataset
                   and f.measure == Measure.ACCURACY}
        points = default_grid_points(self.meta.epsilons)
        return Grid({k: v for k, v in points.items() if k in present})

    def has(self, key: str, measure: Measure = Measure.ACCURACY) -> bool:
        """Whether the file of ``key``/``measure`` is present."""
        return result_path(self.root, self.dataset, key, measure).is_file()

    def key_array(self, key: str, measure: Measure = Measure.ACCURACY) -> np.ndarray:
        """``(6466, ...)`` float64 array of a file: clean ``(6466,)``, attacks ``(6466, n_eps)``."""
        slot = (key, Measure(measure))
        if slot not in self._arrays:
            path = result_path(self.root, self.dataset, key, measure)
            if not path.is_file():  # named, never guessed
                read_result_file(path, self.dataset, key, measure)
            checksum = self.cache.checksum(path)
            self._checksums[f"{self.dataset.value}/{path.name}"] = checksum
            array = self.cache.array(
                ("result", checksum, self.meta.checksum, self.dataset.value, key, str(measure)),
                lambda: self._parse(path, key, Measure(measure)),
            )
            self._arrays[slot] = array
        return self._arrays[slot]

    def column(self, term: Term) -> np.ndarray:
        """``(6466,)`` values of one term (a key at one point of its grid)."""
        array = self.key_array(term.key)
        if term.key == CLEAN:
            return array
        if term.key in _CORRUPTION_KEYS:
            position = SEVERITIES.index(int(term.point))  # type: ignore[arg-type]
        else:
            position = self.meta.epsilons[term.key].index(float(term.point))  # type: ignore[arg-type]
        return array[:, position]

    def objective_column(self, terms: tuple[Term, ...]) -> np.ndarray:
        """``(6466,)`` mean over ``terms`` (the value of an objective for every class)."""
        if len(terms) == 1:
            return self.column(terms[0])
        cache_key = tuple(str(t) for t in terms)
        slot = ("|".join(cache_key), Measure.ACCURACY)
        if slot not in self._arrays:
            self._arrays[slot] = np.mean(np.stack([self.column(t) for t in terms]), axis=0)
        return self._arrays[slot]

    def checksums(self) -> dict[str, str]:
        """SHA-256 of every file read so far, by path relative to the root."""
        return {"meta.json": self.meta.checksum, **self._checksums}

    def _parse(self, path: Path, key: str, measure: Measure) -> np.ndarray:
        values = read_result_file(path, self.dataset, key, measure)
        reps = self.meta.representatives
        try:
            ids = np.fromiter((int(k) for k in values), dtype=np.int64, count=len(values))
        except ValueError:
            raise DataFormatError(f"{path}: ids must be NB201 indices") from None
        missing = np.setdiff1d(reps, ids)
        if missing.size:
            shown = ", ".join(str(i) for i in missing[:5])
            raise DataFormatError(
                f"{path}: {missing.size} representative ids have no value (e.g. {shown})"
            )
        try:
            stacked = np.asarray([values[str(i)] for i in reps], dtype=np.float64)
        except (ValueError, TypeError):
            raise DataFormatError(f"{path}: values are not numbers of one shape per id") from None
        expected = self._expected_width(key, measure)
        if expected is not None and (stacked.ndim != 2 or stacked.shape[1] != expected):
            raise DataFormatError(
                f"{path}: expected {expected} values per id, found shape {stacked.shape[1:]}"
            )
        if measure == Measure.ACCURACY and key == CLEAN and stacked.ndim != 1:
            raise DataFormatError(f"{path}: clean accuracy must be one number per id")
        return stacked

    def _expected_width(self, key: str, measure: Measure) -> int | None:
        if measure != Measure.ACCURACY or key == CLEAN:
            return None
        if key in _CORRUPTION_KEYS:
            return len(SEVERITIES)
        return len(self.meta.epsilons.get(key, ())) or None
