"""What a data folder holds: datasets, keys, measures, sizes, and whether files match their pins."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robnas.benchmark.cache import sha256_of
from robnas.benchmark.checksums import META_PATH, pinned_sha256
from robnas.benchmark.location import DATA_ENV, resolve_data_root
from robnas.benchmark.release import inventory
from robnas.errors import DataUnreadableError

OK, MISMATCH, UNPINNED = "ok", "mismatch", "unpinned"


@dataclass(frozen=True)
class FileStatus:
    """One release file present in the data folder.

    Attributes:
        relative: release path (``cifar10/clean_accuracy.json``, ``meta.json``).
        size: bytes.
        status: ``"ok"``, ``"mismatch"`` or ``"unpinned"`` when verified, else ``None``.
        dataset, key, measure: what the file holds (``None`` for ``meta.json``).
    """

    relative: str
    size: int
    status: str | None = None
    dataset: str | None = None
    key: str | None = None
    measure: str | None = None


@dataclass(frozen=True)
class DataInfo:
    """The contents of a data folder (see :func:`describe`).

    Attributes:
        is_release: whether ``meta.json`` is the released one (``None`` unless verified). A
            folder with a ``meta.json`` of its own is a table a user built: no pins apply to
            it, as when it is read (:class:`~robnas.benchmark.table.ResultTable`).
    """

    root: Path
    origin: str
    files: tuple[FileStatus, ...]
    verified: bool
    is_release: bool | None = None

    @property
    def total_size(self) -> int:
        """Bytes of all release files."""
        return sum(f.size for f in self.files)

    @property
    def mismatches(self) -> list[str]:
        """Release paths whose SHA-256 differs from the pin (empty unless verified)."""
        return [f.relative for f in self.files if f.status == MISMATCH]

    def datasets(self) -> dict[str, dict[str, list[str]]]:
        """``{dataset: {measure: [keys]}}`` of the result files present."""
        found: dict[str, dict[str, list[str]]] = {}
        for f in self.files:
            if f.dataset is not None and f.measure is not None and f.key is not None:
                found.setdefault(f.dataset, {}).setdefault(f.measure, []).append(f.key)
        return found

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "root": str(self.root),
            "origin": self.origin,
            "total_bytes": self.total_size,
            "datasets": self.datasets(),
            "verified": self.verified,
            "is_release": self.is_release,
            "files": [f.__dict__ for f in self.files],
            "mismatches": self.mismatches,
        }


def describe(data: str | os.PathLike[str] | None = None, *, verify: bool = False) -> DataInfo:
    """Inventory the data folder that ``robnas query`` would read (``data`` as for ``--data``).

    Args:
        data: an explicit folder; default ``$ROBNAS_DATA``, else the per-user data folder.
        verify: hash every file and compare it with its pin; in a folder whose ``meta.json``
            is not the release's (a table built with ``robnas table build``) every file is
            ``"unpinned"``: its files are its own, not damaged copies of the release's.

    Raises:
        DataNotFoundError: no ``meta.json`` there (the message says how to get the data).
        DataUnreadableError: a file there cannot be read (no permission, say), naming it.
        DataFormatError: ``meta.json`` is not the release's and does not parse as one (a
            damaged copy, not a table of its own; the message says how to reinstall).
    """
    root = resolve_data_root(data)
    if data is not None:
        origin = "--data"
    elif os.environ.get(DATA_ENV):
        origin = f"${DATA_ENV}"
    else:
        origin = "default data directory"
    entries = [(META_PATH, root / META_PATH, None, None, None)]
    entries += [
        (f.relative, f.path, f.dataset.value, f.key, f.measure.value) for f in inventory(root)
    ]
    files = []
    is_release = None
    for relative, path, dataset, key, measure in entries:
        try:
            status = None
            if verify:
                status = UNPINNED if is_release is False else _status(path, relative)
                if is_release is None:  # meta.json, the first entry, tells which
                    is_release, status = status == OK, UNPINNED if status != OK else OK
            size = path.stat().st_size
        except OSError as err:
            raise DataUnreadableError(f"cannot read {path}: {err.strerror or err}") from None
        files.append(FileStatus(relative, size, status, dataset, key, measure))
    if is_release is not True:  # the release's parses; a table's of its own must too
        _check_meta(root)
    return DataInfo(root, origin, tuple(files), verify, is_release)


def _check_meta(root: Path) -> None:
    """Raise unless ``root``'s ``meta.json`` parses as one (a table of its own writes one that
    does): a damaged one is not a table of its own, and no query can read the folder."""
    from robnas.benchmark.location import download_command
    from robnas.benchmark.release import read_meta
    from robnas.errors import DataFormatError

    try:
        read_meta(root / META_PATH)
    except DataFormatError as err:
        raise DataFormatError(f"{err}; if it is a damaged copy of the release's, delete it and "
                              f"reinstall: {download_command(root, 'cifar10')} --force") from None


def _status(path: Path, relative: str) -> str:
    expected = pinned_sha256(relative)
    if expected is None:
        return UNPINNED
    return OK if sha256_of(path) == expected else MISMATCH
