"""One cached, resumable evaluation: the store first, then only the batches not yet done.

>>> import tempfile, pathlib, torch
>>> from robnas.arch import Arch
>>> from robnas.evaluation.network import build_network
>>> from robnas.evaluation.store import ResultKey, ResultStore
>>> net = build_network(Arch.from_code(0), "cifar10", channels=4, cells_per_stage=1).eval()
>>> images, labels = torch.rand(8, 3, 32, 32), torch.zeros(8, dtype=torch.int64)
>>> store = ResultStore(pathlib.Path(tempfile.mkdtemp()) / "s.sqlite")
>>> key = ResultKey("cifar10", "0", "clean", None, "p", "w", 8)
>>> first = run_cached(store, key, net, images, labels, batch_size=4)
>>> first.batches_run, run_cached(store, key, net, images, labels, batch_size=4).batches_run
(2, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from robnas.evaluation.attacks import AttackProtocol, BatchCallback, evaluate_batches
from robnas.evaluation.store import ResultKey, ResultStore, StoredResult

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class RunOutcome:
    """A result and what it cost now.

    Attributes:
        result: the stored result (accuracy, images, total seconds over all sessions).
        batches_run: batches evaluated by this call (0: answered from the store).
        seconds: seconds of compute spent by this call.
    """

    result: StoredResult
    batches_run: int
    seconds: float


def run_cached(
    store: ResultStore,
    key: ResultKey,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    protocol: AttackProtocol | None = None,
    device: str = "cpu",
    batch_size: int = 256,
    progress: bool = False,
    on_batch: BatchCallback | None = None,
) -> RunOutcome:
    """The accuracy for ``key``: from ``store`` if there, else evaluated (resuming) and stored.

    Each finished batch is written to the store's progress rows before the next begins, so
    after a kill (or an exception from ``on_batch``) the next call evaluates only the batches
    that had not finished. ``images`` must already be the images of ``key`` (clean or
    corrupted); ``key.key`` and ``key.point`` choose the attack.
    """
    stored = store.get(key)
    if stored is not None:
        return RunOutcome(stored, 0, 0.0)
    done = store.batches(key, batch_size)
    spent = [0, 0.0]

    def record(batch: int, correct: int, n: int, seconds: float) -> None:
        store.add_batch(key, batch_size, batch, correct, n, seconds)
        spent[0] += 1
        spent[1] += seconds
        if on_batch is not None:
            on_batch(batch, correct, n, seconds)

    correct, n = evaluate_batches(
        model, images, labels, key=key.key,
        epsilon=None if key.point is None else float(key.point),
        protocol=protocol, device=device, batch_size=batch_size, skip=frozenset(done),
        on_batch=record, progress=progress,
    )
    correct += sum(c for c, _, _ in done.values())
    n += sum(m for _, m, _ in done.values())
    seconds = spent[1] + sum(s for _, _, s in done.values())
    result = store.put(key, correct, n, seconds, device=str(device))
    return RunOutcome(result, int(spent[0]), float(spent[1]))
