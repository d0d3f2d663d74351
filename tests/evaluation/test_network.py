"""NB201Network against xautodl's TinyNetwork: same state_dict layout, same logits."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("xautodl")

from xautodl.models.cell_infers.tiny_network import TinyNetwork  # noqa: E402
from xautodl.models.cell_searchs.genotypes import Structure  # noqa: E402

from robnas.arch import Arch  # noqa: E402
from robnas.evaluation.network import NORMALISATION, NB201Network, build_network  # noqa: E402
from robnas.vocabulary import Dataset  # noqa: E402

CELLS = [
    # a typical cell with every operation
    "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
    # all-none: the output node is always zero
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    # skip-only
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    # no path from input to output through the last node's live inputs (edge into node 3 all none)
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|",
    # output node fed only by a node whose inputs are all none
    "|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
    # NB201's best CIFAR-10 cell family
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
]


def _reference(arch_str: str, channels: int, cells: int, classes: int) -> torch.nn.Module:
    return TinyNetwork(channels, cells, Structure.str2structure(arch_str), classes)


def _randomise_batch_norm(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Give BN running statistics non-trivial values, so eval mode exercises them."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(module.num_features, generator=generator) * 0.1)


@pytest.mark.parametrize("arch_str", CELLS)
def test_same_state_dict_layout_as_tiny_network(arch_str: str) -> None:
    ours = NB201Network(Arch.from_string(arch_str), num_classes=10, channels=4, cells_per_stage=2)
    theirs = _reference(arch_str, 4, 2, 10)
    ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    theirs_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours_shapes == theirs_shapes
    # and in the same order (so an OrderedDict round-trips key by key)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_full_size_layout_matches() -> None:
    arch_str = CELLS[0]
    ours = build_network(Arch.from_string(arch_str), "cifar100")
    theirs = _reference(arch_str, 16, 5, 100)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


@pytest.mark.parametrize("arch_str", CELLS)
@pytest.mark.parametrize("dataset", [Dataset.CIFAR10, Dataset.IMAGENET16_120])
def test_identical_logits_for_the_same_weights(arch_str: str, dataset: Dataset) -> None:
    generator = torch.Generator().manual_seed(7)
    size = 16 if dataset is Dataset.IMAGENET16_120 else 32
    classes = 120 if dataset is Dataset.IMAGENET16_120 else 10
    theirs = _reference(arch_str, 4, 1, classes)
    for parameter in theirs.parameters():
        parameter.data.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    _randomise_batch_norm(theirs, generator)
    theirs.eval()
    ours = build_network(Arch.from_string(arch_str), dataset, channels=4, cells_per_stage=1).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)

    images = torch.rand(5, 3, size, size, generator=generator)
    mean, std = NORMALISATION[dataset]
    normalised = (images - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = theirs(normalised)[1]
        got = ours(images)
    assert got.shape == (5, classes)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_all_none_cell_ignores_the_input() -> None:
    net = NB201Network(Arch.from_string(CELLS[1]), 10, channels=4, cells_per_stage=1).eval()
    with torch.no_grad():
        a = net(torch.rand(3, 3, 32, 32))
        b = net(torch.rand(3, 3, 32, 32))
    # every cell outputs zeros, but the reduction blocks and classifier still add biases
    torch.testing.assert_close(a, b)


def test_normalisation_is_not_in_the_state_dict_but_moves_with_the_model() -> None:
    net = build_network(Arch.from_string(CELLS[0]), "cifar10", channels=4, cells_per_stage=1)
    assert "mean" not in net.state_dict() and "std" not in net.state_dict()
    net = net.to(torch.float64)
    assert net.mean.dtype == torch.float64
