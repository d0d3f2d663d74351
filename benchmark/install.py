"""Install the released data into a data folder: download it, or import a copy, all or nothing.

Both :func:`download_release` and :func:`import_release` follow the same steps, under a lock on
``<dest>/.robnas-data.lock`` so that concurrent runs into one folder take turns:

1. gather the sources (downloaded into ``<dest>/.download/``, resumable; or given by the user);
2. stage every expected release file into a private ``<dest>/.staging-*`` folder, checking
   archive safety and each file's pinned SHA-256 (:mod:`robnas.benchmark.archive`); a download
   is checked as soon as it is complete, before the next archive is fetched, so a bad one
   stops the run before more is fetched (and none is left unchecked for the next run);
3. only if every file passed, move each into place with an atomic rename, ``meta.json`` last
   (it is what marks a folder as a data root).

A folder holding a table of its own (a ``meta.json`` that is not the release's, as ``robnas
table build`` writes) is refused before anything is fetched: its files are not the release's,
and would be replaced for good.

Any failure leaves the data folder as it was: the staging folder is removed, and a downloaded
archive that failed verification is deleted so the next run fetches it afresh. A staging folder
left by a run that was killed (``kill -9``, a power cut) is removed by the next install, which
holds the lock, so no other install can be using it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from robnas.benchmark.archive import StagedFile, extract_zip, remove_tree, stage_folder
from robnas.benchmark.cache import sha256_of
from robnas.benchmark.checksums import META_PATH, RELEASE_SHA256, expected_files, pinned_sha256
from robnas.benchmark.download import RetryPolicy, fetch
from robnas.benchmark.location import DATA_ENV, default_data_dir
from robnas.errors import DataFormatError, RobnasError
from robnas.vocabulary import Dataset, Measure, parse_dataset

_log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://data.robustness.vision/"
"""Where the release is published (``meta.zip``, ``<dataset>-accuracies.zip``, ``<dataset>.zip``)."""

LOCK_NAME = ".robnas-data.lock"
DOWNLOAD_DIR = ".download"
MANIFEST_NAME = ".robnas-installed.json"
_STAGING_PREFIX = ".staging-"


@dataclass
class InstallReport:
    """What an install did.

    Attributes:
        dest: the data folder.
        installed: release paths written (new or replaced).
        unchanged: release paths that were already there with the same bytes.
        unpinned: installed paths that have no pinned SHA-256 (so were not verified).
        skipped: archives not downloaded because their files were already installed.
        missing: pinned accuracy files of the requested datasets still absent afterwards.
    """

    dest: Path
    installed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unpinned: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def default_dest() -> Path:
    """Where data goes by default: ``$ROBNAS_DATA`` if set, else the per-user data folder.

    This is where ``robnas query`` looks when given no ``--data``.
    """
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else default_data_dir()


def parse_measures(measures: Iterable[Measure | str] | str | None) -> tuple[Measure, ...]:
    """Measures from names or a comma list; ``"all"`` (or ``None``) means every measure."""
    if measures is None:
        return tuple(Measure)
    names = measures.split(",") if isinstance(measures, str) else list(measures)
    names = [str(getattr(n, "value", n)).strip() for n in names]
    if "all" in names:
        return tuple(Measure)
    found = []
    for name in names:
        try:
            found.append(Measure(name))
        except ValueError:
            choices = ", ".join([*(m.value for m in Measure), "all"])
            raise RobnasError(f"unknown measure {name!r}; choose from: {choices}") from None
    return tuple(dict.fromkeys(found))


def parse_datasets(datasets: Iterable[Dataset | str] | str | None) -> tuple[Dataset, ...]:
    """Datasets from names or a comma list (``None``: all three)."""
    if datasets is None:
        return tuple(Dataset)
    names = datasets.split(",") if isinstance(datasets, str) else list(datasets)
    found = [parse_dataset(n) for n in names if str(n).strip()]
    if not found:
        raise RobnasError("no dataset given; choose from: " + ", ".join(d.value for d in Dataset))
    return tuple(dict.fromkeys(found))


def archive_names(
    datasets: Sequence[Dataset], measures: Sequence[Measure]
) -> list[tuple[str, Dataset | None]]:
    """The release archives holding ``datasets``' ``measures``, with the dataset of each.

    >>> archive_names([Dataset.CIFAR10], [Measure.ACCURACY])
    [('meta.zip', None), ('cifar10-accuracies.zip', <Dataset.CIFAR10: 'cifar10'>)]
    """
    suffix = "-accuracies.zip" if set(measures) == {Measure.ACCURACY} else ".zip"
    return [("meta.zip", None), *((f"{d.value}{suffix}", d) for d in datasets)]


def download_release(
    dest: Path | str | None = None,
    datasets: Iterable[Dataset | str] | str | None = None,
    measures: Iterable[Measure | str] | str | None = ("accuracy",),
    *,
    base_url: str = DEFAULT_BASE_URL,
    retry: RetryPolicy | None = None,
    progress: bool = True,
    force: bool = False,
) -> InstallReport:
    """Download, verify and install the release's archives for ``datasets`` and ``measures``.

    Archives whose files are already installed and match their pins are not fetched again
    (unless ``force``). Partial downloads are resumed by the next call.

    Raises:
        DownloadError: an archive could not be fetched (404, or the server stayed unreachable).
        ChecksumMismatchError, UnsafeArchiveError, DataFormatError: an archive was bad; nothing
            was installed and the bad archive was deleted.
    """
    chosen, kinds = parse_datasets(datasets), parse_measures(measures)
    dest = Path(dest).expanduser() if dest is not None else default_dest()
    base = base_url if base_url.endswith("/") else base_url + "/"
    report = InstallReport(dest)
    with _os_errors(dest), _locked(dest):
        _refuse_a_table_of_its_own(dest)
        manifest = _read_manifest(dest)
        wanted: list[tuple[str, Dataset | None, frozenset[str]]] = []
        for name, dataset in archive_names(chosen, kinds):
            accepted = expected_files([dataset] if dataset else [], kinds)
            if not force and _already_installed(dest, name, accepted, kinds, manifest):
                report.skipped.append(name)
            else:
                wanted.append((name, dataset, accepted))
        downloads = dest / DOWNLOAD_DIR

        def fetched() -> Iterator[tuple[Path, Dataset | None, frozenset[str]]]:
            """Each archive when its turn comes (staged before the next is fetched)."""
            for name, dataset, accepted in wanted:
                downloads.mkdir(parents=True, exist_ok=True)
                path = downloads / name
                if not path.is_file():  # complete from an earlier run that failed later on
                    fetch(base + name, path, retry=retry, progress=progress)
                yield path, dataset, accepted

        taken = _install(dest, fetched(), report, delete_bad=True)
        for (name, *_), files in zip(wanted, taken, strict=True):
            manifest[name] = {"url": base + name, "files": files}
            (downloads / name).unlink(missing_ok=True)
        if wanted:
            _write_manifest(dest, manifest)
        _remove_if_empty(downloads)
        report.missing = _missing(dest, chosen, kinds)
    return report


def import_release(source: Path | str, dest: Path | str | None = None) -> InstallReport:
    """Verify and copy an already downloaded release (zip archives or a folder) into ``dest``.

    ``source`` is a zip archive, or a folder holding the release files (at its root or under
    one folder) and/or release zip archives.

    Raises:
        DataNotFoundError: ``source`` does not exist.
        ChecksumMismatchError, UnsafeArchiveError, DataFormatError: nothing was installed.
    """
    from robnas.errors import DataNotFoundError

    source = Path(source).expanduser()
    dest = Path(dest).expanduser() if dest is not None else default_dest()
    if not source.exists():
        raise DataNotFoundError(f"cannot import {source}: no such file or folder")
    if source.is_dir() and dest.exists() and source.resolve() == dest.resolve():
        raise RobnasError(f"{source} is the data folder itself; check it with `robnas data info --verify`")
    everything = expected_files()
    if source.is_file() and not zipfile.is_zipfile(source):
        raise DataFormatError(f"cannot import {source}: not a zip archive (give a release zip, or a "
                              "folder of them or of the release's files)")
    if source.is_dir() and not any(source.glob("*.zip")) and not _has_release_files(source):
        raise DataFormatError(f"cannot import {source}: the folder holds no release zip archive and no "
                              "release file (*.json)")
    if source.is_file():
        sources = [(source, _dataset_of_archive(source.name), everything)]
    else:
        sources = [(z, _dataset_of_archive(z.name), everything) for z in sorted(source.glob("*.zip"))]
        if not sources or _has_release_files(source):
            sources.append((source, _dataset_of_archive(source.name), everything))
    report = InstallReport(dest)
    with _os_errors(dest), _locked(dest):
        _refuse_a_table_of_its_own(dest)
        _install(dest, sources, report, delete_bad=False)
        report.missing = _missing(dest, _datasets_present(dest), (Measure.ACCURACY,))
    return report


def _install(
    dest: Path,
    sources: Iterable[tuple[Path, Dataset | None, frozenset[str]]],
    report: InstallReport,
    *,
    delete_bad: bool,
) -> list[list[str]]:
    """Stage every source, then move all staged files into place (see the module docs).

    ``sources`` may be lazy (downloads): each is staged before the next is asked for.

    Returns:
        The release paths taken from each source, in the order of ``sources``.
    """
    for stale in dest.glob(f"{_STAGING_PREFIX}*"):  # a killed run's; the lock is ours
        if stale.is_dir() and not stale.is_symlink():
            remove_tree(stale)
    staging: Path | None = None
    try:
        staged: dict[str, StagedFile] = {}
        taken: list[list[str]] = []
        for number, (path, dataset, accepted) in enumerate(sources):
            if staging is None:
                staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=dest))
            folder = staging / str(number)
            ds = dataset.value if dataset else None
            try:
                if path.is_dir():
                    files = stage_folder(path, folder, accepted, ds)
                else:
                    files = extract_zip(path, folder, accepted, ds)
            except RobnasError:
                if delete_bad and path.is_file():
                    path.unlink(missing_ok=True)
                raise
            staged.update((f.relative, f) for f in files)
            taken.append(sorted(f.relative for f in files))
        if staging is None:
            return []
        if META_PATH not in staged and not (dest / META_PATH).is_file():
            raise DataFormatError("the release's meta.json is in none of the sources; nothing was installed")
        for relative in sorted(staged, key=lambda r: (r == META_PATH, r)):
            _place(dest, staged[relative], report)
        return taken
    finally:
        if staging is not None:
            remove_tree(staging)


def _refuse_a_table_of_its_own(dest: Path) -> None:
    """Raise unless ``dest`` is empty of data or a copy of the release (its ``meta.json`` is the
    release's): the release's files would replace those of a table built there, for good."""
    meta = dest / META_PATH
    if meta.is_file() and sha256_of(meta) != RELEASE_SHA256[META_PATH]:
        raise RobnasError(
            f"{dest} holds a table of its own (its meta.json is not the release's, as `robnas table "
            f"build` writes it): installing the release there would replace its files; install into "
            f"another folder (--dest), or delete {meta} first if it is a damaged copy of the release's"
        )


def _place(dest: Path, staged: StagedFile, report: InstallReport) -> None:
    """Atomically move one staged file to its place under ``dest``."""
    target = dest.joinpath(*staged.relative.split("/"))
    if target.is_file() and target.stat().st_size == staged.size and sha256_of(target) == staged.sha256:
        report.unchanged.append(staged.relative)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged.path, target)
    report.installed.append(staged.relative)
    if not staged.pinned:
        report.unpinned.append(staged.relative)


def _already_installed(
    dest: Path, archive: str, accepted: frozenset[str], kinds: Sequence[Measure], manifest: dict
) -> bool:
    """Whether ``archive``'s files are in ``dest`` and match their pins."""
    recorded = manifest.get(archive, {}).get("files")
    if archive == "meta.zip":
        names = [META_PATH]
    elif recorded is not None:
        names = recorded
    elif set(kinds) == {Measure.ACCURACY}:
        names = [p for p in accepted if p in RELEASE_SHA256 and p != META_PATH]
    else:
        return False  # unpinned measures: only the manifest can tell what a full archive held
    for relative in names:
        path = dest / relative
        expected = pinned_sha256(relative)
        if not path.is_file() or (expected is not None and sha256_of(path) != expected):
            return False
    return bool(names)


def _missing(dest: Path, datasets: Iterable[Dataset], kinds: Sequence[Measure]) -> list[str]:
    accepted = expected_files(list(datasets), [Measure.ACCURACY]) if Measure.ACCURACY in kinds else set()
    return sorted(p for p in accepted if p in RELEASE_SHA256 and not (dest / p).is_file())


def _datasets_present(dest: Path) -> list[Dataset]:
    return [d for d in Dataset if (dest / d.value).is_dir()]


def _dataset_of_archive(name: str) -> Dataset | None:
    """``cifar10-accuracies.zip`` / ``cifar10.zip`` / a ``cifar10`` folder -> cifar10; else None."""
    stem = name.removesuffix(".zip").removesuffix("-accuracies")
    return next((d for d in Dataset if d.value == stem), None)


def _has_release_files(folder: Path) -> bool:
    return any(p.suffix == ".json" for p in folder.rglob("*.json"))


def _read_manifest(dest: Path) -> dict:
    try:
        return json.loads((dest / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {}


def _write_manifest(dest: Path, manifest: dict) -> None:
    tmp = dest / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, dest / MANIFEST_NAME)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (a partial download), or already gone
        folder.rmdir()


@contextlib.contextmanager
def _os_errors(dest: Path) -> Iterator[None]:
    """Turn a file-system failure (permission, disk full, a file where a folder should be)
    into a :class:`RobnasError` naming the data folder."""
    try:
        yield
    except RobnasError:
        raise
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise RobnasError(
            f"cannot install into {dest}: {err.strerror or err}{where}"
        ) from None


class _locked:
    """Hold the data folder's lock (creating the folder), telling the user when waiting.

    A folder this created is removed again when the install fails before anything worth
    keeping is in it (only the lock and an empty download folder: a partial download stays,
    to resume), and so are the empty folders above it it created (``~/.local/share/robnas``)."""

    def __init__(self, dest: Path) -> None:
        from filelock import FileLock

        self._made: list[Path] = []  # the folders mkdir creates, dest first
        folder = dest.absolute()
        while not folder.exists() and folder != folder.parent:
            self._made.append(folder)
            folder = folder.parent
        self._created = bool(self._made)
        dest.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(dest / LOCK_NAME))
        self._dest = dest

    def __enter__(self) -> None:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            _log.warning("another robnas process is installing into %s; waiting", self._dest)
            self._lock.acquire()

    def __exit__(self, kind: object, *rest: object) -> None:
        # The folder is removed before the lock is released, never after: a run waiting for the
        # lock would otherwise take it and start filling the folder that is then removed under
        # it. A waiter that took the removed lock file's lock notices and tries again on a new
        # one (filelock >= 4), so unlinking it while held is safe.
        try:
            if kind is not None and self._created and self._nothing_to_keep():
                shutil.rmtree(self._dest, ignore_errors=True)
                for folder in self._made[1:]:
                    _remove_if_empty(folder)
        finally:
            self._lock.release()

    def _nothing_to_keep(self) -> bool:
        """Only the lock and an empty download folder are in the folder."""
        download = self._dest / DOWNLOAD_DIR
        left = {p.name for p in self._dest.iterdir()}
        return left <= {LOCK_NAME, DOWNLOAD_DIR} and not (download.is_dir() and any(download.iterdir()))
