"""Zero-cost proxies from weights and their gradients (after Abdelfattah et al., ICLR 2021).

Each function has the measure signature ``f(network, batch) -> float`` and computes on a copy
of ``network`` (the caller's network is left as it was). "Layers" are the convolution and linear
layers; sums run over their weights (not biases, not batch-norm parameters), as in the
zero-cost-nas code. Loss-based proxies use the mean cross-entropy on the batch with the network
in training mode (batch statistics), as the original code does on a freshly built network.

Definitions (theta: a layer's weights; L: the loss):

* ``synflow`` (Tanaka et al., 2020): ``sum |theta * dR/dtheta|`` with ``R`` the sum of the
  outputs for an all-ones input of one image, all weights replaced by their absolute values,
  batch norm removed, in float64; no data.
* ``snip`` (Lee et al., 2019): ``sum |theta * dL/dtheta|``.
* ``grasp`` (Wang et al., 2020): ``sum -theta * (H g)``, ``g = dL/dtheta``, ``H`` the Hessian
  of ``L`` over all layer weights.
* ``fisher`` (Turner et al., 2020): at every layer output ``a`` (channel ``k``),
  ``F_k = 0.5 * mean_n (sum_hw a * dL/da)^2``; the score is ``sum_layers fan_in * sum_k F_k``
  with ``fan_in`` the weights per output channel (``in_channels * kh * kw``; a linear layer's
  ``in_features``): the zero-cost-nas code (and NASLib's) gives every weight of channel ``k``
  the value ``F_k`` and sums over weights, as for the per-weight proxies.
* ``grad_norm``: ``sum_layers ||dL/dtheta||_2``.
* ``plain``: ``sum theta * dL/dtheta``.
* ``l2_norm``: ``sum_layers ||theta||_2`` of the weights as initialised; no data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas.evaluation.measures._common import cross_entropy, weighted_layers, working_copy

if TYPE_CHECKING:
    from torch import nn

    from robnas.evaluation.measures._batch import Batch


def synflow(network: nn.Module, batch: Batch) -> float:
    """Synaptic flow on an all-ones image (float64, absolute weights, no batch norm)."""
    import torch
    from torch import nn

    net = working_copy(network, train=False, dtype=torch.float64, raw_input=True)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    ones = torch.ones((1, *batch.images.shape[1:]), dtype=torch.float64, device=batch.images.device)
    net(ones).sum().backward()
    return _saliency(net, absolute=True)


def snip(network: nn.Module, batch: Batch) -> float:
    """Connection sensitivity: ``sum |theta * dL/dtheta|``."""
    return _saliency(_backward(network, batch), absolute=True)


def plain(network: nn.Module, batch: Batch) -> float:
    """``sum theta * dL/dtheta``."""
    return _saliency(_backward(network, batch), absolute=False)


def grad_norm(network: nn.Module, batch: Batch) -> float:
    """``sum_layers ||dL/dtheta||_2``."""
    net = _backward(network, batch)
    return float(sum(float(layer.weight.grad.norm()) for layer in weighted_layers(net)
                     if layer.weight.grad is not None))


def grasp(network: nn.Module, batch: Batch) -> float:
    """Gradient signal preservation: ``sum -theta * (H g)``."""
    import torch

    net = working_copy(network, train=True)
    weights = [layer.weight for layer in weighted_layers(net)]
    gradient = torch.autograd.grad(cross_entropy(net, batch), weights, allow_unused=True)
    gradient = [torch.zeros_like(w) if g is None else g.detach() for w, g in zip(weights, gradient, strict=True)]
    with_graph = torch.autograd.grad(cross_entropy(net, batch), weights, create_graph=True, allow_unused=True)
    product = sum((g * f).sum() for g, f in zip(gradient, with_graph, strict=True) if f is not None)
    hessian_gradient = torch.autograd.grad(product, weights, allow_unused=True)
    return float(sum(_sum(-w.detach() * hg) for w, hg in zip(weights, hessian_gradient, strict=True)
                     if hg is not None))


def fisher(network: nn.Module, batch: Batch) -> float:
    """Fisher information of the layer outputs (channel saliency), each channel's value
    counted once per weight of the channel (its layer's fan-in), summed."""
    net = working_copy(network, train=True)
    captured: list = []

    def keep(module: nn.Module, _inputs: object, output: object) -> None:
        output.retain_grad()  # type: ignore[attr-defined]
        captured.append((module, output))

    handles = [layer.register_forward_hook(keep) for layer in weighted_layers(net)]
    try:
        cross_entropy(net, batch).backward()
    finally:
        for handle in handles:
            handle.remove()
    total = 0.0
    for layer, activation in captured:
        if activation.grad is None:
            continue
        product = activation.detach() * activation.grad
        per_channel = product.sum(dim=tuple(range(2, product.dim()))) if product.dim() > 2 else product
        fan_in = layer.weight[0].numel()  # the weights that share one output channel's value
        total += fan_in * float(per_channel.pow(2).mean(0).mul(0.5).sum())
    return total


def l2_norm(network: nn.Module, batch: Batch) -> float:
    """``sum_layers ||theta||_2`` (Frobenius norm of each layer's weights)."""
    return float(sum(float(layer.weight.detach().norm()) for layer in weighted_layers(network)))


def _backward(network: nn.Module, batch: Batch) -> nn.Module:
    net = working_copy(network, train=True)
    cross_entropy(net, batch).backward()
    return net


def _saliency(net: nn.Module, absolute: bool) -> float:
    """``sum theta * grad`` over the layers' weights (absolute values when ``absolute``)."""
    return float(sum(_sum(layer.weight * layer.weight.grad, absolute) for layer in weighted_layers(net)
                     if layer.weight.grad is not None))


def _sum(tensor: object, absolute: bool = False) -> float:
    value = tensor.detach()  # type: ignore[attr-defined]
    return float((value.abs() if absolute else value).sum())
