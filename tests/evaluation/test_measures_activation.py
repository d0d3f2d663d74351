"""Activation- and input-gradient proxies against independent computations."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from robnas.evaluation.measures import Batch
from robnas.evaluation.measures._activation import epe_nas, epe_score, jacov, nwot, zen
from robnas.vocabulary import Dataset
from tests.evaluation.live_helpers import small_net
from tests.evaluation.measure_helpers import image_batch, mlp, vector_batch


def _input_jacobian(net, batch):
    """Gradient of the sum of all outputs w.r.t. each input, via autograd.functional (train mode)."""
    net = net.train()
    whole = torch.autograd.functional.jacobian(lambda x: net(x).sum(), batch.images)
    return whole.reshape(batch.images.shape[0], -1).double().numpy()


def test_jacov_matches_the_eigenvalue_formula() -> None:
    net, batch = mlp((6, 8, 4), activation=torch.nn.Tanh), vector_batch(n=5)
    jacobian = _input_jacobian(mlp((6, 8, 4), activation=torch.nn.Tanh), batch)
    eigenvalues = np.linalg.eigvals(np.corrcoef(jacobian)).real
    expected = -np.sum(np.log(eigenvalues + 1e-5) + 1 / (eigenvalues + 1e-5))
    assert jacov(net, batch) == pytest.approx(expected, rel=1e-6)


def test_jacov_and_epe_nas_take_gradients_of_the_normalised_image_the_first_layer_sees() -> None:
    # the reference code's networks take normalised images: J is d outputs / d ((x - mean) / std)
    net, batch = small_net(0), image_batch(6)
    inner = copy.deepcopy(net).train()
    mean, std = inner.mean.clone(), inner.std.clone()
    inner.mean.fill_(0.0)
    inner.std.fill_(1.0)  # the same network on images normalised outside
    normalised = (batch.images - mean) / std
    whole = torch.autograd.functional.jacobian(lambda z: inner(z).sum(), normalised)
    jacobian = whole.reshape(6, -1).double().numpy()
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobian))
    expected = -np.sum(np.log(eigenvalues + 1e-5) + 1 / (eigenvalues + 1e-5))
    assert jacov(net, batch) == pytest.approx(expected, rel=1e-6)
    labels = np.array([0, 0, 0, 1, 1, 1])
    labelled = Batch(batch.images, torch.from_numpy(labels), Dataset.CIFAR10, 0)
    assert epe_nas(net, labelled) == pytest.approx(epe_score(jacobian, labels, 10), rel=1e-6)


def test_jacov_is_nan_when_an_input_gradient_is_constant() -> None:
    net = mlp((6, 4), activation=torch.nn.Identity)  # linear: every image has the same gradient...
    batch = vector_batch(n=4)
    value = jacov(net, batch)  # ...so correlations are all 1 (finite) -- not NaN
    assert math.isfinite(value)
    dead = mlp((6, 4), activation=torch.nn.Identity)
    with torch.no_grad():
        dead[0].weight.zero_()  # zero gradient: correlation undefined
    assert math.isnan(jacov(dead, batch))


def test_nwot_is_the_logdet_of_the_hamming_kernel_of_relu_codes() -> None:
    net, batch = mlp((6, 7, 5, 3)), vector_batch(n=6)
    h1 = batch.images @ net[0].weight.T + net[0].bias
    h2 = torch.relu(h1) @ net[2].weight.T + net[2].bias
    codes = torch.cat([(h1 > 0), (h2 > 0)], dim=1).double().numpy()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    assert nwot(net, batch) == pytest.approx(np.linalg.slogdet(kernel)[1], rel=1e-9)


def test_nwot_sees_the_input_of_in_place_relus_of_an_nb201_network() -> None:
    net = small_net(0)
    value = nwot(net, image_batch(6))
    assert math.isfinite(value)
    # the kernel's diagonal counts every ReLU unit, so log det K <= N log(units): a finite, positive score
    assert value > 0


def test_epe_score_by_hand_for_two_classes() -> None:
    jacobian = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 3.0], [5.0, 1.0, 2.0]])
    labels = np.array([0, 0, 1, 1, 1])
    expected = 0.0
    for c in (0, 1):
        corr = np.corrcoef(jacobian[labels == c])
        expected += abs(np.sum(np.log(np.abs(corr) + 1e-5)))
    assert epe_score(jacobian, labels, 10) == pytest.approx(expected)
    # above 100 classes: scores per class divided by their size, then mean pairwise differences
    s = [np.sum(np.log(np.abs(np.corrcoef(jacobian[labels == c])) + 1e-5)) / (labels == c).sum() for c in (0, 1)]
    assert epe_score(jacobian, labels, 120) == pytest.approx(2 * abs(s[0] - s[1]) / 2)


def test_epe_score_above_100_classes_leaves_out_classes_seen_once() -> None:
    # ImageNet16-120 (120 classes): a batch of 64 sees most classes once; such a class has no
    # correlations, and the authors' code leaves it out of the pairwise differences and C_seen
    jacobian = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 3.0], [5.0, 1.0, 2.0],
                         [4.0, 4.0, 1.0], [0.0, 2.0, 2.0]])
    labels = np.array([0, 0, 1, 1, 1, 7, 9])  # classes 7 and 9 seen once
    s = [np.sum(np.log(np.abs(np.corrcoef(jacobian[labels == c])) + 1e-5)) / (labels == c).sum() for c in (0, 1)]
    assert epe_score(jacobian, labels, 120) == pytest.approx(2 * abs(s[0] - s[1]) / 2)
    assert math.isnan(epe_score(jacobian[5:], labels[5:], 120))  # no class seen twice: no score
    # up to 100 classes a class seen once adds |log(1 + 1e-5)|, as the authors' code does
    assert epe_score(jacobian, labels, 10) == pytest.approx(
        epe_score(jacobian[:5], labels[:5], 10) + 2 * math.log(1 + 1e-5))


def test_epe_nas_uses_the_network_input_gradients() -> None:
    net, batch = mlp((6, 8, 4), activation=torch.nn.Tanh), vector_batch(n=8)
    jacobian = _input_jacobian(mlp((6, 8, 4), activation=torch.nn.Tanh), batch)
    assert epe_nas(net, batch) == pytest.approx(epe_score(jacobian, batch.labels.numpy(), 10), rel=1e-6)


def test_zen_of_a_single_convolution_without_batch_norm() -> None:
    conv = torch.nn.Conv2d(3, 2, 3, padding=1, bias=True)
    batch = Batch(torch.zeros(4, 3, 5, 5), None, Dataset.CIFAR10, seed=7)
    generator = torch.Generator().manual_seed(7)
    weight = torch.randn(conv.weight.shape, generator=generator)
    torch.randn(4, 3, 5, 5, generator=generator)  # the clean input x: drawn first, cancels out
    noise = torch.randn(4, 3, 5, 5, generator=generator)
    # f is linear with zero bias: f(x) - f(x + 0.01 e) = -0.01 f(e); no batch norm term
    expected = math.log(float(torch.nn.functional.conv2d(0.01 * noise, weight, padding=1).abs().sum((1, 2, 3)).mean()))
    assert zen(conv, batch) == pytest.approx(expected, rel=1e-5)
    assert conv.bias is not None and conv.bias.abs().sum() > 0  # the caller's module is untouched


def test_zen_is_seeded_by_the_batch_and_keeps_the_global_rng() -> None:
    net = small_net(0)
    batch = Batch(torch.zeros(4, 3, 32, 32), None, Dataset.CIFAR10, seed=3)
    state = torch.random.get_rng_state()
    first = zen(net, batch)
    assert torch.equal(state, torch.random.get_rng_state())
    assert zen(net, batch) == first
    assert zen(net, Batch(batch.images, None, Dataset.CIFAR10, seed=4)) != first
