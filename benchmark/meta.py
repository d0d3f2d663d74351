"""The release's ``meta.json`` as arrays: NB201 index <-> :class:`Arch`, representatives, epsilons.

Scalar look-ups (:meth:`SpaceMeta.index_of`, :meth:`SpaceMeta.arch_at`, ...) work on stdlib
arrays and never import NumPy; the array attributes are zero-copy NumPy views made on first use.
"""

from __future__ import annotations

from array import array
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from robnas.arch import NUM_CELLS, Arch, codes_of
from robnas.benchmark.cache import ArrayCache, as_numpy
from robnas.benchmark.release import read_meta
from robnas.errors import DataFormatError, InvalidArchError
from robnas.objective import plain_number

if TYPE_CHECKING:
    import numpy as np

# rows of the cached (4, 15625) index array
_CODE_OF_INDEX, _REPRESENTATIVE, _INDEX_OF_CODE, _ROW_OF_INDEX = range(4)


class SpaceMeta:
    """NB201 indices, their cells and isomorphism representatives, from ``meta.json``.

    Attributes:
        epsilons: attack key -> its epsilons (units of 1/255), as the release lists them.
        checksum: SHA-256 of the ``meta.json`` these came from.
        num_classes: number of representatives (6,466 for the release).
    """

    def __init__(self, table: array, representatives: array, epsilons: dict[str, tuple[float, ...]],
                 checksum: str) -> None:
        self._table = table
        self._representatives = representatives
        self.epsilons = epsilons
        self.checksum = checksum
        self.num_classes = len(representatives)

    @classmethod
    def load(cls, path: Path, cache: ArrayCache) -> SpaceMeta:
        """Read ``meta.json`` at ``path`` (through ``cache``), validating its structure."""
        checksum = cache.checksum(path)
        table, _ = cache.array(("meta-index", checksum), lambda: _parse_index_table(path))
        reps, _ = cache.array(("meta-representatives", checksum), lambda: _unique_representatives(table))
        epsilons = cache.document(("meta-epsilons", checksum),
                                  lambda: _checked_epsilons(read_meta(path)["epsilons"], path))
        try:
            checked = _epsilons(epsilons, path)
        except DataFormatError:  # a damaged cache entry (the file itself passed when cached)
            checked = _epsilons(read_meta(path)["epsilons"], path)
        return cls(table, reps, checked, checksum)

    # -- scalar look-ups (no NumPy) ------------------------------------------------------------
    def index_of(self, arch: Arch) -> int:
        """The NB201 index of ``arch``."""
        return self._table[_INDEX_OF_CODE * NUM_CELLS + arch.code]

    def arch_at(self, index: int) -> Arch:
        """The cell at NB201 index ``index``."""
        self.check_index(index)
        return Arch.from_code(self._table[_CODE_OF_INDEX * NUM_CELLS + int(index)])

    def representative_of(self, index: int) -> int:
        """The representative NB201 index of ``index``'s isomorphism class."""
        return self._table[_REPRESENTATIVE * NUM_CELLS + int(index)]

    def row_of(self, index: int) -> int:
        """Row of ``index``'s class in result tables (position in :attr:`representatives`)."""
        return self._table[_ROW_OF_INDEX * NUM_CELLS + int(index)]

    def representative_at_row(self, row: int) -> int:
        """The representative NB201 index of result-table row ``row``."""
        return self._representatives[row]

    def check_index(self, index: int) -> None:
        """Raise :class:`InvalidArchError` unless ``index`` is an NB201 index."""
        if not 0 <= int(index) < NUM_CELLS:
            raise InvalidArchError(f"NB201 index must be in 0..{NUM_CELLS - 1}, got {index}")

    def parse_arch(self, arch: Arch | str | int) -> Arch:
        """An ``Arch`` from an ``Arch``, an NB201 index, or text as users type them (string or index)."""
        if isinstance(arch, Arch):
            return arch
        text = str(arch).strip()
        if text.lstrip("-").isdigit():
            if not text.isascii():  # int() would read '١٢' as 12
                raise InvalidArchError(f"NB201 index must be written in ASCII digits 0..{NUM_CELLS - 1}, "
                                       f"got {text!r}")
            return self.arch_at(int(text))
        if plain_number(text) is not None:  # '1.5', '1e3': meant as an index, not a malformed string
            raise InvalidArchError(f"NB201 index must be a whole number in 0..{NUM_CELLS - 1}, got {text!r}")
        return Arch.from_string(text)

    # -- NumPy views ---------------------------------------------------------------------------
    @cached_property
    def _matrix(self) -> np.ndarray:
        return as_numpy(self._table, (4, NUM_CELLS))

    @property
    def code_of_index(self) -> np.ndarray:
        """``(15625,)`` :attr:`Arch.code` of each NB201 index."""
        return self._matrix[_CODE_OF_INDEX]

    @property
    def index_of_code(self) -> np.ndarray:
        """``(15625,)`` NB201 index of each :attr:`Arch.code`."""
        return self._matrix[_INDEX_OF_CODE]

    @property
    def representative(self) -> np.ndarray:
        """``(15625,)`` representative NB201 index of each NB201 index."""
        return self._matrix[_REPRESENTATIVE]

    @property
    def row_of_index(self) -> np.ndarray:
        """``(15625,)`` result-table row of each NB201 index's class."""
        return self._matrix[_ROW_OF_INDEX]

    @cached_property
    def representatives(self) -> np.ndarray:
        """Sorted ``(6466,)`` representative indices: the rows of result tables."""
        return as_numpy(self._representatives, (self.num_classes,))

    def indices_of(self, archs: list[Arch] | tuple[Arch, ...]) -> np.ndarray:
        """Vectorised :meth:`index_of`."""
        return self.index_of_code[codes_of(list(archs))]


