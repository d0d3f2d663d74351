"""Safe, verified extraction of release archives (and folders) into a staging folder.

Safety rules, checked on every entry before anything is written:

- an entry that would escape the destination (absolute path, drive letter, ``..``, backslash)
  or that is a link, a device, a FIFO or a socket, or is encrypted, makes the whole archive
  rejected (:class:`UnsafeArchiveError`);
- entries that are not one of the expected release files (``README``, ``__MACOSX/...``) are
  skipped, never extracted (the operating system's own, ``__MACOSX/``, ``._*`` and
  ``.DS_Store``, silently);
- output paths come from robnas' own table of release paths (:mod:`robnas.benchmark.checksums`),
  never from the archive's names, so nothing can be written outside the staging folder.

The release files may sit at the archive's root (``cifar10/clean_accuracy.json``), under one top
folder (``robustness-data/cifar10/...``, next to files such as a ``README`` and the
``__MACOSX/`` folder macOS adds), or, for a dataset's own archive, bare
(``clean_accuracy.json`` in ``cifar10.zip``): :func:`resolve_layout` finds which.

Each file is streamed to its staged path while hashing it, and a pinned file whose SHA-256
differs is rejected with :class:`ChecksumMismatchError` naming the file. The caller
(:mod:`robnas.benchmark.install`) moves staged files into place only when all of them passed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import stat
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from robnas.benchmark.checksums import META_PATH, pinned_sha256
from robnas.errors import ChecksumMismatchError, DataFormatError, UnsafeArchiveError

_log = logging.getLogger(__name__)

MAX_MEMBER_BYTES = 8 << 30
"""Largest uncompressed entry accepted (8 GiB; the release's largest files are far smaller)."""

_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")




@dataclass(frozen=True)
class StagedFile:
    """One release file written (and verified, if pinned) into the staging folder.

    Attributes:
        relative: release path (``cifar10/pgd@Linf_accuracy.json``).
        path: where it was staged.
        sha256: hex SHA-256 of its bytes.
        pinned: whether a pin exists (and so was checked).
        size: bytes.
    """

    relative: str
    path: Path
    sha256: str
    pinned: bool
    size: int


def safe_parts(name: str) -> tuple[str, ...]:
    """The components of an archive entry name, or raise if the name could escape.

    >>> safe_parts("robustness-data/./cifar10/clean_accuracy.json")
    ('robustness-data', 'cifar10', 'clean_accuracy.json')
    >>> safe_parts("../evil.json")
    Traceback (most recent call last):
    ...
    robnas.errors.UnsafeArchiveError: entry '../evil.json' escapes the destination
    """
    if (
        name.startswith("/")
        or _DRIVE.match(name)
        or "\\" in name
        or "\x00" in name
        or ".." in name.split("/")
    ):
        raise UnsafeArchiveError(f"entry {name!r} escapes the destination")
    return tuple(part for part in name.split("/") if part not in ("", "."))


def check_entry(info: zipfile.ZipInfo) -> None:
    """Raise :class:`UnsafeArchiveError` unless ``info`` is a plain file or folder entry."""
    safe_parts(info.filename)
    kind = stat.S_IFMT(info.external_attr >> 16)
    if stat.S_ISLNK(kind):
        raise UnsafeArchiveError(f"entry {info.filename!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchiveError(f"entry {info.filename!r} is a device or special file")
    if info.flag_bits & 0x1:
        raise UnsafeArchiveError(f"entry {info.filename!r} is encrypted")
    if info.file_size > MAX_MEMBER_BYTES:
        raise UnsafeArchiveError(f"entry {info.filename!r} is too large ({info.file_size} bytes)")


def os_metadata(parts: tuple[str, ...]) -> bool:
    """Whether an entry is the operating system's bookkeeping (macOS' ``__MACOSX/`` folder and
    ``._*`` resource forks, Finder's ``.DS_Store``), never release data.

    >>> os_metadata(("__MACOSX", "data", "._meta.json")), os_metadata(("data", "meta.json"))
    (True, False)
    """
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] == ".DS_Store")


