"""Helpers shared by the measures: working copies, the layers they score, the loss."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

    from robnas.evaluation.measures._batch import Batch


def working_copy(network: nn.Module, *, train: bool, dtype: torch.dtype | None = None,
                 raw_input: bool = False) -> nn.Module:
    """A deep copy to compute on, so the caller's network (weights, buffers, gradients, mode)
    is never changed.

    Args:
        network: the network.
        train: put the copy in training mode (batch statistics in batch norm).
        dtype: convert the copy's parameters and buffers.
        raw_input: drop an input normalisation (``mean``/``std`` buffers of
            :class:`~robnas.evaluation.network.NB201Network`), so the measure's own input
            reaches the first layer unchanged, as in the original definitions.
    """
    import torch

    net = copy.deepcopy(network)
    if dtype is not None:
        net = net.to(dtype)
    if raw_input:
        for name, value in (("mean", 0.0), ("std", 1.0)):
            buffer = getattr(net, name, None)
            if isinstance(buffer, torch.Tensor):
                buffer.fill_(value)
    for parameter in net.parameters():
        parameter.grad = None
        parameter.requires_grad_(True)
    return net.train(train)


def weighted_layers(network: nn.Module) -> list[nn.Module]:
    """The convolution and linear layers, in module order (the layers proxies score)."""
    from torch import nn

    return [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def cross_entropy(network: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean cross-entropy of ``network`` on the batch (which must have labels)."""
    from torch.nn import functional

    from robnas.evaluation.measures._registry import MeasureError

    if batch.labels is None:
        raise MeasureError("this measure needs labelled test images (a real batch)")
    logits = network(batch.images.to(_dtype(network)))
    return functional.cross_entropy(logits, batch.labels)


def input_gradients(network: nn.Module, batch: Batch) -> torch.Tensor:
    """``N x D``: the gradient of the sum of all outputs with respect to each input image, as
    the first layer sees it: for a network that normalises its input inside (the ``std``
    buffer of :class:`~robnas.evaluation.network.NB201Network`), with respect to the
    normalised image ``(x - mean) / std`` (the gradient for ``x`` times ``std``), as in the
    reference code, whose networks take normalised images."""
    import torch

    images = batch.images.to(_dtype(network)).clone().requires_grad_(True)
    network(images).sum().backward()
    assert images.grad is not None
    gradient = images.grad.detach()
    std = getattr(network, "std", None)
    if isinstance(std, torch.Tensor):
        gradient = gradient * std
    return gradient.reshape(images.shape[0], -1)


def _dtype(network: nn.Module) -> torch.dtype:
    return next(network.parameters()).dtype
