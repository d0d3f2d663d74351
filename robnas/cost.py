"""Parameters and FLOPs of every NB201 network, counted analytically (no torch, no data).

The NB201 network (C=16, N=5) is a stem (3x3 conv + BN), three stages of five copies of the
cell at widths 16, 32 and 64 joined by two residual reduction blocks, a final BN + ReLU, global
average pooling and a linear classifier. Every cell builds a module for each of its six edges,
wired or not, so a cell's cost depends only on how many 1x1 and 3x3 convolutions it holds
(``none``, ``skip_connect`` and ``avg_pool_3x3`` have no weights, and xautodl's counter does
not count pooling FLOPs). The counts are those of xautodl's ``get_model_infos``, which
NAS-Bench-201 and NATS-Bench report:

- ``params``: every trainable parameter (convolutions, batch-norm scale and shift, classifier
  weight and bias), in millions (``count / 1e6``);
- ``flops``: multiply-accumulates of the convolutions and the classifier (bias included) for
  one image (32x32 for CIFAR, 16x16 for ImageNet16-120), in millions.

Isomorphic cells compute the same function but can differ in cost: a convolution on an edge
whose result never reaches the output still has weights and is still run. The cost of a cell is
therefore its own, not its class's.

>>> from robnas.arch import Arch
>>> resnet = Arch.from_string("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")
>>> params(resnet, "cifar10"), flops(resnet, "cifar10")
(0.559386, 78.56193)
>>> params(resnet, "ImageNet16-120"), flops(resnet, "ImageNet16-120")
(0.566536, 19.64812)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from robnas.arch import NUM_CELLS, Arch
from robnas.errors import InvalidObjectiveError
from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from robnas.benchmark.meta import SpaceMeta

CHANNELS = 16
"""``C``: the width of the first stage (NB201's C=16)."""
CELLS_PER_STAGE = 5
"""``N``: cells per stage (NB201's N=5)."""
NUM_CLASSES: dict[Dataset, int] = {Dataset.CIFAR10: 10, Dataset.CIFAR100: 100, Dataset.IMAGENET16_120: 120}
"""Classifier outputs per dataset."""
INPUT_SIZE: dict[Dataset, int] = {Dataset.CIFAR10: 32, Dataset.CIFAR100: 32, Dataset.IMAGENET16_120: 16}
"""Height (= width) of an input image per dataset."""

PARAMS = "params"
"""Name of the parameter-count metric (millions of parameters)."""
FLOPS = "flops"
"""Name of the FLOPs metric (millions of multiply-accumulates per image)."""
METRICS: tuple[str, ...] = (PARAMS, FLOPS)
"""The cost metrics, as objectives, table columns and constraints name them."""

_CONV1X1, _CONV3X3 = 2, 3  # op indices of robnas.arch.OPS


@dataclass(frozen=True)
class CostModel:
    """The cost of every cell of one dataset as ``base + n1x1 * per_1x1 + n3x3 * per_3x3``.

    All counts are integers (parameters, multiply-accumulates); ``n1x1`` and ``n3x3`` are the
    numbers of 1x1 and 3x3 convolutions in the cell, each repeated in all 15 cells.

    Attributes:
        base_params: parameters outside the cells (stem, reductions, final BN, classifier).
        conv1x1_params: parameters one 1x1-conv edge adds over the 15 cells.
        conv3x3_params: parameters one 3x3-conv edge adds over the 15 cells.
        base_flops: multiply-accumulates outside the cells.
        conv1x1_flops: multiply-accumulates one 1x1-conv edge adds over the 15 cells.
        conv3x3_flops: multiply-accumulates one 3x3-conv edge adds over the 15 cells.
    """

    base_params: int
    conv1x1_params: int
    conv3x3_params: int
    base_flops: int
    conv1x1_flops: int
    conv3x3_flops: int

    @classmethod
    def of(cls, dataset: str | Dataset) -> CostModel:
        """The model of ``dataset``'s network (its classes and input size)."""
        data = parse_dataset(dataset)
        classes, size = NUM_CLASSES[data], INPUT_SIZE[data]
        widths = [CHANNELS * 2**s for s in range(3)]
        sides = [size // 2**s for s in range(3)]
        # stem: 3x3 conv 3 -> C without bias, then BN (scale, shift)
        params = 9 * 3 * widths[0] + 2 * widths[0]
        macs = 9 * 3 * widths[0] * sides[0] ** 2
        for stage in (1, 2):  # residual reduction blocks C -> 2C and 2C -> 4C, stride 2
            c_in, c_out, side = widths[stage - 1], widths[stage], sides[stage]
            convs = 9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out  # conv_a, conv_b, shortcut 1x1
            params += convs + 2 * (2 * c_out)  # BN after conv_a and conv_b
            macs += convs * side**2
        params += 2 * widths[2]  # final BN
        params += widths[2] * classes + classes  # linear classifier with bias
        macs += widths[2] * classes + classes

        def per_edge(kernel: int) -> tuple[int, int]:
            weights = sum(kernel * kernel * c * c + 2 * c for c in widths)  # conv (no bias) + BN
            work = sum(kernel * kernel * c * c * s * s for c, s in zip(widths, sides, strict=True))
            return CELLS_PER_STAGE * weights, CELLS_PER_STAGE * work

        (p1, f1), (p3, f3) = per_edge(1), per_edge(3)
        return cls(params, p1, p3, macs, f1, f3)

    def param_count(self, arch: Arch) -> int:
        """Number of parameters of the network with cell ``arch``."""
        n1, n3 = arch.ops.count(_CONV1X1), arch.ops.count(_CONV3X3)
        return self.base_params + n1 * self.conv1x1_params + n3 * self.conv3x3_params

    def mac_count(self, arch: Arch) -> int:
        """Multiply-accumulates of one forward pass of one image through ``arch``'s network."""
        n1, n3 = arch.ops.count(_CONV1X1), arch.ops.count(_CONV3X3)
        return self.base_flops + n1 * self.conv1x1_flops + n3 * self.conv3x3_flops


def params(arch: Arch | str | int, dataset: str | Dataset = Dataset.CIFAR10,
           *, meta: SpaceMeta | None = None) -> float:
    """Parameters of ``arch``'s network on ``dataset``, in millions (as NB201 reports them).

    Args:
        arch: an :class:`~robnas.arch.Arch`, an NB201 string, or an NB201 index (resolved
            through ``meta``, else through the release's ``meta.json`` found as
            :class:`~robnas.benchmark.TabularOracle` finds it).
        dataset: ``cifar10``, ``cifar100`` or ``ImageNet16-120``.
        meta: the release's index table, for NB201 indices.
    """
    return CostModel.of(dataset).param_count(_as_arch(arch, meta)) / 1e6


def flops(arch: Arch | str | int, dataset: str | Dataset = Dataset.CIFAR10,
          *, meta: SpaceMeta | None = None) -> float:
    """FLOPs of ``arch``'s network on ``dataset``: millions of multiply-accumulates per image.

    Arguments as for :func:`params`.
    """
    return CostModel.of(dataset).mac_count(_as_arch(arch, meta)) / 1e6


def value(metric: str, arch: Arch | str | int, dataset: str | Dataset = Dataset.CIFAR10,
          *, meta: SpaceMeta | None = None) -> float:
    """:func:`params` or :func:`flops` by name (``"params"`` or ``"flops"``)."""
    return {PARAMS: params, FLOPS: flops}[check_metric(metric)](arch, dataset, meta=meta)


def cost_arrays(dataset: str | Dataset = Dataset.CIFAR10) -> dict[str, np.ndarray]:
    """``{"params": ..., "flops": ...}``: float64 arrays over all 15,625 cells in
    :attr:`Arch.code <robnas.arch.Arch.code>` order (no data needed), units as :func:`params`
    and :func:`flops`."""
    import numpy as np

    from robnas.arch import all_ops_array

    model = CostModel.of(dataset)
    ops = all_ops_array()
    n1 = (ops == _CONV1X1).sum(axis=1, dtype=np.int64)
    n3 = (ops == _CONV3X3).sum(axis=1, dtype=np.int64)
    count = model.base_params + n1 * model.conv1x1_params + n3 * model.conv3x3_params
    macs = model.base_flops + n1 * model.conv1x1_flops + n3 * model.conv3x3_flops
    return {PARAMS: count / 1e6, FLOPS: macs / 1e6}


def cost_frame(dataset: str | Dataset = Dataset.CIFAR10, data: str | os.PathLike[str] | None = None,
               *, meta: SpaceMeta | None = None) -> pd.DataFrame:
    """Cost of all 15,625 cells: index ``nb201_index``, columns ``params`` and ``flops``.

    Args:
        dataset: ``cifar10``, ``cifar100`` or ``ImageNet16-120``.
        data: data root whose ``meta.json`` gives the NB201 index order (default: as
            :class:`~robnas.benchmark.TabularOracle` finds it); ignored when ``meta`` is given.
        meta: the release's index table, if already loaded.
    """
    import numpy as np
    import pandas as pd

    meta = meta if meta is not None else load_meta(data)
    by_code = cost_arrays(dataset)
    codes = np.asarray(meta.code_of_index)
    index = pd.RangeIndex(len(codes), name="nb201_index")
    return pd.DataFrame({name: column[codes] for name, column in by_code.items()}, index=index)


def within_limits_codes(limits: Mapping[str, float],
                        dataset: str | Dataset = Dataset.CIFAR10) -> np.ndarray:
    """``(15625,)`` by :attr:`Arch.code`: the code of the cell whose costs count for each
    cell under cost ``limits`` (metric -> most allowed, e.g. ``{"params": 0.5}``).

    That is the cell itself unless a cell of its isomorphism class is less over the limits
    (the summed relative excess ``(cost - limit) / cost`` over the metrics; 0 when within
    them), and then the class's cell least over them (the smallest code on a tie). The cells of
    a class compute one function, so a class is within the limits when one of its cells is:
    the cell over a limit only carries weights on edges that never reach the output.

    >>> codes = within_limits_codes({"params": 0.08})
    >>> from robnas.arch import Arch
    >>> heavy = Arch.from_string("|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|skip_connect~2|")
    >>> params(heavy), params(Arch.from_code(int(codes[heavy.code])))
    (0.101306, 0.073306)
    """
    import numpy as np

    from robnas.isomorphism import class_code_array
    from robnas.searchers._base import check_float  # the searchers' number check, not a second one

    costs = cost_arrays(dataset)
    excess = np.zeros(NUM_CELLS)
    for metric, limit in limits.items():
        check_float(f"the {metric} limit (millions)", limit, 0.0, low_open=True)
        cost = costs[check_metric(metric)]
        excess += np.where(cost > limit, (cost - limit) / cost, 0.0)
    classes = class_code_array()
    codes = np.arange(classes.size)
    order = np.lexsort((codes, excess, classes))  # by class, then excess, then code
    first = np.r_[True, classes[order][1:] != classes[order][:-1]]
    least = np.zeros(classes.size, dtype=np.int64)
    least[classes[order][first]] = order[first]  # per class code: its cell least over
    mates = least[classes]
    return np.where(excess[mates] < excess, mates, codes)


def check_metric(name: str) -> str:
    """``name`` if it is a cost metric, else :class:`InvalidObjectiveError` listing them."""
    text = str(name).strip().lower()
    if text not in METRICS:
        raise InvalidObjectiveError(f"unknown cost metric {name!r}; valid: {', '.join(METRICS)}")
    return text


def is_metric(name: object) -> bool:
    """Whether ``name`` (text or a parsed objective) names a cost metric."""
    return str(name).strip().lower() in METRICS


def load_meta(data: str | os.PathLike[str] | None = None) -> SpaceMeta:
    """The release's ``meta.json`` index table under ``data`` (cached as the oracle caches it)."""
    from robnas.benchmark.cache import ArrayCache
    from robnas.benchmark.location import META_FILE, default_cache_dir, resolve_data_root
    from robnas.benchmark.meta import SpaceMeta

    return SpaceMeta.load(resolve_data_root(data) / META_FILE, ArrayCache(default_cache_dir()))


def _as_arch(arch: Arch | str | int, meta: SpaceMeta | None) -> Arch:
    if isinstance(arch, Arch):
        return arch
    text = str(arch).strip()
    if text.lstrip("-").isdigit():
        return (meta if meta is not None else load_meta()).parse_arch(text)
    return Arch.from_string(text)


__all__ = [
    "CELLS_PER_STAGE", "CHANNELS", "FLOPS", "INPUT_SIZE", "METRICS", "NUM_CLASSES", "PARAMS",
    "CostModel", "check_metric", "cost_arrays", "cost_frame", "flops", "is_metric", "load_meta",
    "params", "value", "within_limits_codes",
]
