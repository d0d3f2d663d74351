"""The attack mapping, RNG hygiene and the behaviour of accuracy under attack."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields, replace

import pytest
import torch
import torchattacks

from robnas.errors import RobnasError
from robnas.evaluation.attacks import (
    ATTACK_KEYS,
    AttackProtocol,
    count_correct,
    evaluate_batches,
    make_attack,
)
from tests.evaluation.live_helpers import FAST, own_labels, small_net


@pytest.fixture(scope="module")
def net():
    return small_net()


@pytest.fixture(scope="module")
def data(net):
    return own_labels(net, 16)


def test_keys_map_to_torchattacks_with_the_protocol(net):
    protocol = AttackProtocol()
    fgsm = make_attack(net, "fgsm@Linf", 8, protocol)
    assert type(fgsm) is torchattacks.FGSM and fgsm.eps == pytest.approx(8 / 255)
    pgd = make_attack(net, "pgd@Linf", 4, protocol)
    assert type(pgd) is torchattacks.PGD
    assert (pgd.eps, pgd.steps, pgd.random_start) == (pytest.approx(4 / 255), 40, True)
    assert pgd.alpha == pytest.approx(2.5 * (4 / 255) / 40)
    apgd = make_attack(net, "aa_apgd-ce@Linf", 0.5, protocol)
    assert type(apgd) is torchattacks.APGD
    assert (apgd.eps, apgd.steps, apgd.loss, apgd.norm) == (pytest.approx(0.5 / 255), 100, "ce", "Linf")
    square = make_attack(net, "aa_square@Linf", 2, protocol)
    assert type(square) is torchattacks.Square
    assert (square.eps, square.n_queries, square.norm) == (pytest.approx(2 / 255), 5000, "Linf")
    assert make_attack(net, "pgd@Linf", 1, replace(protocol, pgd_steps=7)).steps == 7


def test_square_uses_autoattacks_unscaled_schedule(net):
    # AutoAttack (whose Square the release's aa_square names) builds SquareAttack with
    # p_init=0.8, n_queries=5000, resc_schedule=False: p halves after query 10, 50, 200, ...
    square = make_attack(net, "aa_square@Linf", 8, AttackProtocol())
    assert (square.p_init, square.n_queries, square.rescale_schedule) == (0.8, 5000, False)
    assert [square.p_selection(it) for it in (10, 30, 150, 400, 4500)] == pytest.approx(
        [0.8, 0.4, 0.2, 0.1, 0.8 / 128])
    rescaled = make_attack(net, "aa_square@Linf", 8, AttackProtocol(square_rescale_schedule=True))
    assert rescaled.p_selection(30) == pytest.approx(0.2)  # torchattacks' default: twice as fast


def test_bad_requests_raise(net):
    with pytest.raises(RobnasError, match="not an attack"):
        make_attack(net, "fog", 1, AttackProtocol())
    with pytest.raises(RobnasError, match=">= 0"):
        make_attack(net, "fgsm@Linf", -1, AttackProtocol())
    training = small_net().train()
    with pytest.raises(RobnasError, match="eval mode"):
        make_attack(training, "fgsm@Linf", 1, AttackProtocol())


def test_fingerprint_is_stable_and_sensitive_to_every_setting():
    base = AttackProtocol()
    code = "from robnas.evaluation.attacks import AttackProtocol; print(AttackProtocol().fingerprint())"
    other_process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.strip()
    assert other_process == base.fingerprint()
    seen = {base.fingerprint()}
    for f in fields(AttackProtocol):
        value = getattr(base, f.name)
        changed = (not value) if isinstance(value, bool) else value + 1
        seen.add(replace(base, **{f.name: changed}).fingerprint())
    assert len(seen) == len(fields(AttackProtocol)) + 1


@pytest.mark.parametrize("key", ATTACK_KEYS)
def test_global_rng_stream_is_undisturbed(net, data, key):
    images, labels = data
    torch.manual_seed(1234)
    expected = torch.rand(5)
    torch.manual_seed(1234)
    evaluate_batches(net, images[:8], labels[:8], key=key, epsilon=8, protocol=FAST, batch_size=4)
    assert torch.equal(torch.rand(5), expected)


@pytest.mark.parametrize("key", ATTACK_KEYS)
def test_epsilon_zero_equals_clean_accuracy(net, key):
    images = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    labels = torch.arange(16) % 10  # not the net's own predictions: clean accuracy < 1
    clean = count_correct(net, images, labels)
    assert clean < 16
    correct, n = evaluate_batches(net, images, labels, key=key, epsilon=0, protocol=FAST, batch_size=8)
    assert (correct, n) == (clean, 16)


@pytest.mark.parametrize("key", ["fgsm@Linf", "pgd@Linf", "aa_apgd-ce@Linf"])
def test_accuracy_is_monotone_non_increasing_in_epsilon(net, data, key):
    images, labels = data
    accuracies = [
        evaluate_batches(net, images, labels, key=key, epsilon=eps, protocol=FAST, batch_size=16)[0]
        for eps in (0, 8, 12, 16, 20, 24, 32)
    ]
    assert accuracies[0] == len(labels)  # the labels are the net's own predictions
    assert accuracies == sorted(accuracies, reverse=True)
    assert len(set(accuracies)) >= 3 and accuracies[-1] == 0


def test_square_lowers_accuracy_and_is_reproducible(net, data):
    images, labels = data[0][:8], data[1][:8]
    first = evaluate_batches(net, images, labels, key="aa_square@Linf", epsilon=64, protocol=FAST,
                             batch_size=8)
    torch.manual_seed(99)  # the global RNG must not matter
    again = evaluate_batches(net, images, labels, key="aa_square@Linf", epsilon=64, protocol=FAST,
                             batch_size=8)
    assert first == again and first[0] < 8


def test_corruption_keys_classify_the_images_as_given(net, data):
    images, labels = data
    assert evaluate_batches(net, images, labels, key="fog", batch_size=10) == (len(labels), len(labels))
    assert evaluate_batches(net, images, labels, key="clean", batch_size=10) == (len(labels), len(labels))
    with pytest.raises(RobnasError, match="unknown key"):
        evaluate_batches(net, images, labels, key="rain")


def test_batches_can_be_skipped_and_reported(net, data):
    images, labels = data
    seen: list[tuple[int, int]] = []
    _, n = evaluate_batches(net, images, labels, key="pgd@Linf", epsilon=1, protocol=FAST,
                             batch_size=6, skip={1}, on_batch=lambda b, c, m, s: seen.append((b, m)))
    assert seen == [(0, 6), (2, 4)] and n == 10


class _Parabola(torch.nn.Module):
    """Two classes; class 0 wins when the mean pixel lies farther than 0.1 from 0.5."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # torchattacks reads the device off it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        margin = (x.mean(dim=(1, 2, 3)) - 0.5) ** 2 - 0.01
        return torch.stack([margin, torch.zeros_like(margin)], dim=1) + 0 * self.unused


