"""Safe extraction: zip-slip, links, devices, layouts, and verification against the pins."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from robnas.benchmark.archive import (
    ChecksumMismatchError,
    UnsafeArchiveError,
    extract_zip,
    stage_folder,
)
from robnas.benchmark.cache import sha256_of
from robnas.benchmark.checksums import RELEASE_SHA256, expected_files
from robnas.errors import DataFormatError
from tests.benchmark.release_server import release_entries, write_zip

CIFAR10 = expected_files(["cifar10"], ["accuracy"])


def _clean(release_root: Path) -> bytes:
    return (release_root / "cifar10" / "clean_accuracy.json").read_bytes()


@pytest.mark.parametrize(
    "prefix", ["", "robustness-data/", "./"], ids=["root", "top-folder", "dot-slash"]
)
def test_layouts_are_found_and_files_verified(release_root: Path, tmp_path: Path, prefix: str) -> None:
    entries = release_entries(release_root, "cifar10", ["clean", "pgd@Linf"], prefix)
    archive = write_zip(tmp_path / "c.zip", [*entries, (prefix + "README.txt", b"hi")])
    staged = extract_zip(archive, tmp_path / "stage", CIFAR10, "cifar10")
    assert sorted(f.relative for f in staged) == ["cifar10/clean_accuracy.json", "cifar10/pgd@Linf_accuracy.json"]
    for f in staged:
        assert f.pinned and sha256_of(f.path) == RELEASE_SHA256[f.relative]
    assert not (tmp_path / "stage" / "README.txt").exists()


def test_a_top_folder_beside_macos_bookkeeping_and_a_readme(release_root: Path, tmp_path: Path, caplog) -> None:
    # macOS' "Compress" adds __MACOSX/<top>/... beside the top folder, and a hand-made archive
    # may hold a README beside it: the top folder was no longer the single one, so the archive
    # "held none of the expected release files"
    entries = release_entries(release_root, "cifar10", ["clean", "pgd@Linf"], "robustness-data/")
    archive = write_zip(tmp_path / "c.zip", [
        ("meta.json", (release_root / "meta.json").read_bytes()),
        *entries,
        *((f"__MACOSX/robustness-data/cifar10/._{n.rsplit('/', 1)[1]}", b"\0\5") for n, _ in entries),
        ("robustness-data/.DS_Store", b"\0"),
        ("README.txt", b"hi"),
    ])
    staged = extract_zip(archive, tmp_path / "stage", CIFAR10, "cifar10")
    assert sorted(f.relative for f in staged) == [
        "cifar10/clean_accuracy.json", "cifar10/pgd@Linf_accuracy.json", "meta.json"]
    skipped = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert skipped == ["c.zip: skipping unexpected entry 'README.txt'"]  # the OS's own: silently


def test_bare_files_of_a_dataset_archive(release_root: Path, tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "ImageNet16-120.zip", [
        ("clean_accuracy.json", (release_root / "ImageNet16-120" / "clean_accuracy.json").read_bytes()),
    ])
    staged = extract_zip(archive, tmp_path / "s", expected_files(["ImageNet16-120"], ["accuracy"]),
                         "ImageNet16-120")
    assert [f.relative for f in staged] == ["ImageNet16-120/clean_accuracy.json"]


def test_hash_mismatch_names_the_file(release_root: Path, tmp_path: Path) -> None:
    bad = _clean(release_root).replace(b"0.893", b"0.894", 1)
    archive = write_zip(tmp_path / "cifar10-accuracies.zip", [("cifar10/clean_accuracy.json", bad)])
    with pytest.raises(ChecksumMismatchError) as caught:
        extract_zip(archive, tmp_path / "s", CIFAR10, "cifar10")
    message = str(caught.value)
    assert message.startswith("cifar10/clean_accuracy.json from cifar10-accuracies.zip does not match")
    assert RELEASE_SHA256["cifar10/clean_accuracy.json"][:16] in message
    assert not (tmp_path / "s" / "cifar10" / "clean_accuracy.json").exists()


@pytest.mark.parametrize(
    "name",
    ["../evil.json", "cifar10/../../evil.json", "/tmp/evil.json", "C:/evil.json", "..\\evil.json"],
)
def test_zip_slip_rejects_the_whole_archive(release_root: Path, tmp_path: Path, name: str) -> None:
    archive = write_zip(tmp_path / "a.zip", [("cifar10/clean_accuracy.json", _clean(release_root)),
                                             (name, b"{}")])
    stage = tmp_path / "deep" / "stage"
    with pytest.raises(UnsafeArchiveError, match=r"refusing a\.zip: entry .* escapes the destination"):
        extract_zip(archive, stage, CIFAR10, "cifar10")
    assert not stage.exists()  # checked before anything is written
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.zip"]


def _special_entry(archive: Path, name: str, mode: int, data: bytes) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix, so external_attr carries the file type
    info.external_attr = mode << 16
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(info, data)


@pytest.mark.parametrize(
    ("mode", "what"),
    [(stat.S_IFLNK | 0o777, "is a symbolic link"), (stat.S_IFCHR | 0o666, "device or special file"),
     (stat.S_IFIFO | 0o644, "device or special file")],
)
def test_links_and_devices_are_refused(release_root: Path, tmp_path: Path, mode: int, what: str) -> None:
    archive = write_zip(tmp_path / "a.zip", [])
    # A symlink named like a release file, pointing outside: extracting it naively would let a
    # later entry write through it.
    _special_entry(archive, "cifar10/clean_accuracy.json", mode, b"/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match=what):
        extract_zip(archive, tmp_path / "s", CIFAR10, "cifar10")
    assert not (tmp_path / "s").exists()


def test_duplicate_entries_are_refused(release_root: Path, tmp_path: Path) -> None:
    clean = _clean(release_root)
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("cifar10/clean_accuracy.json", clean)
        zf.writestr("cifar10/clean_accuracy.json", b"{}")
    with pytest.raises(UnsafeArchiveError, match="same release file twice"):
        extract_zip(archive, tmp_path / "s", CIFAR10, "cifar10")


def test_not_a_zip_and_nothing_expected(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataFormatError, match=r"junk\.zip is not a readable zip archive"):
        extract_zip(junk, tmp_path / "s", CIFAR10)
    other = write_zip(tmp_path / "other.zip", [("notes/readme.md", b"x")])
    with pytest.raises(DataFormatError, match="none of the expected release files"):
        extract_zip(other, tmp_path / "s", CIFAR10)


def test_folder_staging_copies_only_expected_files(release_root: Path, tmp_path: Path) -> None:
    staged = stage_folder(release_root, tmp_path / "s", expected_files())
    names = {f.relative for f in staged}
    assert "meta.json" in names and "cifar10/clean_cm.json" in names
    assert "README.md" not in names and "SHA256SUMS" not in names
    assert all(f.pinned for f in staged)
    assert len(names) == 1 + 21 + 5  # meta, cifar10 (20 accuracy + clean_cm), ImageNet16-120
