"""Computing measures for many cells: worker processes, the results store, a progress bar.

:func:`compute_measures` looks every (cell, measure) up in the store first and computes only
what is missing, in cell order, on an executor of :mod:`robnas.execution` (by default ``jobs``
local worker processes, ``spawn``, one BLAS/OpenMP thread and so one torch thread each; or this
process; or Ray); finished cells are written to the store as they come back (in one transaction
per second, and whenever the run ends or fails), so a killed run resumes where it stopped,
losing at most the last second of work, and a repeated request computes nothing. A value is
found in the store only under the settings it was computed with (:meth:`MeasureRequest.settings`,
the one function both this module and :func:`~robnas.evaluation.measures.load_measures` key by):
the test images by the SHA-256 of the test-set file, trained weights by the archive's absolute
path (with epochs and seed; files replaced in place under the same path are not noticed), a
user's function by a hash of its code; batch size and seed only for measures that can depend on
them. Each worker reads the test batch once. Networks at initialisation are built with torch's
default initialisation seeded with ``seed`` inside ``torch.random.fork_rng``, so torch's global
random state is left as it was and the same seed gives the same values. A cell's network is
built once for all its measures; a user's measure gets a copy of it, so what the function does
to the network (a forward pass in training mode updates batch norm's running statistics)
cannot change the values of the measures after it.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.arch import Arch
from robnas.evaluation.measures._registry import Measure, MeasureError
from robnas.evaluation.measures._store import MeasureSettings, MeasureStore
from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    import pandas as pd

    from robnas.benchmark.meta import SpaceMeta
    from robnas.execution import Executor

INDEX_NAME = "nb201_index"
"""Name of the NB201 index in measure tables (as in ``TabularOracle.dataframe`` and exports)."""
FLUSH_SECONDS = 1.0
"""Finished values are written to the store at least this often (and when the run ends or fails)."""


@dataclass(frozen=True)
class MeasureRequest:
    """How to compute measures (everything but the cells).

    Attributes:
        measures: the measures.
        dataset: the dataset (classes, image size, test images, weights).
        images: root of the test sets (needed by data-dependent measures).
        weights: NATS-Bench's ``NATS-tss-v1_0-3ffb9-full`` folder; ``None``: at initialisation.
        batch_size: images per batch.
        seed: seeds the initialisation, the image draw and the measures' own randomness.
        device: ``cpu`` or ``cuda``.
        epochs: training epochs of the weights (200 or 12).
        weights_seed: training seed of the weights (``None``: the archive's smallest).
    """

    measures: tuple[Measure, ...]
    dataset: Dataset = Dataset.CIFAR10
    images: Path | None = None
    weights: Path | None = None
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"
    epochs: int = 200
    weights_seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dataset", parse_dataset(self.dataset))
        for name, value, low in (("batch size", self.batch_size, 1), ("seed", self.seed, 0),
                                 ("epochs", self.epochs, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MeasureError(f"the {name} must be a whole number >= {low}, got {value!r}")
        names = [m.name for m in self.measures]
        if not names or len(set(names)) != len(names):
            raise MeasureError(f"give each measure once (got {', '.join(names) or 'none'})")
        needing = [m.name for m in self.measures if m.needs_data]
        if needing and self.images is None:
            verb = "needs" if len(needing) == 1 else "need"
            raise MeasureError(f"{', '.join(needing)} {verb} test images: pass --images DIR "
                               "(data-free measures run without)")

    def trained(self, measure: Measure) -> bool:
        """Whether ``measure`` runs on the released weights."""
        return self.weights is not None and measure.uses_trained_weights and measure.needs_network

    def images_identity(self, *, required: bool = True) -> str | None:
        """SHA-256 (16 hex) of the test-set file under :attr:`images` that batches are drawn
        from (:func:`~robnas.evaluation.datasets.images_identity`; hashed once per process).

        ``required=False``: ``None`` when :attr:`images` holds no test set of the dataset.

        Raises:
            DataNotFoundError: ``required`` and there is no test set under :attr:`images`.
        """
        from robnas.errors import DataNotFoundError
        from robnas.evaluation.datasets import images_identity

        if self.images is None:
            if required:
                raise DataNotFoundError("no test images given (--images DIR)")
            return None
        try:
            return images_identity(self.dataset, self.images)
        except DataNotFoundError:
            if required:
                raise
            return None

    def settings(self, measure: Measure) -> MeasureSettings:
        """The store fingerprint of ``measure`` under this request (what its values depend on).

        Computing and reading values back (:func:`~robnas.evaluation.measures.load_measures`)
        both key by this. A measure that reads only the cell (``params``, ``flops``) is keyed
        without batch size and seed; one on trained weights by the archive's absolute path,
        epochs and seed; one that reads test images by the test set's identity, or, when
        :attr:`images` holds no test set (a lookup that does not say which), ``None``: any one
        test set (:class:`MeasureStore`); a user's function by a hash of its code.
        """
        weights = "init"
        if self.trained(measure):
            seed = "default" if self.weights_seed is None else str(self.weights_seed)
            archive = Path(self.weights).expanduser().resolve()  # type: ignore[arg-type]
            weights = f"nats:{archive}:e{self.epochs}:s{seed}"
        cell_only = measure.reads_only_the_cell
        return MeasureSettings(
            measure.name, measure.identity(), dict(measure.params), self.dataset.value,
            None if cell_only else int(self.batch_size), None if cell_only else int(self.seed), weights,
            measure.needs_data, self.images_identity(required=False) if measure.needs_data else None,
            measure.code(), measure.revision)


@dataclass
class ComputeResult:
    """What :func:`compute_measures` did.

    Attributes:
        frame: one row per cell, indexed by NB201 index (``nb201_index``): ``arch``,
            ``representative``, one column per measure and ``<measure>_seconds`` (compute
            seconds, whenever it was computed).
        computed: (cell, measure) values computed by this call.
        cached: values read from the store.
        wall_seconds: wall time of this call.
    """

    frame: pd.DataFrame
    computed: int = 0
    cached: int = 0
    wall_seconds: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)


def compute_measures(request: MeasureRequest, indices: Sequence[int], meta: SpaceMeta, *,
                     store: MeasureStore | None = None, jobs: int = 1, progress: bool = False,
                     chunk: int = 8, executor: Executor | None = None,
                     gpus_per_task: float = 0.0) -> ComputeResult:
    """Values of ``request.measures`` for NB201 ``indices``: from the store, else computed.

    Cells run in chunks of ``chunk`` on ``executor`` (a :mod:`robnas.execution` engine: the
    local pool or Ray), by default a :class:`~robnas.execution.LocalExecutor` with ``jobs``
    worker processes (``jobs=1``: in this process). Only this process writes the store; a
    chunk whose Ray worker died is retried by Ray and its values stored once. ``gpus_per_task``:
    the GPUs each chunk asks of Ray (a fraction shares a GPU).

    Raises:
        MeasureError: a measure failed on a cell (values finished before stay in the store).
        DataNotFoundError: a measure reads test images and there is no test set under
            ``request.images`` (before the store is read).
    """
    started = time.perf_counter()
    store = store or MeasureStore()
    if any(m.needs_data for m in request.measures):
        request.images_identity()  # the store is keyed by the images: they must be there
    settings = {m.name: request.settings(m) for m in request.measures}
    known = {name: store.values(s) for name, s in settings.items()}
    cells = list(dict.fromkeys(int(i) for i in indices))
    todo = [(i, meta.arch_at(i).code, tuple(n for n in settings if i not in known[n])) for i in cells]
    todo = [t for t in todo if t[2]]
    result = ComputeResult(frame=None, cached=sum(len(k) for k in known.values()))  # type: ignore[arg-type]
    bar = _bar(len(cells), len(cells) - len(todo), progress)
    pending: dict[str, list[tuple[int, float, float, str]]] = {name: [] for name in settings}
    flushed = time.monotonic()
    try:
        for index, rows in _run(request, todo, jobs, chunk, executor, gpus_per_task):
            for name, value, seconds, device in rows:
                pending[name].append((index, value, seconds, device))
                known[name][index] = (value, seconds)
                result.computed += 1
                result.seconds[name] = result.seconds.get(name, 0.0) + seconds
            if time.monotonic() - flushed > FLUSH_SECONDS:
                _flush(store, settings, pending)
                flushed = time.monotonic()
            if bar is not None:
                bar.update(1)
    finally:
        _flush(store, settings, pending)
        if bar is not None:
            bar.close()
    result.cached = sum(1 for n in settings for i in cells if i in known[n]) - result.computed
    result.frame = measures_frame(cells, meta, {n: {i: known[n][i] for i in cells} for n in settings})
    result.wall_seconds = time.perf_counter() - started
    return result


def _flush(store: MeasureStore, settings: dict[str, MeasureSettings],
           pending: dict[str, list[tuple[int, float, float, str]]]) -> None:
    for name, rows in pending.items():
        if rows:
            store.put_many(settings[name], rows)
            rows.clear()


def measures_frame(cells: Sequence[int], meta: SpaceMeta,
                   values: dict[str, dict[int, tuple[float, float]]]) -> pd.DataFrame:
    """One row per cell (index ``nb201_index``): arch, representative, each measure, its seconds."""
    import numpy as np
    import pandas as pd

    index = np.asarray(cells, dtype=np.int64)
    frame = pd.DataFrame({"arch": [meta.arch_at(int(i)).to_string() for i in index],
                          "representative": meta.representative[index] if len(index) else index},
                         index=pd.Index(index, name=INDEX_NAME))
    for name, by_cell in values.items():
        frame[name] = [by_cell.get(int(i), (np.nan, np.nan))[0] for i in index]
    for name, by_cell in values.items():
        frame[f"{name}_seconds"] = [by_cell.get(int(i), (np.nan, np.nan))[1] for i in index]
    return frame


# -- execution --------------------------------------------------------------------------------

_Task = tuple[int, int, tuple[str, ...]]  # index, arch code, measures to compute
_Rows = list[tuple[str, float, float, str]]  # measure, value, seconds, device


def _run(request: MeasureRequest, todo: list[_Task], jobs: int, chunk: int,
         executor: Executor | None, gpus: float = 0.0) -> Iterator[tuple[int, _Rows]]:
    if not todo:
        return
    from robnas.execution import LocalExecutor, TaskResources

    in_process = (executor is None and jobs <= 1) or (isinstance(executor, LocalExecutor) and executor.jobs <= 1)
    size = 1 if in_process else chunk
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    with contextlib.ExitStack() as stack:
        if executor is None:
            executor = stack.enter_context(LocalExecutor(jobs=jobs))
        for _position, rows in executor.imap_unordered(_run_chunk, chunks, setup=CellContext,
                                                       setup_args=(request,),
                                                       resources=TaskResources(gpus=gpus)):
            yield from rows


def _run_chunk(context: CellContext, tasks: list[_Task]) -> list[tuple[int, _Rows]]:
    return [(index, context.compute(index, Arch.from_code(code), names)) for index, code, names in tasks]


class CellContext:
    """What one process needs to measure cells: the batches (read once) and the weights."""

    def __init__(self, request: MeasureRequest) -> None:
        from robnas.evaluation.live_oracle import resolve_device
        from robnas.evaluation.measures._batch import load_batch, synthetic_batch

        self.request = request
        self.device = resolve_device(request.device)
        self.free = synthetic_batch(request.dataset, request.batch_size, request.seed).to(self.device)
        # measures that read only the cell are keyed without batch size and seed: none reaches them
        self.cell_only = synthetic_batch(request.dataset, 1, 0).to(self.device)
        self.real = None
        if any(m.needs_data for m in request.measures):
            assert request.images is not None
            self.real = load_batch(request.dataset, request.images, request.batch_size,
                                   request.seed).to(self.device)
        self.archive: Any = None
        if request.weights is not None:
            from robnas.evaluation.weights import WeightsArchive

            self.archive = WeightsArchive(request.weights)

    def network(self, index: int, arch: Arch, trained: bool) -> Any:
        """The network of ``index`` with released weights, or at initialisation (seeded)."""
        import torch

        from robnas.evaluation.network import build_network

        if trained:
            from robnas.evaluation.weights import load_network

            return load_network(self.archive, index, arch, self.request.dataset,
                                epochs=self.request.epochs, seed=self.request.weights_seed).to(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.request.seed)
            return build_network(arch, self.request.dataset).to(self.device)

    def compute(self, index: int, arch: Arch, names: Sequence[str]) -> _Rows:
        """``(measure, value, seconds, device)`` for the measures ``names`` of one cell."""
        import torch

        networks: dict[bool, Any] = {}
        rows: _Rows = []
        for measure in (m for m in self.request.measures if m.name in names):
            trained = self.request.trained(measure)
            if not measure.needs_network:
                network: Any = _ArchOnly(arch)
            else:  # built once per cell, not part of any measure's time
                if trained not in networks:
                    networks[trained] = self.network(index, arch, trained)
                network = networks[trained]
                if not measure.builtin:  # built-ins compute on copies; a user's own might change
                    network = copy.deepcopy(network)  # the network (a forward in train mode moves batch norm)
            started = time.perf_counter()
            batch = self.real if measure.needs_data else (self.cell_only if measure.reads_only_the_cell
                                                          else self.free)
            try:
                value = measure(network, batch)
            except MeasureError:
                raise
            except Exception as err:  # a user's measure, or a numerical failure
                raise MeasureError(f"measure {measure.name} failed on NB201 index {index}: "
                                   f"{type(err).__name__}: {err}") from err
            if self.device.startswith("cuda"):
                torch.cuda.synchronize()
            rows.append((measure.name, value, time.perf_counter() - started, self.device))
        return rows


@dataclass(frozen=True)
class _ArchOnly:
    """Stands in for the network of measures that read only the cell (``needs_network=False``)."""

    arch: Arch


def _bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="cell", desc="measures", dynamic_ncols=True)