def resolve_layout(
    names: Iterable[str], expected: Collection[str], dataset: str | None = None
) -> dict[str, str]:
    """Map entry names to release paths, whichever of the supported layouts the names use.

    Tried in order, the first layout that maps the most names wins: as is; without the top
    folder, where the entries in folders all share one (files beside it, a ``README`` say,
    stay as they are); prefixed with ``dataset/`` (bare files of a dataset archive); both.
    The operating system's bookkeeping (:func:`os_metadata`) is no part of the layout. Names
    that map to nothing expected are left out (the caller skips them).

    >>> resolve_layout(["data/meta.json", "data/cifar10/clean_accuracy.json", "data/README"],
    ...                {"meta.json", "cifar10/clean_accuracy.json"})
    {'data/meta.json': 'meta.json', 'data/cifar10/clean_accuracy.json': 'cifar10/clean_accuracy.json'}
    """
    parts = {name: safe_parts(name) for name in names}
    parts = {name: p for name, p in parts.items() if p and not os_metadata(p)}
    tops = {p[0] for p in parts.values() if len(p) > 1}
    single_top = len(tops) == 1

    def layouts() -> Iterable[dict[str, str]]:
        plain = {name: "/".join(p) for name, p in parts.items()}
        yield plain
        stripped = {name: "/".join(p[1:] if len(p) > 1 else p) for name, p in parts.items()} if single_top else {}
        if stripped:
            yield stripped
        if dataset:
            for base in (plain, stripped):
                yield {
                    name: rel if "/" in rel or rel == META_PATH else f"{dataset}/{rel}"
                    for name, rel in base.items()
                }

    best: dict[str, str] = {}
    for layout in layouts():
        mapped = {name: rel for name, rel in layout.items() if rel in expected}
        if len(mapped) > len(best):
            best = mapped
    return best


def stage_stream(source: BinaryIO, relative: str, staging: Path, origin: str) -> StagedFile:
    """Copy ``source`` to ``staging/relative`` while hashing it; verify it against its pin.

    Raises:
        ChecksumMismatchError: the pin exists and differs; the staged copy is removed.
    """
    target = staging.joinpath(*relative.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with open(target, "xb") as out:
        while block := source.read(_CHUNK):
            digest.update(block)
            out.write(block)
            size += len(block)
    actual = digest.hexdigest()
    expected = pinned_sha256(relative)
    if expected is not None and actual != expected:
        target.unlink()
        raise ChecksumMismatchError(
            f"{relative} from {origin} does not match its pinned SHA-256 "
            f"(expected {expected[:16]}..., got {actual[:16]}...); nothing was installed"
        )
    if expected is None:
        _log.info("%s from %s has no pinned SHA-256; staged unverified", relative, origin)
    return StagedFile(relative, target, actual, expected is not None, size)


def extract_zip(
    archive: Path, staging: Path, expected: Collection[str], dataset: str | None = None
) -> list[StagedFile]:
    """Extract the expected release files of ``archive`` into ``staging``, verified.

    Args:
        archive: a zip file.
        staging: an empty folder (on the destination's file system).
        expected: release paths to accept (see :func:`checksums.expected_files`).
        dataset: the dataset an archive is for, so bare file names can be placed.

    Raises:
        UnsafeArchiveError: an entry could escape, or is a link/device/encrypted, or two
            entries name the same file; nothing was extracted.
        ChecksumMismatchError: a file differs from its pin.
        DataFormatError: not a readable zip archive, or none of its files is expected.
    """
    name = archive.name
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                check_entry(info)
            files = [info for info in infos if not info.is_dir()]
            names = [info.filename for info in files]
            layout = resolve_layout(names, expected, dataset)
            if len(set(layout.values())) != len(layout) or len(set(names)) != len(names):
                raise UnsafeArchiveError(f"{name} names the same release file twice")
            if not layout:
                raise DataFormatError(f"{name} holds none of the expected release files")
            staged = []
            for info in files:
                relative = layout.get(info.filename)
                if relative is None:
                    if not os_metadata(safe_parts(info.filename)):
                        _log.warning("%s: skipping unexpected entry %r", name, info.filename)
                    continue
                with zf.open(info) as source:
                    staged.append(stage_stream(source, relative, staging, name))
            return staged
    except UnsafeArchiveError as err:
        raise UnsafeArchiveError(f"refusing {name}: {err}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
        raise DataFormatError(f"{name} is not a readable zip archive: {err}") from None


def stage_folder(
    folder: Path, staging: Path, expected: Collection[str], dataset: str | None = None
) -> list[StagedFile]:
    """Copy the expected release files found under ``folder`` into ``staging``, verified.

    Files are read through their names (a symbolic link inside ``folder`` is read like the
    file it points to, and is copied as a plain file); hidden files and folders (robnas' own
    bookkeeping among them) are ignored; only paths from ``expected`` are written.
    """
    names = {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts)
    }
    layout = resolve_layout(names, expected, dataset)
    if not layout:
        raise DataFormatError(f"{folder} holds none of the expected release files")
    staged = []
    for name, relative in sorted(layout.items()):
        with open(names[name], "rb") as source:
            staged.append(stage_stream(source, relative, staging, str(folder)))
    return staged


def remove_tree(path: Path) -> None:
    """Remove a staging folder, ignoring a folder that is already gone."""
    shutil.rmtree(path, ignore_errors=True)
