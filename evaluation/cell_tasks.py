"""Live evaluations of cells as executor tasks: workers measure, the driver stores.

:func:`evaluate_cells` sends one task per cell to an :class:`~robnas.execution.Executor`
(local processes or Ray). A worker builds a :class:`~robnas.evaluation.live_oracle.LiveOracle`
from :class:`LiveSettings`, evaluates the cell's terms into a scratch store of its node and
sends the counts back; this process alone writes them into the results store, once per cell
(one transaction), so the store need not be shared between machines and a task Ray retried
is stored once. A
worker whose weights file or test images differ from this machine's (another SHA-256) is
refused.
Used by ``robnas table build`` and ``robnas verify``.

The scratch store (:func:`scratch_store`) is a file in the worker node's temporary folder
named after the task (settings, cell, terms), not a fresh folder per attempt: every finished
image batch is recorded there (:func:`~robnas.evaluation.runner.run_cached`), so when a
worker process dies mid-cell, Ray's retry on the same node (or a re-run of a killed driver)
resumes the cell at its first unfinished batch instead of its first. The file is deleted
once the cell's counts are returned. A retry on another node starts the cell afresh (the
dead node's disk is gone with it).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from robnas.errors import ExecutorError
from robnas.evaluation.store import ResultKey, ResultStore
from robnas.objective import CLEAN, Term

if TYPE_CHECKING:
    from robnas.arch import Arch
    from robnas.evaluation.attacks import AttackProtocol
    from robnas.evaluation.live_oracle import LiveOracle
    from robnas.execution import Executor, Submitter

Counts = list[tuple[ResultKey, int, int, float, str, int, dict[str, str]]]
"""Per term of a cell: its key, correct, images, seconds, device, batches run by this attempt,
and where it ran (:func:`runtime`)."""


@dataclass(frozen=True)
class LiveSettings:
    """How a worker builds its :class:`LiveOracle` (picklable, sent to every worker)."""

    dataset: str
    weights: str
    images: str
    data: str
    n_images: int | None
    protocol: AttackProtocol
    device: str
    epochs: int
    seed: int | None
    batch_size: int

    @classmethod
    def of(cls, oracle: LiveOracle) -> LiveSettings:
        """The settings of an existing live oracle (for its workers)."""
        return cls(oracle.dataset.value, str(oracle.weights), str(oracle.images), str(oracle.root),
                   oracle.n_images, oracle.protocol, oracle.device_name, oracle.epochs, oracle.seed,
                   oracle.batch_size)

    def oracle(self, store: ResultStore | str | os.PathLike[str] | None = None) -> LiveOracle:
        """The live oracle of these settings."""
        from robnas.evaluation.live_oracle import LiveOracle

        return LiveOracle(self.dataset, weights=self.weights, images=self.images, data=self.data,
                          n_images=self.n_images, protocol=self.protocol, device=self.device,
                          epochs=self.epochs, seed=self.seed, batch_size=self.batch_size,
                          store=store)


def evaluate_cells(settings: LiveSettings, cells: Sequence[int], terms: Sequence[Term],
                   keys: dict[int, list[ResultKey]], *, store: ResultStore, executor: Executor,
                   gpus_per_task: float = 0.0) -> Iterator[tuple[int, float, int, dict[str, str]]]:
    """Evaluate ``terms`` on each of ``cells`` (representative NB201 indices) as tasks: of each
    cell only the terms ``store`` lacks (:func:`unstored`; a cell lacking none sends no task).

    Args:
        settings: how workers build their live oracle.
        cells: the cells to evaluate.
        terms: the terms of each cell.
        keys: per cell, this machine's store key of each term (``LiveOracle.result_key``).
        store: written here, by this process only.
        executor: where the tasks run.
        gpus_per_task: GPUs each task asks of Ray (a fraction shares a GPU).

    Yields:
        ``(cell, compute seconds, batches, runtime)`` as each cell's results are stored: the
        seconds of all its batches (also those of an attempt that died), the batches the last
        attempt ran, and the :func:`runtime` of the worker that ran it.

    Raises:
        ExecutorError: a worker evaluated other weights than this machine has.
    """
    from robnas.execution import TaskResources

    missing = [unstored(store, terms, keys[index]) for index in cells]
    sent = [position for position, (todo, _) in enumerate(missing) if todo]
    for position, counts in executor.imap_unordered(
            _evaluate_cell, [(cells[i], missing[i][0]) for i in sent], setup=_worker_settings,
            setup_args=(settings,), resources=TaskResources(gpus=gpus_per_task)):
        index = cells[sent[position]]
        yield (index, store_counts(index, counts, missing[sent[position]][1], store),
               sum(c[5] for c in counts), counts[0][6])


def unstored(store: ResultStore, terms: Sequence[Term],
             keys: Sequence[ResultKey]) -> tuple[list[Term], list[ResultKey]]:
    """The ``terms`` (and their ``keys``, in the same order) that ``store`` lacks: a cell's task
    evaluates only those, never again a term an earlier build, verify or search stored (e.g.
    clean accuracy when another attack is added)."""
    pairs = [(term, key) for term, key in zip(terms, keys, strict=True) if store.get(key) is None]
    return [term for term, _ in pairs], [key for _, key in pairs]


def store_counts(index: int, counts: Counts, keys: Sequence[ResultKey], store: ResultStore) -> float:
    """Write a worker's ``counts`` for cell ``index`` into ``store`` (this process only), in one
    transaction: a driver killed here leaves the cell whole or absent.

    Returns:
        The compute seconds spent on the cell (also by an attempt whose worker died).

    Raises:
        ExecutorError: the worker evaluated other weights or test images than ``keys`` name
            (this machine's).
    """
    for expected, (got, *_) in zip(keys, counts, strict=True):
        if got.weights != expected.weights:
            raise ExecutorError(f"cell {index}: a worker evaluated weights {got.weights}, this "
                                f"machine has {expected.weights} (different weights files)")
        if got.images != expected.images:
            raise ExecutorError(f"cell {index}: a worker evaluated test images {got.images}, this "
                                f"machine has {expected.images} (different test-set files)")
        if got != expected:
            raise ExecutorError(f"cell {index}: a worker evaluated {got}, this machine expected {expected}")
    store.put_many([(key, correct, n, spent, device) for key, correct, n, spent, device, *_ in counts])
    return sum(c[3] for c in counts)


def cell_submitter(settings: LiveSettings, executor: Executor, gpus_per_task: float = 0.0) -> Submitter:
    """A :class:`~robnas.execution.Submitter` of cell tasks: ``submit((index, terms))`` one
    cell at a time; ``wait()`` returns its counts, for :func:`store_counts`."""
    from robnas.execution import TaskResources

    return executor.submitter(_evaluate_cell, setup=_worker_settings, setup_args=(settings,),
                              resources=TaskResources(gpus=gpus_per_task))


def with_clean(terms: Sequence[Term]) -> list[Term]:
    """``terms`` with clean accuracy first (the oracle always reports it), each once."""
    clean = Term(CLEAN, None)
    return [clean, *dict.fromkeys(t for t in terms if t != clean)]


def prefill(oracle: LiveOracle, archs: Sequence[Arch], terms: Sequence[Term], *,
            executor: Executor, gpus_per_task: float = 0.0) -> dict[int, float]:
    """Evaluate what ``oracle``'s store lacks for ``archs`` as executor tasks, into its store.

    Afterwards ``oracle.evaluate(archs, ...)`` answers from the store. Clean accuracy is always
    included (the oracle reports it). Returns the compute seconds spent per representative.
    """
    wanted = with_clean(terms)
    cells = list(dict.fromkeys(oracle.meta.representative_of(oracle.index_of(a)) for a in archs))
    keys = {index: [oracle.result_key(index, t) for t in wanted] for index in cells}
    return {index: seconds for index, seconds, *_ in evaluate_cells(
        LiveSettings.of(oracle), cells, wanted, keys, store=oracle.store, executor=executor,
        gpus_per_task=gpus_per_task)}


def _worker_settings(settings: LiveSettings) -> LiveSettings:
    return settings


def scratch_store(settings: LiveSettings, index: int, terms: Sequence[Term]) -> Path:
    """This node's scratch store of the task (``settings``, cell ``index``, ``terms``).

    The same path for every attempt of the task on this node, so a retry finds the batches
    an attempt that died had finished (the store's keys also name the SHA-256 of the weights
    and of the test images, so changed weights or images never reuse stale batches).
    """
    task = repr((settings, int(index), [(t.key, t.point) for t in terms])).encode()
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    folder = Path(tempfile.gettempdir()) / f"robnas-cells-{user}"
    return folder / f"{hashlib.sha256(task).hexdigest()[:24]}.sqlite"


def runtime(device: str) -> dict[str, str]:
    """Where this process evaluates on ``device``: the device's model (the GPU's name, or the
    CPU's), and the versions an attacked accuracy can depend on in its last images (robnas,
    torch with its build, torchattacks, CUDA, cuDNN)."""
    import torch
    import torchattacks

    from robnas._version import __version__
    from robnas.evaluation.live_oracle import _device_name

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"device": _device_name(str(device)), "robnas": __version__, "torch": torch.__version__,
            "torchattacks": torchattacks.__version__, "cuda": torch.version.cuda or "none",
            "cudnn": str(cudnn) if cudnn else "none"}


def _evaluate_cell(settings: LiveSettings, item: tuple[int, list[Term]]) -> Counts:
    """Evaluate one cell's terms via this node's scratch store (resuming an attempt that died)."""
    from robnas.evaluation.runner import run_cached

    index, terms = item
    path = scratch_store(settings, index, terms)
    store = ResultStore(path)
    oracle = settings.oracle(store)
    model = oracle.network(index).to(oracle.device)
    ran_on = runtime(str(oracle.device))
    out = []
    for term in terms:
        key = oracle.result_key(index, term)
        test = oracle.test_set(term)
        outcome = run_cached(store, key, model, test.images, test.labels, protocol=oracle.protocol,
                             device=oracle.device, batch_size=oracle.batch_size)
        out.append((key, outcome.result.correct, outcome.result.n, outcome.result.seconds,
                    outcome.result.device, outcome.batches_run, ran_on))
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        leftover.unlink(missing_ok=True)
    return out
