"""Test images from the files users already have on disk.

``root`` is a folder the user points at; robnas looks for the layout each dataset is
distributed in (``root`` may also be that layout's own folder, e.g. ``.../cifar-10-batches-py``):

* CIFAR-10, as the Python version from https://www.cs.toronto.edu/~kriz/cifar.html unpacks
  (and as ``torchvision.datasets.CIFAR10`` stores it): ``cifar-10-batches-py/test_batch``, a
  (Python 2) pickled dict with ``data`` (10,000 x 3,072 uint8, channel-major: 1,024 red, 1,024
  green, 1,024 blue values per image) and ``labels`` (0..9).
* CIFAR-100: ``cifar-100-python/test``, the same with ``fine_labels`` (0..99).
* ImageNet16-120, as NAS-Bench-201 distributes it (the 16x16 downsampled ImageNet of
  Chrabaszcz et al., 2017): ``ImageNet16/val_data``, a pickled dict with ``data`` (N x 768
  uint8, channel-major 3 x 16 x 16) and ``labels`` (1..1000). As in NB201 (xautodl's
  ``ImageNet16`` with ``use_num_of_class_only=120``), only labels 1..120 are kept, mapped to
  0..119: the 6,000 validation images of those classes, i.e. NB201's ``ori-test`` set (its
  ``x-valid`` and ``x-test`` halves together).
* CIFAR-10-C / CIFAR-100-C (Hendrycks & Dietterich, 2019; https://zenodo.org/record/2535967 and
  https://zenodo.org/record/3555552): ``CIFAR-10-C/<corruption>.npy`` (50,000 x 32 x 32 x 3
  uint8: severities 1..5 in order, 10,000 test images each) and ``CIFAR-10-C/labels.npy``;
  ``CIFAR-100-C/`` likewise.

Pickles are read with a restricted unpickler that allows only numpy's array reconstruction
(:mod:`robnas.evaluation.safe_pickle`); ``.npy`` files are read with ``allow_pickle=False``.

:func:`images_identity` names the files a test set is read from by their content (SHA-256),
so the caches of live results and measures can tell one test set from another.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from robnas.errors import DataFormatError, DataNotFoundError, RobnasError
from robnas.evaluation.safe_pickle import load_restricted, numpy_globals
from robnas.vocabulary import SEVERITIES, Corruption, Dataset, parse_dataset

if TYPE_CHECKING:
    import torch

IMAGENET16_CLASSES = 120

_PICKLED = {
    # dataset: (folder, file, label key, side, where to get it)
    Dataset.CIFAR10: (
        "cifar-10-batches-py",
        "test_batch",
        "labels",
        32,
        "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and extract it there "
        "(or run torchvision.datasets.CIFAR10(root, download=True))",
    ),
    Dataset.CIFAR100: (
        "cifar-100-python",
        "test",
        "fine_labels",
        32,
        "download https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz and extract it there "
        "(or run torchvision.datasets.CIFAR100(root, download=True))",
    ),
    Dataset.IMAGENET16_120: (
        "ImageNet16",
        "val_data",
        "labels",
        16,
        "get NAS-Bench-201's ImageNet16 folder (the 16x16 downsampled ImageNet, "
        "https://github.com/D-X-Y/NAS-Bench-201) and extract it there",
    ),
}

_CORRUPTED = {
    Dataset.CIFAR10: (
        "CIFAR-10-C",
        "download CIFAR-10-C.tar from https://zenodo.org/record/2535967 and extract it there",
    ),
    Dataset.CIFAR100: (
        "CIFAR-100-C",
        "download CIFAR-100-C.tar from https://zenodo.org/record/3555552 and extract it there",
    ),
}


class TestSet(NamedTuple):
    """Test images and labels.

    Attributes:
        images: float32 tensor ``N x 3 x H x W`` with values in ``[0, 1]``.
        labels: int64 tensor ``N`` of class indices.
    """

    __test__ = False  # not a pytest test class

    images: torch.Tensor
    labels: torch.Tensor


def load_test_set(
    dataset: str | Dataset,
    root: str | Path,
    *,
    corruption: str | Corruption | None = None,
    severity: int | None = None,
    limit: int | None = None,
) -> TestSet:
    """The test images of ``dataset`` (optionally corrupted) found under ``root``.

    Args:
        dataset: ``cifar10``, ``cifar100`` or ``ImageNet16-120``.
        root: the folder holding the dataset's distributed layout (see the module docs).
        corruption: a CIFAR-C corruption name; needs ``severity``.
        severity: 1..5, the corruption's severity.
        limit: keep only the first ``limit`` images (in file order: deterministic).

    Raises:
        DataNotFoundError: the expected file is missing (the message names it and says how to
            get it).
        DataFormatError: the file exists but is not in the expected format.
        RobnasError: an invalid combination of arguments.
    """
    import torch

    ds = parse_dataset(dataset)
    if limit is not None and (isinstance(limit, bool) or int(limit) < 0):
        raise RobnasError(f"limit must be a non-negative number of images, got {limit!r}")
    if corruption is None:
        if severity is not None:
            raise RobnasError("a severity needs a corruption")
        images, labels = _read_pickled(ds, Path(root))
    else:
        images, labels = _read_corrupted(ds, Path(root), _parse_corruption(corruption), severity, limit)
    if limit is not None:
        images, labels = images[: int(limit)], labels[: int(limit)]
    tensor = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255.0)
    return TestSet(tensor, torch.from_numpy(np.asarray(labels, dtype=np.int64)))


def _parse_corruption(corruption: str | Corruption) -> Corruption:
    try:
        return Corruption(str(corruption).strip().lower())
    except ValueError:
        choices = ", ".join(c.value for c in Corruption)
        raise RobnasError(f"unknown corruption {corruption!r}; choose one of: {choices}") from None


def _locate(root: Path, folder: str, name: str) -> Path:
    """``root/folder/name``, or ``root/name`` when ``root`` is that folder itself."""
    nested = root / folder / name
    if not nested.is_file() and root.name == folder and (root / name).is_file():
        return root / name
    return nested


def _pickled_path(ds: Dataset, root: Path) -> Path:
    """The pickled test set of ``ds`` under ``root`` (raises when it is missing)."""
    folder, name, _, _, hint = _PICKLED[ds]
    path = _locate(root, folder, name)
    if not path.is_file():
        raise DataNotFoundError(f"{ds.value} test set not found: {path} is missing; {hint}")
    return path


def _corrupted_paths(ds: Dataset, root: Path, corruption: Corruption) -> tuple[Path, Path]:
    """The images and labels ``.npy`` files of ``corruption`` (raises when one is missing)."""
    if ds not in _CORRUPTED:
        raise RobnasError(f"no corrupted test set for {ds.value}; corruptions exist for CIFAR-10 and CIFAR-100")
    folder, hint = _CORRUPTED[ds]
    image_path = _locate(root, folder, f"{corruption.value}.npy")
    label_path = _locate(root, folder, "labels.npy")
    for path in (image_path, label_path):
        if not path.is_file():
            raise DataNotFoundError(f"{ds.value} {corruption.value} images not found: {path} is missing; {hint}")
    return image_path, label_path


def image_files(dataset: str | Dataset, root: str | Path, *,
                corruption: str | Corruption | None = None) -> tuple[Path, ...]:
    """The files :func:`load_test_set` reads for ``dataset`` (optionally ``corruption``) under
    ``root``: the pickled test set, or a corruption's images and labels ``.npy`` files.

    Raises:
        DataNotFoundError: a file is missing (the message says how to get it).
        RobnasError: an unknown corruption, or one of ImageNet16-120.
    """
    ds = parse_dataset(dataset)
    if corruption is None:
        return (_pickled_path(ds, Path(root)),)
    return _corrupted_paths(ds, Path(root), _parse_corruption(corruption))


_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}
"""File SHA-256 by (path, inode, size, mtime, ctime): each file is hashed once per process."""
_SETTLED_NS = 2_000_000_000
"""A file changed less than this long ago is hashed again on every request (its times may not
yet tell a rewrite within the file system's timestamp granularity from the file hashed)."""


def _file_digest(path: Path) -> str:
    status = path.stat()
    mark = (str(path.resolve()), status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
    if mark in _DIGESTS:
        return _DIGESTS[mark]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if time.time_ns() - max(status.st_mtime_ns, status.st_ctime_ns) > _SETTLED_NS:
        _DIGESTS[mark] = digest.hexdigest()
    return digest.hexdigest()


def images_identity(dataset: str | Dataset, root: str | os.PathLike[str], *,
                    corruption: str | Corruption | None = None) -> str:
    """What identifies the test set read for ``dataset`` (optionally ``corruption``) under
    ``root``: a SHA-256 (16 hex) over the SHA-256 of each file :func:`image_files` names.

    Equal files give equal identities wherever they lie; any change to a file gives another.
    Each file is hashed once per process (again when its size or modification time changes),
    so asking again costs a ``stat``. The results store and the measures store key their
    values by it.

    Raises:
        DataNotFoundError: a file is missing.
    """
    files = image_files(dataset, Path(root), corruption=corruption)
    try:
        digests = [_file_digest(path) for path in files]
    except OSError as err:
        raise DataNotFoundError(f"cannot read the test set {files[0]}: {err.strerror or err}") from None
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


def _read_pickled(ds: Dataset, root: Path) -> tuple[np.ndarray, np.ndarray]:
    _, _, label_key, side, _ = _PICKLED[ds]
    path = _pickled_path(ds, root)
    with path.open("rb") as handle:
        # latin1: these pickles were written by Python 2, whose byte strings hold the pixels
        entry = load_restricted(handle, numpy_globals(), source=str(path), encoding="latin1")
    if not isinstance(entry, dict):
        raise DataFormatError(f"{path}: expected a pickled dict, got {type(entry).__name__}")
    data, labels = _field(entry, "data", path), _field(entry, label_key, path)
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * side * side:
        raise DataFormatError(f"{path}: 'data' should be N x {3 * side * side} uint8, got {data.shape} {data.dtype}")
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(f"{path}: {label_key!r} should hold {data.shape[0]} integers, got {labels.shape}")
    images = data.reshape(-1, 3, side, side)
    if ds is Dataset.IMAGENET16_120:
        keep = (labels >= 1) & (labels <= IMAGENET16_CLASSES)
        images, labels = images[keep], labels[keep] - 1
    return images, labels


def _field(entry: dict[Any, Any], key: str, path: Path) -> Any:
    for candidate in (key, key.encode()):
        if candidate in entry:
            return entry[candidate]
    raise DataFormatError(f"{path}: no {key!r} entry (keys: {', '.join(map(repr, entry))})")


def _read_corrupted(
    ds: Dataset, root: Path, corruption: Corruption, severity: int | None, limit: int | None
) -> tuple[np.ndarray, np.ndarray]:
    if ds not in _CORRUPTED:
        raise RobnasError(f"no corrupted test set for {ds.value}; corruptions exist for CIFAR-10 and CIFAR-100")
    if severity is None or isinstance(severity, bool) or int(severity) not in SEVERITIES:
        raise RobnasError(f"a corruption needs a severity in 1..5, got {severity!r}")
    image_path, label_path = _corrupted_paths(ds, root, corruption)
    images = _load_npy(image_path)
    labels = _load_npy(label_path)
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or images.dtype != np.uint8:
        raise DataFormatError(f"{image_path}: expected N x 32 x 32 x 3 uint8, got {images.shape} {images.dtype}")
    if images.shape[0] % len(SEVERITIES):
        raise DataFormatError(f"{image_path}: {images.shape[0]} images do not split into 5 severities")
    if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(f"{label_path}: expected {images.shape[0]} integer labels, got {labels.shape}")
    per = images.shape[0] // len(SEVERITIES)
    start = (int(severity) - 1) * per
    stop = start + (per if limit is None else min(per, int(limit)))
    # read only the slice asked for from the memory-mapped file, channels first
    return images[start:stop].transpose(0, 3, 1, 2), np.array(labels[start:stop])


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataFormatError(f"{path}: not a readable .npy array ({exc})") from exc
