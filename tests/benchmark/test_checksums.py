"""The pinned SHA-256 table: it is the release's SHA256SUMS, and the real files match it."""

from __future__ import annotations

from pathlib import Path

from robnas.benchmark.cache import sha256_of
from robnas.benchmark.checksums import (
    RELEASE_SHA256,
    expected_files,
    matches_pin,
    pinned_sha256,
    sha256sums_text,
)


def test_pins_are_the_release_sha256sums(release_root: Path) -> None:
    published = {line for line in (release_root / "SHA256SUMS").read_text().splitlines() if line}
    assert set(sha256sums_text().splitlines()) == published
    assert len(RELEASE_SHA256) == 47


def test_every_released_file_here_matches_its_pin(release_root: Path) -> None:
    present = [p for p in RELEASE_SHA256 if (release_root / p).is_file()]
    assert len(present) == 27  # meta + cifar10 (20 + clean_cm) + ImageNet16-120 (5)
    for relative in present:
        assert matches_pin(release_root / relative, relative), relative
    assert matches_pin(release_root / "README.md", "README.md") is None


def test_pins_cover_every_accuracy_file_of_the_three_datasets() -> None:
    accuracy = [p for p in RELEASE_SHA256 if p.endswith("_accuracy.json")]
    assert sum(p.startswith("cifar10/") for p in accuracy) == 20
    assert sum(p.startswith("cifar100/") for p in accuracy) == 20
    assert sum(p.startswith("ImageNet16-120/") for p in accuracy) == 5
    assert pinned_sha256("./meta.json") == RELEASE_SHA256["meta.json"]
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in RELEASE_SHA256.values())


def test_expected_files_by_measure() -> None:
    accuracy = expected_files(["ImageNet16-120"], ["accuracy"])
    assert "ImageNet16-120/fog_accuracy.json" not in accuracy  # not in the release
    assert "cifar10/clean_cm.json" not in expected_files(["cifar10"], ["accuracy"])
    full = expected_files(["cifar10"], None)
    assert {"cifar10/clean_cm.json", "cifar10/pgd@Linf_confidence.json", "meta.json"} <= full
    assert not any(p.startswith("cifar100/") for p in full)


def test_sha256_of_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "f").write_bytes(b"robnas")
    assert sha256_of(tmp_path / "f") == hashlib.sha256(b"robnas").hexdigest()
