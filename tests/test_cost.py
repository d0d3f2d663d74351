"""robnas.cost against xautodl's own counting on networks xautodl builds.

The expectations come from xautodl: ``TinyNetwork(16, 5, genotype, classes)`` counted with
``get_model_infos`` (FLOPs, the way NB201 reports them) and ``count_parameters_in_MB``.
"""

from __future__ import annotations

import numpy as np
import pytest

from robnas import cost
from robnas.arch import NUM_CELLS, Arch
from robnas.errors import InvalidObjectiveError
from robnas.vocabulary import Dataset

DEGENERATE = [
    # every operation once
    "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
    # all none: the output is constant
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    # skip only
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    # convolutions that never reach the output (every edge into node 3 is none)
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|",
    # output fed only by a node whose inputs are all none: a dead 3x3 conv
    "|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
    # all 3x3 convolutions (the largest network) and all 1x1
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    # pooling only
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
]


def _mixes() -> list[str]:
    """One cell for every mix of 1x1 and 3x3 convolutions (28), other edges and order drawn."""
    rng = np.random.default_rng(0)
    cells = []
    for n1 in range(7):
        for n3 in range(7 - n1):
            ops = [2] * n1 + [3] * n3 + [int(o) for o in rng.choice([0, 1, 4], size=6 - n1 - n3)]
            cells.append(Arch(tuple(int(o) for o in rng.permutation(ops))).to_string())
    return cells


MIXES = _mixes()
CELLS = DEGENERATE + MIXES  # 36 cells; the cost model is linear in (n1x1, n3x3)
CASES = [(arch, Dataset.CIFAR10) for arch in CELLS] + [
    (arch, dataset) for dataset in (Dataset.CIFAR100, Dataset.IMAGENET16_120) for arch in CELLS[::2]
]


@pytest.fixture(scope="module")
def one_thread():
    """xautodl's forward pass, single-threaded: many threads on a busy machine are 30x slower."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _xautodl_counts(arch: str, dataset: Dataset) -> tuple[float, float]:
    torch = pytest.importorskip("torch")
    pytest.importorskip("xautodl")
    from xautodl.models.cell_infers.tiny_network import TinyNetwork
    from xautodl.models.cell_searchs.genotypes import Structure
    from xautodl.utils.flop_benchmark import count_parameters_in_MB, get_model_infos

    torch.manual_seed(0)  # only the (unused) weights are random; the counts do not depend on them
    model = TinyNetwork(16, 5, Structure.str2structure(arch), cost.NUM_CLASSES[dataset])
    size = cost.INPUT_SIZE[dataset]
    flops, params = get_model_infos(model, (1, 3, size, size))
    assert params == count_parameters_in_MB(model)
    return float(params), float(flops)


@pytest.mark.parametrize(("arch", "dataset"), CASES)
def test_params_and_flops_equal_xautodl(arch: str, dataset: Dataset, one_thread) -> None:
    params, flops = _xautodl_counts(arch, dataset)
    # both are integer counts / 1e6, so they agree exactly, not just approximately
    assert cost.params(Arch.from_string(arch), dataset) == params
    assert cost.flops(Arch.from_string(arch), dataset) == flops
    # strings and dataset spellings work too
    assert cost.params(arch, dataset.value) == params
    assert cost.value("flops", arch, dataset) == flops


def test_cells_cover_every_convolution_mix() -> None:
    for dataset in Dataset:
        cells = [Arch.from_string(a) for a, d in CASES if d == dataset]
        mixes = {(a.ops.count(2), a.ops.count(3)) for a in cells}
        assert len(cells) >= 18 and len(mixes) >= 14  # of the 28 possible (n1x1, n3x3)
    assert len({(a.ops.count(2), a.ops.count(3)) for a in map(Arch.from_string, CELLS)}) == 28


@pytest.mark.parametrize("dataset", list(Dataset))
def test_arrays_match_scalars_for_every_cell(dataset: Dataset) -> None:
    arrays = cost.cost_arrays(dataset)
    assert arrays["params"].shape == arrays["flops"].shape == (NUM_CELLS,)
    for code in np.random.default_rng(1).integers(NUM_CELLS, size=200):
        arch = Arch.from_code(int(code))
        assert arrays["params"][code] == cost.params(arch, dataset)
        assert arrays["flops"][code] == cost.flops(arch, dataset)


def test_datasets_differ_where_they_should() -> None:
    arch = Arch.from_string(DEGENERATE[0])
    # CIFAR-100's classifier has 90 more outputs of 65 weights (64 + bias) than CIFAR-10's
    assert round((cost.params(arch, "cifar100") - cost.params(arch, "cifar10")) * 1e6) == 90 * 65
    # ImageNet16-120 images are 16x16: the convolutions do a quarter of the work
    assert cost.flops(arch, "ImageNet16-120") < cost.flops(arch, "cifar100") / 3.5


def test_cost_frame_by_nb201_index(release_root) -> None:
    meta = cost.load_meta(release_root)
    frame = cost.cost_frame("cifar10", release_root)
    assert frame.index.name == "nb201_index"
    assert list(frame.columns) == ["params", "flops"]
    assert len(frame) == NUM_CELLS and (frame.index == np.arange(NUM_CELLS)).all()
    for index in (0, 13433, 8865, 15624):
        arch = meta.arch_at(index)
        assert frame.at[index, "params"] == cost.params(arch, "cifar10")
        assert frame.at[index, "flops"] == cost.flops(arch, "cifar10")
        assert cost.params(index, "cifar10", meta=meta) == cost.params(arch, "cifar10")
    assert cost.cost_frame("cifar10", meta=meta).equals(frame)


def test_isomorphs_can_differ_in_cost(release_root) -> None:
    """The cost is the cell's own: a dead convolution still has weights."""
    frame = cost.cost_frame("cifar10", release_root)
    meta = cost.load_meta(release_root)
    spread = frame.groupby(np.asarray(meta.representative))["params"].agg(["min", "max"])
    assert (spread["max"] > spread["min"]).any()
    # the all-none cell and the cell with one dead 3x3 conv are isomorphic, and differ by it
    none, dead = (Arch.from_string(s) for s in DEGENERATE[1:5:3])
    assert meta.representative_of(meta.index_of(none)) == meta.representative_of(meta.index_of(dead))
    assert cost.params(dead) > cost.params(none)


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(InvalidObjectiveError, match="params, flops"):
        cost.check_metric("latency")
    assert cost.is_metric("FLOPS") and not cost.is_metric("clean")


@pytest.mark.parametrize("limit", ["0.4", -1.0, 0.0, float("nan"), float("inf"), True])
def test_within_limits_codes_refuses_what_is_no_limit(limit) -> None:
    with pytest.raises(ValueError, match=r"the params limit \(millions\) must be a number > 0.0, got"):
        cost.within_limits_codes({"params": limit})
