"""Live evaluations of cells as executor tasks: workers measure, the driver stores.

:func:`evaluate_cells` sends one task per cell to an :class:`~robnas.execution.Executor`
(local processes or Ray). A worker builds a :class:`~robnas.evaluation.live_oracle.LiveOracle`
from :class:`LiveSettings`, evaluates the cell's terms into a private scratch store and sends
the counts back; this process alone writes them into the results store, once per cell, so
the store need not be shared between machines and a task Ray retried is stored once. A
worker whose weights file differs from this machine's (another SHA-256) is refused.
Used by ``robnas table build`` and ``robnas verify``.
"""

from __future__ import annotations

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

Counts = list[tuple[ResultKey, int, int, float, str]]
"""Per term of a cell: its key, correct, images, seconds and device."""


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
                   gpus_per_task: float = 0.0) -> Iterator[tuple[int, float]]:
    """Evaluate ``terms`` on each of ``cells`` (representative NB201 indices) as tasks.

    Args:
        settings: how workers build their live oracle.
        cells: the cells to evaluate.
        terms: the terms of each cell.
        keys: per cell, this machine's store key of each term (``LiveOracle.result_key``).
        store: written here, by this process only.
        executor: where the tasks run.
        gpus_per_task: GPUs each task asks of Ray (a fraction shares a GPU).

    Yields:
        ``(cell, compute seconds)`` as each cell's results are stored.

    Raises:
        ExecutorError: a worker evaluated other weights than this machine has.
    """
    from robnas.execution import TaskResources

    for position, counts in executor.imap_unordered(
            _evaluate_cell, [(index, list(terms)) for index in cells], setup=_worker_settings,
            setup_args=(settings,), resources=TaskResources(gpus=gpus_per_task)):
        index = cells[position]
        yield index, store_counts(index, counts, keys[index], store)


def store_counts(index: int, counts: Counts, keys: Sequence[ResultKey], store: ResultStore) -> float:
    """Write a worker's ``counts`` for cell ``index`` into ``store`` (this process only).

    Returns:
        The compute seconds the worker spent on the cell.

    Raises:
        ExecutorError: the worker evaluated other weights than ``keys`` name (this machine's).
    """
    seconds = 0.0
    for expected, (got, correct, n, spent, device) in zip(keys, counts, strict=True):
        if got != expected:
            raise ExecutorError(f"cell {index}: a worker evaluated weights {got.weights}, this "
                                f"machine has {expected.weights} (different weights files)")
        store.put(expected, correct, n, spent, device=device)
        seconds += spent
    return seconds


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
    todo = [index for index in cells if any(oracle.store.get(k) is None for k in keys[index])]
    return dict(evaluate_cells(LiveSettings.of(oracle), todo, wanted, keys, store=oracle.store,
                               executor=executor, gpus_per_task=gpus_per_task))


def _worker_settings(settings: LiveSettings) -> LiveSettings:
    return settings


def _evaluate_cell(settings: LiveSettings, item: tuple[int, list[Term]]) -> Counts:
    """Evaluate one cell's terms into a scratch store; return (key, correct, n, seconds, device)."""
    from robnas.evaluation.runner import run_cached

    index, terms = item
    with tempfile.TemporaryDirectory(prefix="robnas-cell-") as scratch:
        store = ResultStore(Path(scratch) / "cell.sqlite")
        oracle = settings.oracle(store)
        model = oracle.network(index).to(oracle.device)
        out = []
        for term in terms:
            key = oracle.result_key(index, term)
            test = oracle.test_set(term)
            outcome = run_cached(store, key, model, test.images, test.labels, protocol=oracle.protocol,
                                 device=oracle.device, batch_size=oracle.batch_size)
            out.append((key, outcome.result.correct, outcome.result.n, outcome.result.seconds,
                        outcome.result.device))
    return out
