"""Write small test sets in the layouts the datasets are distributed in, with random images.

* CIFAR-10 / CIFAR-100: ``cifar-10-batches-py/test_batch`` / ``cifar-100-python/test``, written
  as the originals were: Python 2 ``cPickle`` protocol 2, byte-string keys and pixels
  (``SHORT_BINSTRING``/``BINSTRING`` opcodes, which Python 3 reads back as ``str`` with
  ``encoding="latin1"``), and numpy's ``numpy.core.multiarray._reconstruct`` global.
* ImageNet16: ``ImageNet16/val_data``, a Python 3 pickle (protocol 4) of ``{"data": N x 768
  uint8, "labels": [1..1000], "mean": ...}``.
* CIFAR-10-C / CIFAR-100-C: ``<corruption>.npy`` (5 * n x 32 x 32 x 3 uint8, severity-major) and
  ``labels.npy`` (uint8).

Each writer returns what it wrote (images channels-first ``N x 3 x H x W`` uint8, labels), so
tests can compare.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

_NUMPY_GLOBALS = {
    id(np.ndarray): b"numpy\nndarray\n",
    id(np.dtype): b"numpy\ndtype\n",
}


class _Py2Pickler(pickle._Pickler):  # the pure-Python pickler lets us choose opcodes
    """Pickles ``bytes`` as Python 2 ``str`` and numpy globals under numpy 1's module names."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj: object, name: str | None = None) -> None:
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
        elif id(obj) in _NUMPY_GLOBALS:
            self.write(pickle.GLOBAL + _NUMPY_GLOBALS[id(obj)])
        else:
            raise pickle.PicklingError(f"unexpected global {obj!r} in a CIFAR fixture")
        self.memoize(obj)


def _py2_dump(obj: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        _Py2Pickler(handle, protocol=2).dump(obj)


def _random(n: int, side: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3, side, side), dtype=np.uint8)
    labels = rng.integers(0, classes, size=n)
    images[0, :, 0, 0] = (0, 255, 128)  # the extremes are always present
    return images, labels


def write_cifar10(root: Path, n: int = 20, seed: int = 0,
                  labels: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Write ``root/cifar-10-batches-py/test_batch`` with ``n`` random images (labels 0..9:
    random, or the ``n`` given)."""
    images, drawn = _random(n, 32, 10, seed)
    labels = drawn if labels is None else np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"write_cifar10 needs {n} labels, got {labels.shape}")
    _py2_dump(
        {
            b"batch_label": b"testing batch 1 of 1",
            b"labels": [int(x) for x in labels],
            b"data": images.reshape(n, 3072),
            b"filenames": [f"image_{i:05d}.png".encode() for i in range(n)],
        },
        Path(root) / "cifar-10-batches-py" / "test_batch",
    )
    return images, labels


def write_cifar100(root: Path, n: int = 20, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Write ``root/cifar-100-python/test`` with ``n`` random images (fine labels 0..99)."""
    images, labels = _random(n, 32, 100, seed)
    _py2_dump(
        {
            b"filenames": [f"image_{i:05d}.png".encode() for i in range(n)],
            b"batch_label": b"testing batch 1 of 1",
            b"fine_labels": [int(x) for x in labels],
            b"coarse_labels": [int(x) // 5 for x in labels],
            b"data": images.reshape(n, 3072),
        },
        Path(root) / "cifar-100-python" / "test",
    )
    return images, labels


def write_imagenet16(root: Path, n: int = 40, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Write ``root/ImageNet16/val_data``: ``n`` images with labels 1..1000.

    About half the labels are in 1..120 (always including 1 and 120), the rest above 120.
    Returns all images and their 1-based labels as written.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3, 16, 16), dtype=np.uint8)
    labels = np.where(rng.random(n) < 0.5, rng.integers(1, 121, size=n), rng.integers(121, 1001, size=n))
    labels[:3] = (1, 120, 121)
    path = Path(root) / "ImageNet16" / "val_data"
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"data": images.reshape(n, 768), "labels": [int(x) for x in labels], "mean": images.mean(axis=0)}
    with path.open("wb") as handle:
        pickle.dump(entry, handle, protocol=4)
    return images, labels


def write_cifar_c(
    root: Path, corruption: str, n_per_severity: int = 6, dataset: str = "cifar10", seed: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Write ``CIFAR-10-C/<corruption>.npy`` (or ``CIFAR-100-C``) and ``labels.npy``.

    Returns all ``5 * n_per_severity`` images (channels first) and labels, severity-major.
    """
    classes, folder = (10, "CIFAR-10-C") if dataset == "cifar10" else (100, "CIFAR-100-C")
    n = 5 * n_per_severity
    rng = np.random.default_rng(seed)
    images_hwc = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, classes, size=n).astype(np.uint8)
    directory = Path(root) / folder
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / f"{corruption}.npy", images_hwc)
    np.save(directory / "labels.npy", labels)
    return images_hwc.transpose(0, 3, 1, 2), labels
