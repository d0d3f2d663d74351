"""Small networks and images for the live-evaluation tests (CPU, small shapes)."""

from __future__ import annotations

import torch

from robnas.arch import Arch
from robnas.evaluation.attacks import AttackProtocol
from robnas.evaluation.network import NB201Network, build_network

CELL = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
FAST = AttackProtocol(pgd_steps=5, apgd_steps=5, square_queries=10)
"""A cheap protocol for tests (few steps and queries)."""


def small_net(seed: int = 0, arch: str = CELL) -> NB201Network:
    """A randomly initialised NB201 network, C=4, N=1, CIFAR-10 normalisation, eval mode."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    net = build_network(Arch.from_string(arch), "cifar10", channels=4, cells_per_stage=1).eval()
    torch.random.set_rng_state(generator_state)
    return net


def own_labels(net: NB201Network, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random images and the net's own predictions as labels (clean accuracy 1)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, 32, 32, generator=generator)
    with torch.no_grad():
        labels = net(images).argmax(dim=1)
    return images, labels

