"""A content-addressed cache of arrays derived from the release's JSON files.

An entry's name is a hash of the SHA-256 of every source file it was built from plus a format
version, so a changed source file simply maps to a new entry: nothing is ever invalidated in
place. Writers build into a temporary file in the same folder and ``os.replace`` it, which is
atomic, so two processes building the same entry at once both succeed and readers never see a
half-written file.

Hashing every source file on every start would cost more than the parse it saves, so file
checksums are remembered in a small stat index (path, size, mtime, inode -> SHA-256), the way
git's index avoids re-hashing unchanged files. A file whose stat changes is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_log = logging.getLogger(__name__)

FORMAT_VERSION = "1"
_STAT_INDEX = "checksums.json"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class ArrayCache:
    """Arrays and small JSON documents keyed by the checksums of their sources.

    Args:
        directory: where entries live (created on first write). ``None`` disables caching:
            every request is rebuilt and file checksums are always computed.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._stat_index: dict[str, list[Any]] | None = None
        self._stat_dirty = False

    # -- file checksums ------------------------------------------------------------------------
    def checksum(self, path: Path) -> str:
        """SHA-256 of ``path``, from the stat index when the file has not changed."""
        path = Path(path).resolve()
        stat = path.stat()
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        index = self._load_stat_index()
        known = index.get(str(path))
        if known is not None and known[:3] == signature:
            return str(known[3])
        digest = sha256_of(path)
        index[str(path)] = [*signature, digest]
        self._stat_dirty = True
        self._save_stat_index()
        return digest

    def _load_stat_index(self) -> dict[str, list[Any]]:
        if self._stat_index is None:
            self._stat_index = {}
            if self.directory is not None:
                try:
                    with open(self.directory / _STAT_INDEX, encoding="utf-8") as handle:
                        loaded = json.load(handle)
                    if isinstance(loaded, dict):
                        self._stat_index = loaded
                except (OSError, ValueError):
                    pass
        return self._stat_index

    def _save_stat_index(self) -> None:
        if self.directory is None or not self._stat_dirty or self._stat_index is None:
            return
        payload = json.dumps(self._stat_index).encode()
        try:
            self._atomic_write(self.directory / _STAT_INDEX, payload)
            self._stat_dirty = False
        except OSError as err:  # a read-only cache only costs speed
            _log.warning("cannot update the checksum index in %s: %s", self.directory, err)

    # -- entries -------------------------------------------------------------------------------
    @staticmethod
    def entry_name(*parts: str) -> str:
        """The entry name for a list of identifying strings (checksums, kinds)."""
        return hashlib.sha256("\0".join((FORMAT_VERSION, *parts)).encode()).hexdigest()[:40]

    def array(self, parts: tuple[str, ...], build: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array for ``parts``, calling ``build`` and storing it on a miss."""
        if self.directory is None:
            return build()
        path = self.directory / "arrays" / f"{self.entry_name(*parts)}.npy"
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            pass
        array = np.ascontiguousarray(build())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
                np.save(tmp, array, allow_pickle=False)
            os.replace(tmp.name, path)
        except OSError as err:
            _log.warning("cannot write cache entry %s: %s", path, err)
        return array

    def document(self, parts: tuple[str, ...], build: Callable[[], Any]) -> Any:
        """Like :meth:`array` for a small JSON-serialisable value."""
        if self.directory is None:
            return build()
        path = self.directory / "documents" / f"{self.entry_name(*parts)}.json"
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            pass
        value = build()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._atomic_write(path, json.dumps(value).encode())
        except OSError as err:
            _log.warning("cannot write cache entry %s: %s", path, err)
        return value

    @staticmethod
    def _atomic_write(path: Path, payload: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            tmp.write(payload)
        os.replace(tmp.name, path)
