"""Write small NATS-Bench topology archives (``NATS-tss-v1_0-3ffb9-full`` format) for tests.

Each file is what NATS-Bench's ``pickle_save`` writes: ``{index:06d}.pickle.pbz2``, a bz2
file holding a protocol-4 pickle of ``{hp: ArchResults.state_dict()}``, where every
``ResultsCount.state_dict()`` carries a ``net_state_dict`` of real torch tensors (pickled with
plain :mod:`pickle`, as NATS-Bench did). Weights are random, of the shapes of the NB201
network with ``channels`` and ``cells`` (small by default so tests stay fast).
"""

from __future__ import annotations

import bz2
import pickle
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch

from robnas.arch import Arch
from robnas.evaluation.network import NB201Network

NATS_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
EVAL_SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("ori-test", "x-valid", "x-test"),
    "ImageNet16-120": ("ori-test", "x-valid", "x-test"),
}

WrittenWeights = dict[tuple[int, str, int, int], "OrderedDict[str, torch.Tensor]"]
"""``(index, nats_dataset, epochs, seed)`` -> the state_dict written for it."""


def random_state_dict(arch: Arch, num_classes: int, channels: int, cells: int, seed: int) -> OrderedDict:
    """A TinyNetwork-layout state_dict with random, well-scaled values (BN stats included)."""
    generator = torch.Generator().manual_seed(seed)
    template = NB201Network(arch, num_classes, channels, cells).state_dict()
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in template.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(1000 + seed % 97, dtype=torch.long)
        elif key.endswith("running_var") or (value.dim() == 1 and key.endswith("weight")):
            out[key] = torch.rand(value.shape, generator=generator) + 0.5
        elif value.dim() == 1:  # biases, running means
            out[key] = torch.randn(value.shape, generator=generator) * 0.1
        else:
            fan_in = value[0].numel()
            out[key] = torch.randn(value.shape, generator=generator) / fan_in**0.5
    return out


def _results_count(
    arch: Arch, dataset: str, epochs: int, seed: int, weights: OrderedDict, channels: int, cells: int
) -> dict:
    """A ``ResultsCount.state_dict()`` with the fields NATS-Bench stores."""
    curve = {i: float(10 + 80 * i / max(epochs - 1, 1)) for i in range(epochs)}
    evals = EVAL_SETS[dataset]
    return {
        "name": dataset,
        "net_state_dict": weights,
        "train_acc1es": dict(curve),
        "train_acc5es": {i: min(100.0, v + 10) for i, v in curve.items()},
        "train_losses": {i: 2.3 - v / 50 for i, v in curve.items()},
        "train_times": dict.fromkeys(range(epochs), 5.5),
        "arch_config": {
            "channel": channels,
            "num_cells": cells,
            "arch_str": arch.to_string(),
            "class_num": CLASSES[dataset],
        },
        "params": np.float64(0.37),  # numpy scalars occur in NATS-Bench's records
        "flop": 48.5,
        "seed": seed,
        "epochs": epochs,
        "latency": [0.0123],
        "eval_names": list(evals),
        "eval_acc1es": {f"{n}@{i}": v for n in evals for i, v in curve.items()},
        "eval_times": {f"{n}@{i}": 0.5 for n in evals for i in range(epochs)},
        "eval_losses": {f"{n}@{i}": 2.3 - v / 50 for n in evals for i, v in curve.items()},
    }


def write_nats_archive(
    root: Path,
    archs: Mapping[int, Arch],
    datasets: Iterable[str] = NATS_DATASETS,
    epochs: Iterable[int] = (12, 200),
    seeds: Iterable[int] = (777, 888),
    channels: int = 4,
    cells: int = 1,
) -> WrittenWeights:
    """Write ``{index:06d}.pickle.pbz2`` for each ``index -> arch``; return the weights written.

    ``datasets`` are NATS-Bench names (``cifar10-valid``, ``cifar10``, ``cifar100``,
    ``ImageNet16-120``). Every (index, dataset, epochs, seed) gets different random weights.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    datasets, epochs, seeds = tuple(datasets), tuple(epochs), tuple(seeds)
    written: WrittenWeights = {}
    for index, arch in archs.items():
        record = {}
        for n_epochs in epochs:
            all_results = {}
            for d_pos, dataset in enumerate(datasets):
                for seed in seeds:
                    weight_seed = ((index * 31 + d_pos) * 1009 + n_epochs) * 7919 + seed
                    weights = random_state_dict(arch, CLASSES[dataset], channels, cells, weight_seed)
                    written[(index, dataset, n_epochs, seed)] = weights
                    all_results[(dataset, seed)] = _results_count(
                        arch, dataset, n_epochs, seed, weights, channels, cells
                    )
            record[str(n_epochs)] = {
                "arch_index": index,
                "arch_str": arch.to_string(),
                "all_results": all_results,
                "dataset_seed": {d: sorted(seeds) for d in datasets},
                "clear_net_done": False,
            }
        with bz2.BZ2File(root / f"{index:06d}.pickle.pbz2", "wb") as handle:
            pickle.dump(record, handle, protocol=4)
    return written
