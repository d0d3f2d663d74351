"""The NAS-Bench-201 network for any cell, with the dataset's normalisation inside.

The macro skeleton is NB201's: a 3x3 stem convolution with batch norm, three stages of ``N``
cells with ``C``, ``2C`` and ``4C`` channels joined by two ResNet reduction blocks, then batch
norm, ReLU, global average pooling and a linear classifier. NB201 uses ``C=16, N=5``.

Parameter and buffer names follow xautodl's ``TinyNetwork`` exactly (``stem.*``,
``cells.{i}.layers.{e}.op.*`` for a cell's edge ``e`` in NB201 string order,
``cells.{i}.conv_a|conv_b|downsample.*`` for the reduction blocks, ``lastact.*``,
``classifier.*``), so the released NATS-Bench weights load with ``strict=True``. The
normalisation constants are non-persistent buffers: they move with ``.to(device)`` but are not
part of the ``state_dict``.

Unlike ``TinyNetwork``, :class:`NB201Network` takes images in ``[0, 1]`` (what attack libraries
expect) and returns the logits only.

>>> from robnas.arch import Arch
>>> import torch
>>> net = NB201Network(Arch.from_string(
...     "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"),
...     num_classes=10, channels=4, cells_per_stage=1).eval()
>>> net(torch.rand(2, 3, 32, 32)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from robnas.arch import EDGES, OPS, Arch
from robnas.errors import RobnasError
from robnas.vocabulary import Dataset, parse_dataset

NUM_CLASSES: dict[Dataset, int] = {
    Dataset.CIFAR10: 10,
    Dataset.CIFAR100: 100,
    Dataset.IMAGENET16_120: 120,
}
"""Number of classes of each dataset."""

IMAGE_SIZE: dict[Dataset, int] = {
    Dataset.CIFAR10: 32,
    Dataset.CIFAR100: 32,
    Dataset.IMAGENET16_120: 16,
}
"""Side of the square test images of each dataset."""

NORMALISATION: dict[Dataset, tuple[tuple[float, ...], tuple[float, ...]]] = {
    Dataset.CIFAR10: (
        tuple(x / 255 for x in (125.3, 123.0, 113.9)),
        tuple(x / 255 for x in (63.0, 62.1, 66.7)),
    ),
    Dataset.CIFAR100: (
        tuple(x / 255 for x in (129.3, 124.1, 112.4)),
        tuple(x / 255 for x in (68.2, 65.4, 70.4)),
    ),
    Dataset.IMAGENET16_120: (
        tuple(x / 255 for x in (122.68, 116.66, 104.01)),
        tuple(x / 255 for x in (63.22, 61.26, 65.09)),
    ),
}
"""NB201's per-channel (mean, std) of each dataset, as its training pipeline used them."""


class ReLUConvBN(nn.Module):
    """ReLU, convolution without bias, batch norm (keys ``op.1.*``, ``op.2.*``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` operation: a zero tensor shaped like its input (``x * 0``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    """One NB201 edge operation on ``channels`` channels at stride 1."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise RobnasError(f"unknown NB201 operation {name!r}")


class Cell(nn.Module):
    """An NB201 cell: node ``j`` is the sum over edges ``(i, j)`` of ``op(node i)``."""

    def __init__(self, arch: Arch, channels: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(make_op(OPS[op], channels) for op in arch.ops)
        self.edges = EDGES

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            total: torch.Tensor | int = 0
            for layer, (source, to) in zip(self.layers, self.edges, strict=True):
                if to == target:
                    total = total + layer(nodes[source])
            nodes.append(total)  # type: ignore[arg-type]
        return nodes[-1]


class ResidualReduction(nn.Module):
    """The ResNet block joining two stages: doubles channels, halves resolution."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NB201 network for ``arch``; input images in ``[0, 1]``, output logits.

    Args:
        arch: the cell, repeated in every stage.
        num_classes: size of the classifier output.
        channels: ``C``, channels of the first stage (NB201: 16).
        cells_per_stage: ``N``, cells per stage (NB201: 5).
        mean: per-channel mean subtracted from the input (default: no normalisation).
        std: per-channel standard deviation the input is divided by.
    """

    def __init__(
        self,
        arch: Arch,
        num_classes: int,
        channels: int = 16,
        cells_per_stage: int = 5,
        mean: tuple[float, ...] = (0.0, 0.0, 0.0),
        std: tuple[float, ...] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        self.arch = arch
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        blocks: list[nn.Module] = []
        for stage, width in enumerate((c, 2 * c, 4 * c)):
            if stage:
                blocks.append(ResidualReduction(width // 2, width))
            blocks.extend(Cell(arch, width) for _ in range(cells_per_stage))
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * c, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feature = self.stem((images - self.mean) / self.std)
        for cell in self.cells:
            feature = cell(feature)
        pooled = self.global_pooling(self.lastact(feature))
        return self.classifier(pooled.flatten(1))


def build_network(
    arch: Arch, dataset: str | Dataset, channels: int = 16, cells_per_stage: int = 5
) -> NB201Network:
    """The NB201 network of ``arch`` for ``dataset``, with its classes and normalisation."""
    ds = parse_dataset(dataset)
    mean, std = NORMALISATION[ds]
    return NB201Network(arch, NUM_CLASSES[ds], channels, cells_per_stage, mean, std)
