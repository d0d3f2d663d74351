"""A content-addressed cache of arrays derived from the release's JSON files.

An entry's name is a hash of the SHA-256 of every source file it was built from plus a format
version, so a changed source file simply maps to a new entry: nothing is ever invalidated in
place. Writers build into a temporary file in the same folder and ``os.replace`` it, which is
atomic, so two processes building the same entry at once both succeed and readers never see a
half-written file.

Hashing every source file on every start would cost more than the parse it saves, so file
checksums are remembered in a small stat index (path, size, mtime, inode, ctime -> SHA-256), the
way git's index avoids re-hashing unchanged files. A file whose stat changes is hashed again.
The ctime matters: a file rewritten in place with the same size whose mtime was then set back
(``cp -p``, ``rsync -t --inplace``, ``touch -r``) keeps size, mtime and inode, but no user can
set its ctime.

Entries of data that changed are never read again (a self-built table changes with every
build), so the cache is bounded: every entry read has its modification time set to now, and a
write that takes the entries past ``max_bytes`` (:data:`MAX_BYTES`, 1 GiB) removes the least
recently used ones until they fit, with any temporary file a killed writer left over a day ago.
Entries are created with the mode any new file gets (0666 less the umask), so a cache folder
shared by a group serves all its members.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from robnas.benchmark.npy import read_npy
from robnas.errors import DataUnreadableError
from robnas.new_files import new_file_beside

if TYPE_CHECKING:
    import numpy as np


FORMAT_VERSION = "1"
_STAT_INDEX = "checksums.json"
_ENTRY_FOLDERS = ("arrays", "documents")
MAX_BYTES = 1 << 30
"""The entries' total size above which a write removes the least recently used ones."""
_STALE_TEMPORARY_SECONDS = 24 * 3600
"""Age after which a temporary file in the cache is a killed writer's, removed by a write."""


