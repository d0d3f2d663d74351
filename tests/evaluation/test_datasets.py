"""load_test_set against files written in the datasets' distributed formats."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from robnas.errors import DataFormatError, DataNotFoundError, RobnasError  # noqa: E402
from robnas.evaluation.datasets import TestSet, images_identity, load_test_set  # noqa: E402
from robnas.evaluation.safe_pickle import UnsafePickleError, load_restricted, numpy_globals  # noqa: E402
from robnas.vocabulary import Corruption, Dataset  # noqa: E402
from tests.evaluation.dataset_fixtures import (  # noqa: E402
    write_cifar10,
    write_cifar100,
    write_cifar_c,
    write_imagenet16,
)


def _expected(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255)


def _check(test_set: TestSet, n: int, side: int) -> None:
    assert isinstance(test_set, TestSet)
    assert test_set.images.shape == (n, 3, side, side)
    assert test_set.images.dtype == torch.float32
    assert test_set.labels.shape == (n,)
    assert test_set.labels.dtype == torch.int64
    assert float(test_set.images.min()) >= 0.0 and float(test_set.images.max()) <= 1.0


def test_cifar10(tmp_path: Path) -> None:
    images, labels = write_cifar10(tmp_path, n=12)
    test_set = load_test_set("cifar10", tmp_path)
    _check(test_set, 12, 32)
    assert torch.equal(test_set.images, _expected(images))
    assert test_set.labels.tolist() == labels.tolist()
    # pixel order: channel-major rows of the 3072 bytes -> (3, 32, 32)
    assert (test_set.images[0, :, 0, 0] * 255).round().tolist() == [0.0, 255.0, 128.0]
    # root may also be the layout's own folder
    again = load_test_set(Dataset.CIFAR10, tmp_path / "cifar-10-batches-py")
    assert torch.equal(again.images, test_set.images)


def test_cifar_pickles_are_python2_style(tmp_path: Path) -> None:
    """The fixture writes what the originals hold: py2 byte-string keys and numpy 1 globals."""
    write_cifar10(tmp_path, n=3)
    raw = (tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes()
    assert raw[:2] == b"\x80\x02"  # protocol 2
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw
    assert b"U\x04data" in raw  # SHORT_BINSTRING 'data', a Python 2 str


def test_cifar100_uses_fine_labels(tmp_path: Path) -> None:
    images, labels = write_cifar100(tmp_path, n=15)
    test_set = load_test_set("CIFAR-100", tmp_path)
    _check(test_set, 15, 32)
    assert torch.equal(test_set.images, _expected(images))
    assert test_set.labels.tolist() == labels.tolist()
    assert max(labels) >= 10  # fine labels, not the 20 coarse ones


def test_imagenet16_keeps_120_classes(tmp_path: Path) -> None:
    images, labels = write_imagenet16(tmp_path, n=50)
    keep = (labels >= 1) & (labels <= 120)
    test_set = load_test_set("ImageNet16-120", tmp_path)
    _check(test_set, int(keep.sum()), 16)
    assert torch.equal(test_set.images, _expected(images[keep]))
    assert test_set.labels.tolist() == (labels[keep] - 1).tolist()
    assert test_set.labels.min() >= 0 and test_set.labels.max() <= 119
    assert test_set.labels[:2].tolist() == [0, 119]  # labels 1 and 120; 121 dropped


@pytest.mark.parametrize("severity", [1, 3, 5])
def test_cifar_c_severity_slices(tmp_path: Path, severity: int) -> None:
    images, labels = write_cifar_c(tmp_path, "gaussian_noise", n_per_severity=4)
    test_set = load_test_set("cifar10", tmp_path, corruption="gaussian_noise", severity=severity)
    _check(test_set, 4, 32)
    block = slice((severity - 1) * 4, severity * 4)
    assert torch.equal(test_set.images, _expected(images[block]))
    assert test_set.labels.tolist() == labels[block].tolist()


def test_cifar100_c_and_enum_corruption(tmp_path: Path) -> None:
    images, labels = write_cifar_c(tmp_path, "fog", n_per_severity=3, dataset="cifar100")
    test_set = load_test_set("cifar100", tmp_path, corruption=Corruption.FOG, severity=2, limit=2)
    _check(test_set, 2, 32)
    assert torch.equal(test_set.images, _expected(images[3:5]))
    assert test_set.labels.tolist() == labels[3:5].tolist()


def test_limit_takes_the_first_images(tmp_path: Path) -> None:
    images, labels = write_cifar10(tmp_path, n=12)
    first = load_test_set("cifar10", tmp_path, limit=5)
    _check(first, 5, 32)
    assert torch.equal(first.images, _expected(images[:5]))
    assert first.labels.tolist() == labels[:5].tolist()
    assert len(load_test_set("cifar10", tmp_path, limit=100).labels) == 12
    assert len(load_test_set("cifar10", tmp_path, limit=0).labels) == 0


def test_missing_files_name_the_path_and_the_source(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"cifar-10-batches-py/test_batch is missing.*cifar-10-python\.tar\.gz"):
        load_test_set("cifar10", tmp_path)
    with pytest.raises(DataNotFoundError, match=r"cifar-100-python/test is missing"):
        load_test_set("cifar100", tmp_path)
    with pytest.raises(DataNotFoundError, match=r"ImageNet16/val_data is missing"):
        load_test_set("ImageNet16-120", tmp_path)
    with pytest.raises(DataNotFoundError, match=r"CIFAR-10-C/snow\.npy is missing.*zenodo"):
        load_test_set("cifar10", tmp_path, corruption="snow", severity=1)
    write_cifar_c(tmp_path, "snow", 2)
    (tmp_path / "CIFAR-10-C" / "labels.npy").unlink()
    with pytest.raises(DataNotFoundError, match=r"CIFAR-10-C/labels\.npy is missing"):
        load_test_set("cifar10", tmp_path, corruption="snow", severity=1)


def test_invalid_arguments(tmp_path: Path) -> None:
    write_cifar_c(tmp_path, "snow", 2)
    with pytest.raises(RobnasError, match=r"severity in 1\.\.5"):
        load_test_set("cifar10", tmp_path, corruption="snow")
    with pytest.raises(RobnasError, match=r"severity in 1\.\.5"):
        load_test_set("cifar10", tmp_path, corruption="snow", severity=6)
    with pytest.raises(RobnasError, match="needs a corruption"):
        load_test_set("cifar10", tmp_path, severity=2)
    with pytest.raises(RobnasError, match="unknown corruption 'rain'; choose one of: gaussian_noise"):
        load_test_set("cifar10", tmp_path, corruption="rain", severity=2)
    with pytest.raises(RobnasError, match="no corrupted test set for ImageNet16-120"):
        load_test_set("ImageNet16-120", tmp_path, corruption="snow", severity=2)
    with pytest.raises(RobnasError, match="limit"):
        load_test_set("cifar10", tmp_path, corruption="snow", severity=2, limit=-1)


def test_malformed_files(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with (folder / "test_batch").open("wb") as handle:
        pickle.dump({"data": np.zeros((4, 100), np.uint8), "labels": [0, 1, 2, 3]}, handle)
    with pytest.raises(DataFormatError, match="N x 3072 uint8"):
        load_test_set("cifar10", tmp_path)
    with (folder / "test_batch").open("wb") as handle:
        pickle.dump({"data": np.zeros((4, 3072), np.uint8)}, handle)
    with pytest.raises(DataFormatError, match="no 'labels' entry"):
        load_test_set("cifar10", tmp_path)
    corrupted = tmp_path / "CIFAR-10-C"
    corrupted.mkdir()
    np.save(corrupted / "snow.npy", np.zeros((7, 32, 32, 3), np.uint8))
    np.save(corrupted / "labels.npy", np.zeros(7, np.uint8))
    with pytest.raises(DataFormatError, match="5 severities"):
        load_test_set("cifar10", tmp_path, corruption="snow", severity=1)
    np.save(corrupted / "snow.npy", np.array([{"a": 1}] * 5, dtype=object))
    with pytest.raises(DataFormatError, match=r"not a readable \.npy"):
        load_test_set("cifar10", tmp_path, corruption="snow", severity=1)


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_test_batch_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with (folder / "test_batch").open("wb") as handle:
        pickle.dump({"data": _Exploit(marker), "labels": []}, handle, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"system"):
        load_test_set("cifar10", tmp_path)
    assert not marker.exists()


def test_numpy_pickles_of_every_protocol_load() -> None:
    array = np.arange(24, dtype=np.uint8).reshape(4, 6)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        raw = pickle.dumps({"a": array, "s": np.int64(7)}, protocol=protocol)
        loaded = load_restricted(io.BytesIO(raw), numpy_globals(), source="t")
        assert np.array_equal(loaded["a"], array) and loaded["s"] == 7


def test_images_identity_names_the_files_by_their_content(tmp_path: Path) -> None:
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        write_cifar10(tmp_path / name, n=5, seed=seed)
    first = images_identity("cifar10", tmp_path / "a")
    assert len(first) == 16 and images_identity("cifar10", tmp_path / "b") == first  # equal files
    assert images_identity(Dataset.CIFAR10, tmp_path / "a" / "cifar-10-batches-py") == first
    assert images_identity("cifar10", tmp_path / "c") != first
    write_cifar10(tmp_path / "c", n=5, seed=0)  # rewritten at once: hashed again, not remembered
    assert images_identity("cifar10", tmp_path / "c") == first
    # a corrupted set: its images and its labels
    write_cifar_c(tmp_path / "a", "fog", n_per_severity=2)
    fog = images_identity("cifar10", tmp_path / "a", corruption="fog")
    assert fog not in (first, images_identity("cifar10", tmp_path / "b"))
    labels = tmp_path / "a" / "CIFAR-10-C" / "labels.npy"
    np.save(labels, (np.load(labels) + 1) % 10)
    assert images_identity("cifar10", tmp_path / "a", corruption="fog") != fog
    with pytest.raises(DataNotFoundError, match="cifar100 test set not found"):
        images_identity("cifar100", tmp_path / "a")
    with pytest.raises(DataNotFoundError, match="cifar10 fog images not found"):
        images_identity("cifar10", tmp_path / "b", corruption="fog")