def test_accuracy_under_attack_counts_every_image_as_the_release_does():
    # The release counts correct predictions on the attacked images over all test images: its
    # FGSM@255/255 accuracies sit at chance (1/120 on ImageNet16-120, uncorrelated with clean
    # accuracy), which counting only images classified correctly clean would not give. Here
    # FGSM's loss-raising step overshoots and turns a wrong clean prediction right: it counts.
    model, image, label = _Parabola(), torch.full((1, 3, 4, 4), 0.45), torch.tensor([0])
    assert evaluate_batches(model, image, label, key="clean") == (0, 1)
    assert evaluate_batches(model, image, label, key="fgsm@Linf", epsilon=255) == (1, 1)
    # APGD and Square (AutoAttack's) attack only correctly classified images; others stay wrong
    assert evaluate_batches(model, image, label, key="aa_apgd-ce@Linf", epsilon=255, protocol=FAST) == (0, 1)


@pytest.mark.parametrize("key", ["fgsm@Linf", "pgd@Linf"])
def test_deterministic_attacks_do_not_depend_on_the_batch_size(net, key):
    # eval-mode batch norm and a per-image sign step: a batch equals its images one at a time
    images = torch.rand(12, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    labels = net.eval()(images).argmax(dim=1)
    protocol = replace(FAST, pgd_random_start=False)
    counts = {size: evaluate_batches(net, images, labels, key=key, epsilon=16, protocol=protocol,
                                     batch_size=size) for size in (1, 5, 12)}
    assert len(set(counts.values())) == 1 and 0 < counts[1][0] < 12