def _epsilons(raw: object, path: Path) -> dict[str, tuple[float, ...]]:
    """``meta.json``'s ``epsilons``: attack key -> distinct positive finite numbers (1/255 units).

    A result file's columns are matched to epsilons by position, so a repeated epsilon would
    answer one point from another's column; it is refused, as is any value that is no number.

    Raises:
        DataFormatError: naming ``path`` and the key.
    """
    import math

    if not isinstance(raw, dict):
        raise DataFormatError(f"{path}: 'epsilons' must map attack keys to lists of epsilons")
    found: dict[str, tuple[float, ...]] = {}
    for key, values in raw.items():
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
            raise DataFormatError(f"{path}: epsilons of {key!r} must be a non-empty list of numbers, "
                                  f"got {values!r}")
        floats = tuple(float(v) for v in values)
        if not all(math.isfinite(v) and v > 0 for v in floats) or len(set(floats)) != len(floats):
            raise DataFormatError(f"{path}: epsilons of {key!r} must be distinct positive numbers "
                                  f"(units of 1/255), got {values!r}")
        found[str(key)] = floats
    return found


def _checked_epsilons(raw: object, path: Path) -> object:
    """``raw`` unchanged (for the cache) once :func:`_epsilons` accepts it."""
    _epsilons(raw, path)
    return raw


def _parse_index_table(path: Path) -> np.ndarray:
    import numpy as np

    meta = read_meta(path)
    ids = meta["ids"]
    if len(ids) != NUM_CELLS:
        raise DataFormatError(f"{path}: expected {NUM_CELLS} ids, found {len(ids)}")
    table = np.full((4, NUM_CELLS), -1, dtype=np.int64)
    for key, entry in ids.items():
        try:
            index = int(key)
            table[_CODE_OF_INDEX, index] = Arch.from_string(entry["nb201-string"]).code
            table[_REPRESENTATIVE, index] = int(entry["isomorph"])
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise DataFormatError(f"{path}: id {key!r} is malformed ({err})") from None
    head = table[:2]
    if (head < 0).any() or (head >= NUM_CELLS).any():
        raise DataFormatError(f"{path}: ids must be 0..{NUM_CELLS - 1}, each once")
    reps = table[_REPRESENTATIVE]
    stray = np.flatnonzero(reps[reps] != reps)
    if stray.size:  # a class's rows would hold values under an id whose answers come from another
        index = int(stray[0])
        raise DataFormatError(f"{path}: id {index}'s isomorph {int(reps[index])} is not a representative "
                              f"(its own isomorph is {int(reps[reps[index]])})")
    if np.unique(table[_CODE_OF_INDEX]).size != NUM_CELLS:
        raise DataFormatError(f"{path}: some cells appear under two ids")
    table[_INDEX_OF_CODE, table[_CODE_OF_INDEX]] = np.arange(NUM_CELLS)
    _, table[_ROW_OF_INDEX] = np.unique(table[_REPRESENTATIVE], return_inverse=True)
    return table


def _unique_representatives(table: array) -> np.ndarray:
    import numpy as np

    return np.unique(as_numpy(table, (4, NUM_CELLS))[_REPRESENTATIVE])
