"""Gradient-based zero-cost proxies against independent computations on small networks."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional

from robnas.evaluation.measures import MEASURES
from robnas.evaluation.measures._gradient import fisher, grad_norm, grasp, l2_norm, plain, snip, synflow
from tests.evaluation.live_helpers import small_net
from tests.evaluation.measure_helpers import image_batch, mlp, vector_batch


def test_synflow_of_a_linear_chain_is_layers_times_the_path_sum() -> None:
    # R = 1^T |W3| |W2| |W1| 1, and every layer's sum |W * dR/dW| equals R: synflow = 3 R
    net = mlp((5, 4, 3, 2), activation=torch.nn.Identity, bias=False)
    w1, w2, w3 = (layer.weight.detach().double().abs() for layer in net if isinstance(layer, torch.nn.Linear))
    path_sum = float(torch.ones(1, 2, dtype=torch.float64) @ w3 @ w2 @ w1 @ torch.ones(5, 1, dtype=torch.float64))
    assert synflow(net, vector_batch(dim=5)) == pytest.approx(3 * path_sum, rel=1e-12)


def test_synflow_ignores_the_data_and_batch_norm_and_leaves_the_network_alone() -> None:
    net = small_net(0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    batch = image_batch(4)
    value = synflow(net, batch)
    assert value > 0 and math.isfinite(value)
    noisy = image_batch(4, seed=99)
    assert synflow(net, noisy) == value  # only the shape of the batch is used
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    assert not net.training


def _manual_loss_gradients(net, batch):
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    loss = functional.cross_entropy(net(batch.images), batch.labels)
    return layers, torch.autograd.grad(loss, [layer.weight for layer in layers])


def test_snip_plain_grad_norm_match_autograd_on_an_mlp() -> None:
    net, batch = mlp(), vector_batch()
    layers, grads = _manual_loss_gradients(net, batch)
    weights = [layer.weight.detach() for layer in layers]
    pairs = list(zip(weights, grads, strict=True))
    assert snip(net, batch) == pytest.approx(sum(float((w * g).abs().sum()) for w, g in pairs), rel=1e-6)
    assert plain(net, batch) == pytest.approx(sum(float((w * g).sum()) for w, g in pairs), rel=1e-5)
    assert grad_norm(net, batch) == pytest.approx(sum(float(g.norm()) for g in grads), rel=1e-6)


def test_grasp_is_minus_theta_times_hessian_gradient_from_the_full_hessian() -> None:
    net, batch = mlp((4, 3, 3), activation=torch.nn.Tanh), vector_batch(dim=4, classes=3)
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    shapes = [layer.weight.shape for layer in layers]
    sizes = [s.numel() for s in shapes]
    flat = torch.cat([layer.weight.detach().reshape(-1) for layer in layers]).double()
    biases = [layer.bias.detach().double() for layer in layers]

    def loss_of(theta: torch.Tensor) -> torch.Tensor:
        parts = torch.split(theta, sizes)
        hidden = torch.tanh(batch.images.double() @ parts[0].reshape(shapes[0]).T + biases[0])
        logits = hidden @ parts[1].reshape(shapes[1]).T + biases[1]
        return functional.cross_entropy(logits, batch.labels)

    hessian = torch.autograd.functional.hessian(loss_of, flat)
    gradient = torch.autograd.functional.jacobian(loss_of, flat)
    expected = float(-(flat * (hessian @ gradient)).sum())
    assert grasp(net, batch) == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_fisher_sums_half_mean_squared_activation_gradient_products_per_weight() -> None:
    # zero-cost-nas gives each weight its output channel's value: a channel counts fan-in times
    net, batch = mlp((6, 5, 4)), vector_batch()
    first, second = net[0], net[2]
    a1 = batch.images @ first.weight.T + first.bias
    a2 = torch.relu(a1) @ second.weight.T + second.bias
    g1, g2 = torch.autograd.grad(functional.cross_entropy(a2, batch.labels), [a1, a2])
    expected = sum(fan_in * float((a.detach() * g).pow(2).mean(0).mul(0.5).sum())
                   for fan_in, a, g in ((6, a1, g1), (5, a2, g2)))
    assert fisher(net, batch) == pytest.approx(expected, rel=1e-5)


def test_fisher_of_a_convolution_sums_space_first_and_counts_in_channels_times_kernel() -> None:
    conv, linear = torch.nn.Conv2d(3, 2, 3, padding=1), torch.nn.Linear(2 * 5 * 5, 4)
    net = torch.nn.Sequential(conv, torch.nn.Flatten(), linear)
    generator = torch.Generator().manual_seed(4)
    images, labels = torch.randn(6, 3, 5, 5, generator=generator), torch.tensor([0, 1, 2, 3, 0, 1])
    a1 = functional.conv2d(images, conv.weight, conv.bias, padding=1)
    a2 = a1.flatten(1) @ linear.weight.T + linear.bias
    g1, g2 = torch.autograd.grad(functional.cross_entropy(a2, labels), [a1, a2])
    per_channel = (a1.detach() * g1).sum((2, 3)).pow(2).mean(0).mul(0.5)  # 2 channels
    expected = 3 * 3 * 3 * float(per_channel.sum()) + 50 * float((a2.detach() * g2).pow(2).mean(0).mul(0.5).sum())
    batch = vector_batch()
    batch = type(batch)(images, labels, batch.dataset, 0)
    assert fisher(net, batch) == pytest.approx(expected, rel=1e-5)


def test_l2_norm_is_the_sum_of_layer_weight_norms() -> None:
    net = small_net(3)
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    expected = sum(math.sqrt(float((m.weight.detach() ** 2).sum())) for m in layers)
    assert l2_norm(net, image_batch(2)) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["synflow", "snip", "grasp", "fisher", "grad_norm", "plain"])
def test_gradient_measures_keep_torch_global_rng_and_are_deterministic(name: str) -> None:
    net, batch = small_net(1), image_batch(4)
    state = torch.random.get_rng_state()
    first = MEASURES[name](net, batch)
    assert torch.equal(state, torch.random.get_rng_state())
    assert MEASURES[name](net, batch) == first
