"""The release's attacks as torchattacks objects, and batched accuracy under attack.

Release key -> torchattacks 3.5.1 (L-infinity, epsilon in units of 1/255 as in the release):

=================  ==========================================================================
``fgsm@Linf``      ``FGSM(eps)``
``pgd@Linf``       ``PGD(eps, alpha=pgd_alpha_factor * eps / pgd_steps, steps=pgd_steps,
                   random_start=pgd_random_start)``
``aa_apgd-ce@Linf``  ``APGD(eps, norm='Linf', loss='ce', steps=apgd_steps, n_restarts=1,
                   seed=seed)``
``aa_square@Linf``   ``Square(eps, norm='Linf', n_queries=square_queries, n_restarts=1,
                   p_init=square_p_init, resc_schedule=square_rescale_schedule, seed=seed)``
=================  ==========================================================================

The assumed protocol
    The release does not state the paper's iteration counts or step sizes. robnas assumes
    PGD with 40 steps of size ``2.5 * eps / 40`` (Madry et al.'s rule: the step scales with
    epsilon, which matters on a grid from 0.1/255 to 8/255) from a uniformly random start,
    APGD-CE with 100 steps and Square with 5,000 queries (AutoAttack's settings), one restart
    each. Square's schedule of square sizes is AutoAttack's too: ``p_init = 0.8`` halved at fixed
    query counts (10, 50, 200, 500, 1000, 2000, 4000, ...), not rescaled to the query budget
    (AutoAttack builds its ``SquareAttack`` with ``resc_schedule=False``; torchattacks'
    ``Square`` defaults to ``True``, which at 5,000 queries shrinks the squares twice as fast).
    Every number is a field of :class:`AttackProtocol`; its :meth:`~AttackProtocol.fingerprint`
    keys the result store, so results under another protocol never mix.

Counting
    Accuracy under attack is the share of *all* images classified correctly after the attack,
    as the release counts it (its FGSM accuracies at 255/255 sit at chance, 1/120 on
    ImageNet16-120, uncorrelated with clean accuracy; counting only images classified
    correctly clean would scale them with it). FGSM and PGD attack every image, so a wrong clean
    prediction the attack happens to turn right counts; APGD and Square (AutoAttack's) attack
    only the correctly classified images and return the others unchanged, still wrong.

Randomness
    APGD and Square reseed torch's global RNG on every call, and PGD's random start draws from
    it. Every attack call here runs inside :func:`torch.random.fork_rng` (CPU and, on CUDA, the
    device's generator) seeded with ``seed + batch``: the global RNG stream of the process is
    left exactly as it was, and a batch's result does not depend on what ran before it. It
    does depend on the batch size and the batch's images, which are not part of the
    fingerprint: PGD's start in batch ``b`` comes from ``seed + b``; APGD and Square restart
    at ``seed`` in every batch and draw for the batch's correctly classified images only;
    Square moves one square per step for the whole batch. FGSM, and PGD without a random
    start, give each image the result it gets alone.

Inputs are images in ``[0, 1]``; the model normalises them itself (:class:`NB201Network`) and
must be in eval mode (torchattacks would otherwise attack batch-norm statistics in training
mode; :func:`make_attack` refuses a model in training mode).

>>> protocol = AttackProtocol()
>>> protocol.pgd_steps, protocol.apgd_steps, protocol.square_queries
(40, 100, 5000)
>>> protocol.fingerprint() == AttackProtocol(pgd_steps=40).fingerprint()
True
>>> protocol.fingerprint() == AttackProtocol(pgd_steps=10).fingerprint()
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from robnas.errors import RobnasError
from robnas.vocabulary import CLEAN, Attack, Corruption

if TYPE_CHECKING:
    import torch
    from torch import nn

ATTACK_KEYS: tuple[str, ...] = tuple(a.value for a in Attack)
"""Keys evaluated by attacking clean test images."""
CORRUPTION_KEYS: tuple[str, ...] = tuple(c.value for c in Corruption)
"""Keys evaluated on corrupted test images, without an attack."""
EPSILON_UNIT = 1 / 255
"""The release gives epsilons in units of 1/255."""


@dataclass(frozen=True)
class AttackProtocol:
    """Every setting of the attacks that changes a result (see the module docs).

    Attributes:
        pgd_steps: PGD iterations.
        pgd_alpha_factor: PGD step size as a multiple of ``eps / pgd_steps``.
        pgd_random_start: PGD starts from a uniformly random point in the epsilon ball.
        apgd_steps: APGD-CE iterations.
        apgd_rho: APGD's step-size-halving threshold (torchattacks default 0.75).
        square_queries: Square attack queries per image.
        square_p_init: Square's initial fraction of pixels changed (torchattacks default 0.8).
        square_rescale_schedule: rescale Square's square-size schedule to ``square_queries``
            (torchattacks' ``resc_schedule``; AutoAttack, whose Square the release's
            ``aa_square`` names, uses ``False``).
        seed: seed of the attacks' randomness: PGD's random start in batch ``b`` draws from
            a generator seeded with ``seed + b``; APGD and Square reseed with ``seed`` itself
            on every batch (torchattacks' own behaviour).
    """

    pgd_steps: int = 40
    pgd_alpha_factor: float = 2.5
    pgd_random_start: bool = True
    apgd_steps: int = 100
    apgd_rho: float = 0.75
    square_queries: int = 5000
    square_p_init: float = 0.8
    square_rescale_schedule: bool = False
    seed: int = 0

    def fingerprint(self) -> str:
        """A short stable hash of the settings (equal settings, equal fingerprint)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """The settings and fingerprint, JSON-ready (for provenance)."""
        return {**asdict(self), "fingerprint": self.fingerprint()}


def is_attack(key: str) -> bool:
    """Whether ``key`` is an attack key of the release."""
    return key in ATTACK_KEYS


def make_attack(model: nn.Module, key: str, epsilon: float, protocol: AttackProtocol) -> Any:
    """The torchattacks object for ``key`` at ``epsilon`` (units of 1/255), one per epsilon.

    Raises:
        RobnasError: ``key`` is not an attack key, ``epsilon`` is negative, or ``model`` is in
            training mode.
    """
    import torchattacks

    if model.training:
        raise RobnasError("attacks need the model in eval mode (call model.eval())")
    if epsilon < 0:
        raise RobnasError(f"epsilon must be >= 0, got {epsilon}")
    eps = float(epsilon) * EPSILON_UNIT
    if key == Attack.FGSM.value:
        return torchattacks.FGSM(model, eps=eps)
    if key == Attack.PGD.value:
        alpha = protocol.pgd_alpha_factor * eps / protocol.pgd_steps
        return torchattacks.PGD(model, eps=eps, alpha=alpha, steps=protocol.pgd_steps,
                                random_start=protocol.pgd_random_start)
    if key == Attack.APGD_CE.value:
        return torchattacks.APGD(model, norm="Linf", eps=eps, steps=protocol.apgd_steps,
                                 n_restarts=1, seed=protocol.seed, loss="ce", eot_iter=1,
                                 rho=protocol.apgd_rho, verbose=False)
    if key == Attack.SQUARE.value:
        return torchattacks.Square(model, norm="Linf", eps=eps, n_queries=protocol.square_queries,
                                   n_restarts=1, p_init=protocol.square_p_init, loss="margin",
                                   resc_schedule=protocol.square_rescale_schedule, seed=protocol.seed,
                                   verbose=False)
    raise RobnasError(f"{key!r} is not an attack; valid: {', '.join(ATTACK_KEYS)}")


@contextmanager
def preserved_rng(device: torch.device, seed: int) -> Iterator[None]:
    """Run the body with torch's RNG seeded to ``seed``, then restore the global RNG state.

    Saves and restores the CPU generator and, on a CUDA device, that device's generator, so
    code that reseeds (APGD, Square) or draws (PGD's random start) leaves no trace.
    """
    import torch

    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def count_correct(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> int:
    """Images of the batch that ``model`` classifies correctly (no gradients)."""
    import torch

    with torch.no_grad():
        return int((model(images).argmax(dim=1) == labels).sum().item())


def attacked_correct(model: nn.Module, attack: Any, images: torch.Tensor, labels: torch.Tensor,
                     device: torch.device, seed: int) -> int:
    """Correct predictions on ``attack(images)``, with the global RNG preserved."""
    with preserved_rng(device, seed):
        adversarial = attack(images, labels)
    return count_correct(model, adversarial, labels)


BatchCallback = Callable[[int, int, int, float], None]
"""``(batch, correct, n, seconds)``, called after each evaluated batch."""


def evaluate_batches(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    key: str = CLEAN,
    epsilon: float | None = None,
    protocol: AttackProtocol | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    skip: frozenset[int] | set[int] = frozenset(),
    on_batch: BatchCallback | None = None,
    progress: bool = False,
) -> tuple[int, int]:
    """Count correct predictions over ``images`` in batches, under attack ``key`` if it is one.

    For ``clean`` and corruption keys the images are classified as given (pass the corrupted
    images for a corruption key). The model is moved to ``device`` and put in eval mode.

    Args:
        model: the network (inputs in ``[0, 1]``).
        images: ``N x 3 x H x W`` float images in ``[0, 1]`` (any device).
        labels: ``N`` int64 labels.
        key: ``clean``, a corruption key, or an attack key (then ``epsilon`` is required).
        epsilon: attack strength in units of 1/255.
        protocol: attack settings (default :class:`AttackProtocol`).
        device: where to compute.
        batch_size: images per batch.
        skip: batch numbers already done (resuming); they are not evaluated or counted.
        on_batch: called after each evaluated batch (e.g. to record progress).
        progress: show a tqdm progress bar.

    Returns:
        ``(correct, n)`` over the batches evaluated in this call.
    """
    import time

    import torch

    protocol = protocol or AttackProtocol()
    dev = torch.device(device)
    model = model.to(dev).eval()
    attack = None
    if is_attack(key):
        if epsilon is None:
            raise RobnasError(f"{key} needs an epsilon")
        attack = make_attack(model, key, epsilon, protocol)
    elif key != CLEAN and key not in CORRUPTION_KEYS:
        raise RobnasError(f"unknown key {key!r}")
    total = int(images.shape[0])
    n_batches = (total + batch_size - 1) // batch_size
    todo = [b for b in range(n_batches) if b not in skip]
    correct = seen = 0
    bar = _progress_bar(len(todo) * batch_size, f"{key}@{epsilon}" if attack else key, progress)
    try:
        for batch in todo:
            start = time.perf_counter()
            x = images[batch * batch_size:(batch + 1) * batch_size].to(dev)
            y = labels[batch * batch_size:(batch + 1) * batch_size].to(dev)
            if attack is None:
                ok = count_correct(model, x, y)
            else:
                ok = attacked_correct(model, attack, x, y, dev, protocol.seed + batch)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            seconds = time.perf_counter() - start
            correct += ok
            seen += int(y.shape[0])
            if on_batch is not None:
                on_batch(batch, ok, int(y.shape[0]), seconds)
            if bar is not None:
                bar.update(int(y.shape[0]))
    finally:
        if bar is not None:
            bar.close()
    return correct, seen


def _progress_bar(total: int, label: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="img", leave=False)
