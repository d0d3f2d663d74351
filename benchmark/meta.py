"""The release's ``meta.json`` as arrays: NB201 index <-> :class:`Arch`, representatives, epsilons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.release import read_meta

from robnas.arch import NUM_CELLS, Arch, codes_of
from robnas.errors import DataFormatError, InvalidArchError


@dataclass(frozen=True, eq=False)
class SpaceMeta:
    """NB201 indices, their cells and isomorphism representatives, from ``meta.json``.

    Attributes:
        code_of_index: ``(15625,)`` :attr:`Arch.code` of each NB201 index.
        index_of_code: ``(15625,)`` NB201 index of each :attr:`Arch.code`.
        representative: ``(15625,)`` representative NB201 index of each NB201 index.
        representatives: sorted ``(6466,)`` representative indices (the rows of result tables).
        row_of_index: ``(15625,)`` row in :attr:`representatives` of each index's representative.
        epsilons: attack key -> its epsilons (units of 1/255), as the release lists them.
        checksum: SHA-256 of the ``meta.json`` these came from.
    """

    code_of_index: np.ndarray
    index_of_code: np.ndarray
    representative: np.ndarray
    representatives: np.ndarray
    row_of_index: np.ndarray
    epsilons: dict[str, tuple[float, ...]]
    checksum: str

    @classmethod
    def load(cls, path: Path, cache: ArrayCache) -> SpaceMeta:
        """Read ``meta.json`` at ``path`` (through ``cache``), validating its structure."""
        checksum = cache.checksum(path)
        arrays = cache.array(("meta-arrays", checksum), lambda: _parse_arrays(path))
        epsilons = cache.document(("meta-epsilons", checksum), lambda: read_meta(path)["epsilons"])
        code_of_index, representative = arrays[0], arrays[1]
        index_of_code = np.empty(NUM_CELLS, dtype=np.int64)
        index_of_code[code_of_index] = np.arange(NUM_CELLS)
        representatives, row_of_index = np.unique(representative, return_inverse=True)
        return cls(
            code_of_index=code_of_index,
            index_of_code=index_of_code,
            representative=representative,
            representatives=representatives,
            row_of_index=row_of_index.astype(np.int64),
            epsilons={k: tuple(float(e) for e in v) for k, v in epsilons.items()},
            checksum=checksum,
        )

    def index_of(self, arch: Arch) -> int:
        """The NB201 index of ``arch``."""
        return int(self.index_of_code[arch.code])

    def indices_of(self, archs: list[Arch] | tuple[Arch, ...]) -> np.ndarray:
        """Vectorised :meth:`index_of`."""
        return self.index_of_code[codes_of(list(archs))]

    def arch_at(self, index: int) -> Arch:
        """The cell at NB201 index ``index``."""
        self.check_index(index)
        return Arch.from_code(int(self.code_of_index[index]))

    def check_index(self, index: int) -> None:
        """Raise :class:`InvalidArchError` unless ``index`` is an NB201 index."""
        if not 0 <= int(index) < NUM_CELLS:
            raise InvalidArchError(f"NB201 index must be in 0..{NUM_CELLS - 1}, got {index}")

    def parse_arch(self, text: str) -> Arch:
        """An arch given as an NB201 string or an NB201 index (as users type them)."""
        text = str(text).strip()
        if text.lstrip("-").isdigit():
            return self.arch_at(int(text))
        return Arch.from_string(text)


def _parse_arrays(path: Path) -> np.ndarray:
    meta = read_meta(path)
    ids = meta["ids"]
    if len(ids) != NUM_CELLS:
        raise DataFormatError(f"{path}: expected {NUM_CELLS} ids, found {len(ids)}")
    out = np.full((2, NUM_CELLS), -1, dtype=np.int64)
    for key, entry in ids.items():
        try:
            index = int(key)
            arch = Arch.from_string(entry["nb201-string"])
            out[0, index] = arch.code
            out[1, index] = int(entry["isomorph"])
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise DataFormatError(f"{path}: id {key!r} is malformed ({err})") from None
    if (out < 0).any() or (out >= NUM_CELLS).any():
        raise DataFormatError(f"{path}: ids must be 0..{NUM_CELLS - 1}, each once")
    if np.unique(out[0]).size != NUM_CELLS:
        raise DataFormatError(f"{path}: some cells appear under two ids")
    return out
