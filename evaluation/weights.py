"""The released NAS-Bench-201 weights, read from NATS-Bench's topology archive.

NATS-Bench (Dong et al., 2021) re-released NB201's trained networks as the folder
``NATS-tss-v1_0-3ffb9-full`` (download it from https://github.com/D-X-Y/NATS-Bench and
extract it anywhere; pass that folder as ``root``). It holds one bz2-compressed pickle per
NB201 index, ``{index:06d}.pickle.pbz2``, each written by NATS-Bench's ``pickle_save`` as::

    {hp: ArchResults-state}          # hp = "12" or "200": the training epochs, as a string
    ArchResults-state = {
        "arch_index": int, "arch_str": NB201 string, "clear_net_done": bool,
        "dataset_seed": {nats_dataset: [seed, ...]},            # sorted seeds
        "all_results": {(nats_dataset, seed): ResultsCount-state},
    }
    ResultsCount-state = {
        "net_state_dict": OrderedDict[str, torch.Tensor],       # TinyNetwork's state_dict
        "arch_config": {"channel": C, "num_cells": N, "arch_str": ..., "class_num": ...},
        "seed": int, "epochs": int, ... (training curves, flops, latency)
    }

These are plain containers (NATS-Bench pickles the ``state_dict()`` of its ``ArchResults`` and
``ResultsCount`` objects, not the objects), so :class:`WeightsArchive` reads them with a
restricted unpickler (:mod:`robnas.evaluation.safe_pickle`) that allows only
``collections.OrderedDict``, torch's tensor rebuild functions (replaced by safe, lazy
stand-ins) and numpy scalars; any other global is refused before it is imported. Tensors are
decoded only for the one network asked for.

NATS dataset names: ``cifar10-valid`` (trained on CIFAR-10's train half), ``cifar10``
(trained on train+valid, i.e. all 50,000 training images, and evaluated on the 10,000 test
images), ``cifar100``, ``ImageNet16-120``. robnas' datasets map to the last three.
"""

from __future__ import annotations

import bz2
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from robnas.arch import Arch
from robnas.errors import DataFormatError, DataNotFoundError, InvalidArchError, RobnasError
from robnas.evaluation.safe_pickle import DeferredTensor, load_restricted, torch_tensor_globals
from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    import torch

    from robnas.evaluation.network import NB201Network

logger = logging.getLogger(__name__)

ARCHIVE_NAME = "NATS-tss-v1_0-3ffb9-full"
"""The folder name NATS-Bench gives the topology archive with weights."""

PICKLE_EXT = ".pickle.pbz2"
NUM_INDICES = 15625

NATS_DATASET: dict[Dataset, str] = {
    Dataset.CIFAR10: "cifar10",
    Dataset.CIFAR100: "cifar100",
    Dataset.IMAGENET16_120: "ImageNet16-120",
}
"""robnas dataset -> NATS-Bench dataset key. robnas' ``cifar10`` is NATS ``cifar10``: trained
on CIFAR-10's full training set (train + valid) and evaluated on its test set, which is what
the robustness release attacked."""


class TrainedNetConfig(NamedTuple):
    """The shape of one trained network, as its record states it."""

    arch: Arch
    channels: int
    cells_per_stage: int
    num_classes: int


