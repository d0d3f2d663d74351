"""The batch a measure sees: images (real or, for data-free measures, only their shape),
labels, the dataset and a seed for any randomness the measure needs.

Real batches are ``batch_size`` test images drawn without replacement by a private
``numpy.random.Generator`` seeded with ``seed`` from the test set the live backend reads
(:func:`robnas.evaluation.datasets.load_test_set`); the same seed gives the same images.

>>> batch = synthetic_batch("cifar10", batch_size=4, seed=0)
>>> tuple(batch.images.shape), batch.labels is None, batch.num_classes
((4, 3, 32, 32), True, 10)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Batch:
    """One batch of inputs for a measure.

    Attributes:
        images: ``N x 3 x H x W`` in ``[0, 1]`` (zeros for a data-free batch: shape only).
        labels: ``N`` class indices, or ``None`` for a data-free batch.
        dataset: the dataset the images come from.
        seed: seeds :meth:`generator` (the measure's own randomness) and the image draw.
        real: ``True`` when the images are test images.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    dataset: Dataset
    seed: int = 0
    real: bool = True

    @property
    def num_classes(self) -> int:
        """Classes of the dataset."""
        from robnas.evaluation.network import NUM_CLASSES

        return NUM_CLASSES[self.dataset]

    def generator(self) -> torch.Generator:
        """A fresh torch generator on the images' device, seeded with :attr:`seed`."""
        import torch

        return torch.Generator(device=self.images.device).manual_seed(int(self.seed))

    def to(self, device: str | torch.device) -> Batch:
        """This batch on ``device``."""
        labels = None if self.labels is None else self.labels.to(device)
        return replace(self, images=self.images.to(device), labels=labels)


def synthetic_batch(dataset: str | Dataset, batch_size: int = 64, seed: int = 0) -> Batch:
    """A data-free batch: zero images of the dataset's shape, no labels."""
    import torch

    from robnas.evaluation.network import IMAGE_SIZE

    ds = parse_dataset(dataset)
    side = IMAGE_SIZE[ds]
    return Batch(torch.zeros(batch_size, 3, side, side), None, ds, seed, real=False)


def load_batch(dataset: str | Dataset, images: str | os.PathLike[str], batch_size: int = 64,
               seed: int = 0) -> Batch:
    """``batch_size`` test images of ``dataset`` under ``images``, drawn with ``seed``.

    Raises:
        DataNotFoundError: the test set is not under ``images``.
        RobnasError: the test set has fewer images than ``batch_size``.
    """
    import numpy as np

    from robnas.errors import RobnasError
    from robnas.evaluation.datasets import load_test_set

    ds = parse_dataset(dataset)
    test = load_test_set(ds, images)
    total = int(test.images.shape[0])
    if batch_size > total:
        raise RobnasError(f"--batch-size {batch_size} exceeds the {total} test images of {ds.value}")
    rows = np.sort(np.random.default_rng(seed).choice(total, size=batch_size, replace=False))
    return Batch(test.images[rows].clone(), test.labels[rows].clone(), ds, seed, real=True)
