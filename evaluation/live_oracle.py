"""The live oracle: real networks with NATS-Bench's released weights under real attacks.

:class:`LiveOracle` implements :class:`robnas.oracle.Oracle` exactly like
:class:`robnas.benchmark.TabularOracle`, so the search loop and every searcher work unchanged;
only the answers are measured instead of looked up. Each cell is evaluated through its
isomorphism class's representative NB201 index (the weights the release's table was measured
on), so isomorphs get equal values, as the contract requires.

Every (cell, key, point) result is cached in a :class:`~robnas.evaluation.store.ResultStore`
under the attack protocol's fingerprint, the weights' identity (a SHA-256 of the weights file,
the training epochs and seed), the test images' identity (a SHA-256 of the test-set files
read: the pickled test set, or a corruption's ``.npy`` files;
:func:`~robnas.evaluation.datasets.images_identity`) and the number of images, so a repeated
question costs nothing, an interrupted evaluation resumes at its first unfinished batch, and
other weights or other test images are never answered from the store.

``n_images`` larger than the test set is refused (:class:`~robnas.errors.InvalidParameterError`,
naming the count found): by the constructor for the clean test set, which it then reads, and
for a corrupted set before anything is looked up or evaluated on it.

What the oracle needs:
    ``weights``: NATS-Bench's topology archive (``NATS-tss-v1_0-3ffb9-full``, one
    ``{index:06d}.pickle.pbz2`` per NB201 index); ``images``: the test sets in their usual
    on-disk formats (:func:`robnas.evaluation.datasets.load_test_set`); ``data``: the release's
    ``meta.json`` (NB201 index <-> cell, isomorphism classes, epsilon grid).

Example (needs the weights and images)::

    oracle = LiveOracle("cifar10", weights="~/NATS-tss-v1_0-3ffb9-full",
                        images="~/datasets", n_images=1000, device="cuda")
    oracle.evaluate([Arch.from_string("|nor_conv_3x3~0|+|...")], "pgd@1/255").values
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas._version import __version__
from robnas.arch import Arch
from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.location import META_FILE, default_cache_dir, resolve_data_root
from robnas.benchmark.meta import SpaceMeta
from robnas.errors import InvalidObjectiveError, InvalidParameterError
from robnas.evaluation.attacks import AttackProtocol, is_attack
from robnas.evaluation.store import ResultKey, ResultStore
from robnas.objective import CLEAN, Grid, Objective, Term, default_grid_points
from robnas.vocabulary import Corruption, Dataset, parse_dataset

if TYPE_CHECKING:
    from robnas.benchmark import TabularOracle
    from robnas.oracle import Evaluations

logger = logging.getLogger(__name__)

_CLEAN = Term(CLEAN, None)
_NO_PROTOCOL = "none"  # clean and corrupted images do not depend on the attack protocol


def resolve_device(device: str = "auto") -> str:
    """``'cuda'`` or ``'cpu'`` for ``device`` in ``auto|cpu|cuda|cuda:N``."""
    import torch

    from robnas.errors import RobnasError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RobnasError(f"--device {device}: CUDA is not available here (use cpu or auto)")
    if device != "cpu" and not device.startswith("cuda"):
        raise RobnasError(f"unknown device {device!r}; use auto, cpu or cuda")
    return device


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of the file at ``path``, read in 1 MiB blocks.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LiveOracle:
    """Measures objectives on NB201 networks with released weights (see the module docs).

    Args:
        dataset: ``cifar10`` (default), ``cifar100`` or ``ImageNet16-120``.
        weights: folder of NATS-Bench's topology archive.
        images: root of the test sets (see :func:`~robnas.evaluation.datasets.load_test_set`).
        data: folder of the release's ``meta.json`` (default: ``$ROBNAS_DATA``, then the
            per-user data dir).
        n_images: evaluate on the first ``n_images`` test images (default: all); more than
            the test set holds is refused.
        protocol: attack settings (default: the assumed protocol, :class:`AttackProtocol`).
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
        epochs: training epochs of the weights (NATS-Bench has 12 and 200).
        seed: training seed of the weights (``None``: the archive's default choice).
        batch_size: images per batch.
        store: the results store, its path, or ``None`` for the default store in robnas'
            cache dir.
        table: a tabular oracle whose optimum :meth:`optimum` reports as a reference (values
            stay live); without one, :meth:`optimum` is ``None``.
        progress: show tqdm progress bars.

    Raises:
        InvalidParameterError: the clean test set holds fewer than ``n_images`` images, or
            ``batch_size`` is not a whole number >= 1.
        DataNotFoundError: ``n_images`` is given and there is no test set under ``images``.

    Attributes:
        batches_run: batches evaluated by this oracle so far (0 while answering from the store).
        compute_seconds: seconds of compute spent so far (device seconds on CUDA).
    """

    def __init__(
        self,
        dataset: str | Dataset = Dataset.CIFAR10,
        *,
        weights: str | os.PathLike[str],
        images: str | os.PathLike[str],
        data: str | os.PathLike[str] | None = None,
        n_images: int | None = None,
        protocol: AttackProtocol | None = None,
        device: str = "auto",
        epochs: int = 200,
        seed: int | None = None,
        batch_size: int = 256,
        store: ResultStore | str | os.PathLike[str] | None = None,
        table: TabularOracle | None = None,
        progress: bool = False,
    ) -> None:
        # the arguments first: a wrong number is refused before any folder is looked up
        if n_images is not None and (isinstance(n_images, bool) or not isinstance(n_images, Integral)
                                     or n_images < 1):
            raise InvalidParameterError(f"n_images must be a whole number >= 1 or None (all), got {n_images!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
            raise InvalidParameterError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        self._dataset = parse_dataset(dataset)
        self.weights = Path(weights).expanduser().resolve()
        self.images = Path(images).expanduser().resolve()
        self.root = resolve_data_root(data)
        self.meta = SpaceMeta.load(self.root / META_FILE, ArrayCache(default_cache_dir()))
        self.n_images = n_images
        self.protocol = protocol or AttackProtocol()
        self.device_name = device
        self.epochs = epochs
        self.seed = seed
        self.batch_size = batch_size
        self.store = store if isinstance(store, ResultStore) else ResultStore(store)
        self.table = table
        self.progress = progress
        self.batches_run = 0
        self.compute_seconds = 0.0
        self._device: str | None = None
        self._archive: Any = None
        self._identities: dict[int, str] = {}
        self._test_sets: dict[tuple[str | None, int | None], Any] = {}
        self._images_ids: dict[str | None, str] = {}
        if n_images is not None:  # refuse too few images before anything is looked up or run
            self.test_set(_CLEAN)

    def __repr__(self) -> str:
        images = "all" if self.n_images is None else self.n_images
        return (
            f"LiveOracle(dataset={self._dataset.value!r}, weights={str(self.weights)!r}, "
            f"images={str(self.images)!r}, n_images={images!r}, device={self.device_name!r}, "
            f"store={str(self.store.path)!r}, batches_run={self.batches_run})"
        )

    # -- the Oracle protocol --------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset:
        """The dataset this oracle answers for."""
        return self._dataset

    @property
    def grid(self) -> Grid:
        """The release's grid: its attacks at its epsilons; corruptions for CIFAR only."""
        points = default_grid_points({k: list(v) for k, v in self.meta.epsilons.items()})
        if self._dataset == Dataset.IMAGENET16_120:  # there is no ImageNet16-120-C
            points = {k: v for k, v in points.items() if k not in {c.value for c in Corruption}}
        return Grid(points)

    @property
    def device(self) -> str:
        """The device evaluations run on (``auto`` resolved)."""
        if self._device is None:
            self._device = resolve_device(self.device_name)
        return self._device

    def validate(self, objective: Objective | str) -> tuple[Term, ...]:
        """The terms of ``objective`` on the release's grid (raises with the valid choices).

        A cost metric (``params``, ``flops``) is computed, not measured: it is refused here.
        """
        parsed = Objective.parse(objective)
        if parsed.is_cost:
            raise InvalidObjectiveError(f"{parsed} is computed, not measured: see robnas query ARCH -O {parsed}")
        return parsed.terms(self.grid)

    def evaluate(self, archs: Sequence[Arch], objective: Objective | str) -> Evaluations:
        """Measured values and clean accuracies of ``archs``; cost = compute seconds per cell."""
        import numpy as np

        from robnas.oracle import Evaluations, check_cells

        check_cells(archs)
        terms = self.validate(objective)
        values, clean, cost = [], [], []
        for arch in archs:
            index = self.meta.representative_of(self.meta.index_of(arch))
            session = _CellSession(self, index)
            values.append(sum(session.accuracy(t) for t in terms) / len(terms))
            clean.append(session.accuracy(_CLEAN))
            cost.append(session.seconds)
        return Evaluations(np.asarray(values, dtype=np.float64), np.asarray(clean, dtype=np.float64),
                           np.asarray(cost, dtype=np.float64), terms)

    def optimum(self, objective: Objective | str) -> float | None:
        """The table's optimum where a table was given (a reference), else ``None``."""
        return None if self.table is None else self.table.optimum(objective)

    def rank(self, arch: Arch, objective: Objective | str) -> int | None:
        """Unknown live: ``None``."""
        return None

    def provenance(self) -> dict[str, Any]:
        """Mode, weights, images, protocol, device and library versions."""
        import torch
        import torchattacks

        return {
            "mode": "live",
            "robnas": __version__,
            "dataset": self._dataset.value,
            "data_root": str(self.root),
            "checksums": {META_FILE: self.meta.checksum},
            "weights": {"root": str(self.weights), "epochs": self.epochs, "seed": self.seed,
                        "files": {str(i): ident for i, ident in sorted(self._identities.items())}},
            "images": str(self.images),
            "images_identity": {(name or CLEAN): ident for name, ident in self._images_ids.items()},
            "n_images": self.n_images,
            "protocol": self.protocol.describe(),
            "device": self.device,
            "device_name": _device_name(self.device),
            "batch_size": self.batch_size,
            "store": str(self.store.path),
            "torch": torch.__version__,
            "torchattacks": torchattacks.__version__,
        }

    # -- helpers ----------------------------------------------------------------------------------
    def index_of(self, arch: Arch) -> int:
        """NB201 index of ``arch``."""
        return self.meta.index_of(arch)

    def parse_arch(self, arch: Arch | str | int) -> Arch:
        """An ``Arch`` from an ``Arch``, an NB201 string or an NB201 index."""
        return self.meta.parse_arch(arch)

    def value(self, arch: Arch | str | int, objective: Objective | str) -> float:
        """The measured value of one cell."""
        return float(self.evaluate([self.parse_arch(arch)], objective).values[0])

    @property
    def archive(self) -> Any:
        """The :class:`~robnas.evaluation.weights.WeightsArchive` of ``weights``."""
        if self._archive is None:
            from robnas.evaluation.weights import WeightsArchive

            self._archive = WeightsArchive(self.weights)
        return self._archive

    def weights_identity(self, index: int) -> str:
        """SHA-256 (16 hex) of ``index``'s weights file, with the epochs and seed.

        ``seed=None`` is recorded as ``default``: the archive's smallest seed.
        """
        if index not in self._identities:
            try:
                file_id = file_sha256(self.archive.path_of(index))[:16]
            except OSError:
                file_id = "missing"
            self._identities[index] = file_id
        seed = "default" if self.seed is None else str(self.seed)
        return f"{self._identities[index]}:e{self.epochs}:s{seed}"

    def images_identity(self, term: Term) -> str:
        """SHA-256 (16 hex) of the test-set files ``term`` is evaluated on (the clean test set,
        or the corruption's ``.npy`` files), hashed once per oracle.

        With ``n_images``, the test set is read first and refused when it holds fewer images.

        Raises:
            InvalidParameterError: fewer test images than ``n_images``.
            DataNotFoundError: the test set is missing.
        """
        from robnas.evaluation.datasets import images_identity

        corruption = _which(term)[0]
        if corruption not in self._images_ids:
            if self.n_images is not None:
                self.test_set(term)  # checks the count
            self._images_ids[corruption] = images_identity(self._dataset, self.images, corruption=corruption)
        return self._images_ids[corruption]

    def result_key(self, index: int, term: Term) -> ResultKey:
        """The store key of ``term`` for NB201 index ``index`` (see the module docs).

        Raises:
            InvalidParameterError: the test set of ``term`` holds fewer than ``n_images`` images.
            DataNotFoundError: the test set of ``term`` is missing.
        """
        protocol = self.protocol.fingerprint() if is_attack(term.key) else _NO_PROTOCOL
        return ResultKey(self._dataset.value, str(index), term.key, term.point, protocol,
                         self.weights_identity(index), self.n_images or 0, self.images_identity(term))

    def test_set(self, term: Term) -> Any:
        """The test images of ``term`` (clean for attacks; corrupted for corruption keys).

        Raises:
            InvalidParameterError: the set holds fewer than ``n_images`` images.
        """
        from robnas.evaluation.datasets import load_test_set

        which = _which(term)
        if which not in self._test_sets:
            test = load_test_set(self._dataset, self.images, corruption=which[0], severity=which[1],
                                 limit=self.n_images)
            found = int(test.labels.shape[0])
            if self.n_images is not None and found < self.n_images:
                name = self._dataset.value if which[0] is None else (
                    f"{self._dataset.value} {which[0]} (severity {which[1]})")
                raise InvalidParameterError(f"{self.n_images} test images asked for (--n-images), but the "
                                            f"{name} test set under {self.images} holds only {found}")
            if which[0] is not None:  # keep the clean set and one corrupted set at a time
                self._test_sets = {k: v for k, v in self._test_sets.items() if k[0] is None}
            self._test_sets[which] = test
        return self._test_sets[which]

    def network(self, index: int) -> Any:
        """The network of NB201 index ``index`` with its released weights, in eval mode."""
        from robnas.evaluation.weights import load_network

        return load_network(self.archive, index, self.meta.arch_at(index), self._dataset,
                            epochs=self.epochs, seed=self.seed)


def _which(term: Term) -> tuple[str | None, int | None]:
    """(corruption, severity) of ``term``'s test set; ``(None, None)``: the clean test set."""
    if term.key in {c.value for c in Corruption}:
        return term.key, int(term.point)  # type: ignore[arg-type]
    return None, None


class _CellSession:
    """The evaluations of one cell within one :meth:`LiveOracle.evaluate` call."""

    def __init__(self, oracle: LiveOracle, index: int) -> None:
        self.oracle = oracle
        self.index = index
        self.seconds = 0.0
        self._model: Any = None

    def accuracy(self, term: Term) -> float:
        from robnas.evaluation.runner import run_cached

        oracle = self.oracle
        key = oracle.result_key(self.index, term)
        stored = oracle.store.get(key)
        if stored is not None:
            return stored.accuracy
        if self._model is None:
            start = time.perf_counter()
            self._model = oracle.network(self.index).to(oracle.device)
            self.seconds += time.perf_counter() - start
        test = oracle.test_set(term)
        outcome = run_cached(oracle.store, key, self._model, test.images, test.labels,
                             protocol=oracle.protocol, device=oracle.device,
                             batch_size=oracle.batch_size, progress=oracle.progress)
        oracle.batches_run += outcome.batches_run
        oracle.compute_seconds += outcome.seconds
        self.seconds += outcome.seconds
        logger.info("index %d %s: %.4f on %d images (%.1f s)", self.index, term,
                    outcome.result.accuracy, outcome.result.n, outcome.seconds)
        return outcome.result.accuracy


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    import platform

    return platform.processor() or platform.machine()