class WeightsArchive:
    """NATS-Bench's topology archive with weights (``NATS-tss-v1_0-3ffb9-full``).

    Args:
        root: the archive folder holding ``{index:06d}.pickle.pbz2`` files.

    The most recently read index stays decoded, so asking for its seeds and then its weights
    decompresses the file once.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._cached: tuple[int, dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"WeightsArchive({str(self.root)!r})"

    def path_of(self, index: int) -> Path:
        """The file of NB201 index ``index`` (``{index:06d}.pickle.pbz2``; an unpadded name is
        accepted too, as NATS-Bench does)."""
        index = _check_index(index)
        padded = self.root / f"{index:06d}{PICKLE_EXT}"
        if not padded.is_file():
            plain = self.root / f"{index}{PICKLE_EXT}"
            if plain.is_file():
                return plain
        return padded

    def record(self, index: int) -> dict[str, Any]:
        """The decoded file of ``index``: ``{hp: ArchResults-state}`` (see the module docs)."""
        index = _check_index(index)
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        path = self.path_of(index)
        if not path.is_file():
            where = "" if self.root.is_dir() else f" (the folder {self.root} does not exist)"
            inner = self.root / ARCHIVE_NAME
            todo = (f"pass its folder {inner}, not the folder that holds it" if inner.is_dir() else
                    f"download NATS-Bench's {ARCHIVE_NAME} archive (https://github.com/D-X-Y/NATS-Bench) "
                    "and pass its folder")
            raise DataNotFoundError(f"no weights for NB201 index {index}: {path} is missing{where}; {todo}")
        logger.debug("reading %s", path)
        try:
            with bz2.open(path, "rb") as handle:
                data = load_restricted(handle, torch_tensor_globals(), source=str(path))
        except (OSError, EOFError) as exc:
            raise DataFormatError(f"{path}: not a bz2-compressed pickle ({exc})") from exc
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise DataFormatError(f"{path}: expected a dict of per-epochs results, got {type(data).__name__}")
        for hp, results in data.items():
            if results.get("arch_index", index) != index:
                raise DataFormatError(f"{path}: holds index {results.get('arch_index')} (hp {hp}), not {index}")
        self._cached = (index, data)
        return data

    def epochs(self, index: int) -> list[int]:
        """The training lengths (epochs) the file of ``index`` holds, e.g. ``[12, 200]``."""
        return sorted(int(hp) for hp in self.record(index))

    def arch_of(self, index: int) -> Arch:
        """The cell the file of ``index`` says it holds."""
        record = self.record(index)
        for results in record.values():
            if "arch_str" in results:
                return Arch.from_string(results["arch_str"])
        raise DataFormatError(f"{self.path_of(index)}: no 'arch_str' in any entry")

    def seeds(self, index: int, dataset: str | Dataset, epochs: int = 200) -> list[int]:
        """The seeds trained for ``dataset`` with ``epochs`` epochs, sorted."""
        results = self._results(index, epochs)
        name = NATS_DATASET[parse_dataset(dataset)]
        available = results.get("dataset_seed", {})
        if name not in available:
            raise RobnasError(
                f"NB201 index {index} has no {epochs}-epoch weights for {name}; "
                f"available: {', '.join(sorted(available)) or 'none'}"
            )
        return sorted(int(s) for s in available[name])

    def config(
        self, index: int, dataset: str | Dataset, *, epochs: int = 200, seed: int | None = None
    ) -> TrainedNetConfig:
        """Cell, ``C``, ``N`` and classes of one trained network (from its ``arch_config``)."""
        trial = self._trial(index, dataset, epochs, seed)
        config = trial.get("arch_config")
        if not isinstance(config, Mapping):
            raise DataFormatError(f"{self.path_of(index)}: the trial has no 'arch_config'")
        try:
            return TrainedNetConfig(
                Arch.from_string(config["arch_str"]),
                int(config["channel"]),
                int(config["num_cells"]),
                int(config["class_num"]),
            )
        except (KeyError, TypeError, ValueError, InvalidArchError) as exc:
            raise DataFormatError(f"{self.path_of(index)}: unreadable 'arch_config' {config!r}") from exc

    def state_dict(
        self, index: int, dataset: str | Dataset, *, epochs: int = 200, seed: int | None = None
    ) -> dict[str, torch.Tensor]:
        """The trained weights (TinyNetwork's ``state_dict`` layout; fresh tensors).

        Args:
            index: the NB201 index.
            dataset: robnas dataset (see :data:`NATS_DATASET`).
            epochs: 200 (the NB201 protocol) or 12.
            seed: the training seed; ``None`` takes the smallest seed present.
        """
        trial = self._trial(index, dataset, epochs, seed)
        weights = trial.get("net_state_dict")
        if not isinstance(weights, Mapping) or not all(
            isinstance(k, str) and isinstance(v, DeferredTensor) for k, v in weights.items()
        ):
            raise DataFormatError(
                f"{self.path_of(index)}: the trial's 'net_state_dict' is not a dict of tensors "
                "(an archive without weights, such as the '-simple' one?)"
            )
        try:
            return {key: value.materialize().clone() for key, value in weights.items()}
        except DataFormatError as exc:
            raise type(exc)(f"{self.path_of(index)}: {exc}") from exc

    def _results(self, index: int, epochs: int) -> dict[str, Any]:
        record = self.record(index)
        results = record.get(str(int(epochs)))
        if results is None:
            available = ", ".join(sorted(record, key=int))
            raise RobnasError(f"NB201 index {index} has no {epochs}-epoch results; available epochs: {available}")
        return results

    def _trial(self, index: int, dataset: str | Dataset, epochs: int, seed: int | None) -> dict[str, Any]:
        seeds = self.seeds(index, dataset, epochs)
        if seed is None:
            if not seeds:
                raise RobnasError(f"NB201 index {index} lists no seeds for {dataset} at {epochs} epochs")
            seed = seeds[0]
        elif int(seed) not in seeds:
            raise RobnasError(
                f"NB201 index {index} has no {epochs}-epoch {NATS_DATASET[parse_dataset(dataset)]} weights "
                f"for seed {seed}; available seeds: {', '.join(map(str, seeds))}"
            )
        name = NATS_DATASET[parse_dataset(dataset)]
        trial = self._results(index, epochs).get("all_results", {}).get((name, int(seed)))
        if not isinstance(trial, dict):
            raise DataFormatError(f"{self.path_of(index)}: seed {seed} is listed but its results are missing")
        return trial


def load_network(
    archive: WeightsArchive,
    index: int,
    arch: Arch,
    dataset: str | Dataset,
    *,
    epochs: int = 200,
    seed: int | None = None,
) -> NB201Network:
    """The trained NB201 network of ``index`` in eval mode, weights loaded with ``strict=True``.

    ``arch`` must be the cell the archive records for ``index`` (a guard against mixing up
    index orders); ``C`` and ``N`` come from the record (16 and 5 in the release). Torch's
    global random stream is left as it was (building the modules draws their initial weights,
    which the released ones then replace).
    """
    import torch

    from robnas.evaluation.network import build_network

    ds = parse_dataset(dataset)
    config = archive.config(index, ds, epochs=epochs, seed=seed)
    if config.arch != arch:
        raise RobnasError(
            f"NB201 index {index} holds {config.arch.to_string()} in {archive.root}, not {arch.to_string()}"
        )
    with torch.random.fork_rng(devices=[]):
        network = build_network(arch, ds, channels=config.channels, cells_per_stage=config.cells_per_stage)
    weights = archive.state_dict(index, ds, epochs=epochs, seed=seed)
    try:
        network.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise DataFormatError(f"{archive.path_of(index)}: weights do not fit the NB201 network: {exc}") from exc
    return network.eval()


def _check_index(index: int) -> int:
    if isinstance(index, bool) or not 0 <= int(index) < NUM_INDICES:
        raise InvalidArchError(f"NB201 index must be in 0..{NUM_INDICES - 1}, got {index!r}")
    return int(index)
