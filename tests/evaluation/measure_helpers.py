"""Tiny networks and batches for the measure tests (independent computations live in the tests)."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from robnas.evaluation.measures import Batch
from robnas.vocabulary import Dataset


def seeded(build, seed: int = 0):
    """``build()`` with torch's default initialisation seeded, global RNG left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def mlp(sizes=(6, 5, 4), activation=nn.ReLU, bias: bool = True, seed: int = 0) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``activation`` between them."""
    def build() -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(a, b, bias=bias))
            if i < len(sizes) - 2:
                layers.append(activation())
        return nn.Sequential(*layers)
    return seeded(build, seed)


def vector_batch(n: int = 8, dim: int = 6, classes: int = 4, seed: int = 1) -> Batch:
    """Random inputs ``n x dim`` with labels in ``0..classes-1`` (CIFAR-10 as the dataset)."""
    generator = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(n, dim, generator=generator),
                 torch.randint(0, classes, (n,), generator=generator), Dataset.CIFAR10, seed)


def image_batch(n: int = 6, side: int = 32, seed: int = 2) -> Batch:
    """Random CIFAR-10-shaped images in [0, 1] with random labels."""
    generator = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, 3, side, side, generator=generator),
                 torch.randint(0, 10, (n,), generator=generator), Dataset.CIFAR10, seed)