def _warn(message: str, *args: object) -> None:
    import logging

    logging.getLogger(__name__).warning(message, *args)


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class ArrayCache:
    """Arrays and small JSON documents keyed by the checksums of their sources.

    A directory that cannot be written (read-only, full, not a folder) only costs speed:
    entries already there are still read, and the first failed write is logged once as a
    warning, after which this cache writes nothing more (each write would fail the same way).

    Args:
        directory: where entries live (created on first write). ``None`` disables caching:
            every request is rebuilt and file checksums are always computed.
        max_bytes: the entries' total size that a write prunes the least recently used ones
            down to (module docs).
    """

    def __init__(self, directory: Path | None, *, max_bytes: int = MAX_BYTES) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.max_bytes = max_bytes
        self._stat_index: dict[str, list[Any]] | None = None
        self._stat_dirty = False
        self._writable = directory is not None

    # -- file checksums ------------------------------------------------------------------------
    def checksum(self, path: Path) -> str:
        """SHA-256 of ``path``, from the stat index when the file has not changed.

        Raises:
            DataUnreadableError: the file cannot be read (no permission, say), naming it.
        """
        given = Path(path)
        path = given.resolve()
        try:
            stat = path.stat()
            signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]
            index = self._load_stat_index()
            known = index.get(str(path))
            if isinstance(known, list) and known[:-1] == signature:
                return str(known[-1])
            digest = sha256_of(path)
        except OSError as err:
            raise DataUnreadableError(f"cannot read {given}: {err.strerror or err}") from None
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
        """Write the stat index, without the files that are gone (a deleted copy of the data, a
        test's temporary folder): it is read on every start and would only grow."""
        if self.directory is None or not self._stat_dirty or self._stat_index is None:
            return
        for gone in [name for name in self._stat_index if not os.path.lexists(name)]:
            del self._stat_index[gone]
        payload = json.dumps(self._stat_index).encode()
        if self._store(self.directory / _STAT_INDEX, lambda handle: handle.write(payload)):
            self._stat_dirty = False

    # -- entries -------------------------------------------------------------------------------
    @staticmethod
    def entry_name(*parts: str) -> str:
        """A readable file name for identifying strings; checksums are cut to 16 hex digits."""
        short = (p[:16] if len(p) == 64 and all(c in "0123456789abcdef" for c in p) else p for p in parts)
        name = "-".join((f"v{FORMAT_VERSION}", *short))
        return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name)

    def array(self, parts: tuple[str, ...], build: Callable[[], np.ndarray]) -> tuple[array, tuple[int, ...]]:
        """The cached array for ``parts`` as flat stdlib data and a shape.

        On a miss, ``build`` (which may use NumPy) makes the array and it is stored as a
        float64 or int64 ``.npy`` file. Wrap the result with :func:`as_numpy` where vectorised
        work needs it.
        """
        path = None if self.directory is None else self.directory / "arrays" / f"{self.entry_name(*parts)}.npy"
        if path is not None:
            try:
                found = read_npy(path)
            except (OSError, ValueError):
                pass
            else:
                _mark_used(path)
                return found
        import numpy as np

        built = np.ascontiguousarray(build())
        built = built.astype("<f8" if built.dtype.kind == "f" else "<i8", copy=False)
        if path is not None and self._store(path, lambda handle: np.save(handle, built, allow_pickle=False)):
            self._prune(keep=path)
        flat = array("d" if built.dtype.kind == "f" else "q")
        flat.frombytes(built.tobytes())
        return flat, tuple(built.shape)

    def document(self, parts: tuple[str, ...], build: Callable[[], Any]) -> Any:
        """Like :meth:`array` for a small JSON-serialisable value."""
        if self.directory is None:
            return build()
        path = self.directory / "documents" / f"{self.entry_name(*parts)}.json"
        try:
            with open(path, encoding="utf-8") as handle:
                found = json.load(handle)
        except (OSError, ValueError):
            pass
        else:
            _mark_used(path)
            return found
        value = build()
        payload = json.dumps(value).encode()
        if self._store(path, lambda handle: handle.write(payload)):
            self._prune(keep=path)
        return value

    def _prune(self, keep: Path) -> None:
        """Remove the least recently used entries (never ``keep``, just written) until the
        rest fit in ``max_bytes``, and temporary files older than a day. An entry another
        process is reading stays readable through its open handle; one it is about to open is
        a miss there, built again."""
        assert self.directory is not None
        entries: list[tuple[int, int, Path]] = []  # (last used, size, path)
        stale = time.time() - _STALE_TEMPORARY_SECONDS
        for folder in _ENTRY_FOLDERS:
            try:
                listing = list(os.scandir(self.directory / folder))
            except OSError:
                continue
            for item in listing:
                try:
                    stat = item.stat(follow_symlinks=False)
                except OSError:  # removed meanwhile
                    continue
                path = Path(item.path)
                if item.name.endswith(".tmp"):
                    if stat.st_mtime < stale:
                        path.unlink(missing_ok=True)
                elif path != keep:
                    entries.append((stat.st_mtime_ns, stat.st_size, path))
        try:
            total = sum(size for _, size, _ in entries) + keep.stat().st_size
        except OSError:  # pruned by another process meanwhile
            return
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            try:
                path.unlink()
            except FileNotFoundError:  # another process pruned it
                pass
            except OSError:  # a folder this process may not change: nothing more to do
                return
            total -= size

    def _store(self, path: Path, write: Callable[[BinaryIO], object]) -> bool:
        """Write ``path`` atomically (a temporary file in its folder, then ``os.replace``).

        Returns:
            Whether it was written. A failure removes the temporary file and is logged once
            per cache; later writes are skipped.
        """
        if not self._writable:
            return False
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = new_file_beside(path)  # 0666 less the umask, as any new file
            with open(tmp, "wb") as handle:
                write(handle)
            os.replace(tmp, path)
            return True
        except OSError as err:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            self._writable = False
            _warn("cannot write to the cache %s (%s); going on without caching what this process "
                  "parses (set ROBNAS_CACHE_DIR to a writable folder)", self.directory, err)
            return False


def _mark_used(path: Path) -> None:
    """Set an entry's modification time to now: the order in which pruning removes entries."""
    with contextlib.suppress(OSError):  # a cache this process may read but not change (shared, read-only)
        os.utime(path)


def as_numpy(flat: array, shape: tuple[int, ...]) -> np.ndarray:
    """A zero-copy, read-only NumPy view of cached data (imports NumPy).

    Read-only because the data is shared: every later answer of the oracle reads the same
    buffer, so a caller that wrote into a view would silently change them.
    """
    import numpy as np

    view = np.frombuffer(flat, dtype=np.float64 if flat.typecode == "d" else np.int64)
    view.flags.writeable = False
    return view.reshape(shape)
