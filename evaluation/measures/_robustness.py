"""The paper's robustness measures on a network (trained weights or at initialisation).

Both run on a copy of the network in evaluation mode (batch norm with its running statistics),
so images do not interact and the per-image quantities below are exact:

* ``jacobian_norm``: ``mean_n ||d f(x_n) / d x_n||_F``, the Frobenius norm of the Jacobian of
  the logits with respect to the input image (in ``[0, 1]``, before the network's
  normalisation), one backward pass per class.
* ``hessian_eigenvalue``: ``mean_n lambda_max(d^2 L(x_n) / d x_n^2)`` with ``L`` the
  cross-entropy of image ``n``, by power iteration on Hessian-vector products (double
  backpropagation), one start vector per image from the batch's seeded generator. It stops
  after ``iterations`` steps or once every image's estimate changes by less than
  ``tolerance`` (relative). Power iteration finds the eigenvalue of largest magnitude (with its
  sign); for ReLU networks the input Hessian of the loss is positive semi-definite (the logits
  are piecewise linear in the input), so this is the largest eigenvalue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas.evaluation.measures._common import working_copy

if TYPE_CHECKING:
    from torch import nn

    from robnas.evaluation.measures._batch import Batch


def jacobian_norm(network: nn.Module, batch: Batch) -> float:
    """Mean Frobenius norm of the input-output Jacobian over the batch's images."""
    import torch

    net = working_copy(network, train=False)
    images = batch.images.clone().requires_grad_(True)
    logits = net(images)
    squared = torch.zeros(images.shape[0], dtype=torch.float64, device=images.device)
    for k in range(logits.shape[1]):
        (gradient,) = torch.autograd.grad(logits[:, k].sum(), images, retain_graph=k + 1 < logits.shape[1])
        squared += gradient.reshape(images.shape[0], -1).double().pow(2).sum(dim=1)
    return float(squared.sqrt().mean())


def hessian_eigenvalue(network: nn.Module, batch: Batch, iterations: int = 20,
                       tolerance: float = 1e-3) -> float:
    """Mean over images of the dominant eigenvalue of the loss's input Hessian."""
    import torch
    from torch.nn import functional

    from robnas.evaluation.measures._registry import MeasureError

    if batch.labels is None:
        raise MeasureError("hessian_eigenvalue needs labelled test images (a real batch)")
    if iterations < 1 or tolerance < 0:
        raise MeasureError(f"hessian_eigenvalue needs iterations >= 1 and tolerance >= 0, "
                           f"got {iterations} and {tolerance}")
    net = working_copy(network, train=False)
    images = batch.images.clone().requires_grad_(True)
    n = images.shape[0]
    loss = functional.cross_entropy(net(images), batch.labels, reduction="sum")
    (gradient,) = torch.autograd.grad(loss, images, create_graph=True)
    vector = torch.randn(images.shape, generator=batch.generator(), device=images.device)
    vector = _unit(vector)
    estimate = torch.zeros(n, dtype=torch.float64, device=images.device)
    for step in range(iterations):
        (product,) = torch.autograd.grad(gradient, images, grad_outputs=vector, retain_graph=True)
        previous = estimate
        estimate = (vector * product).reshape(n, -1).sum(dim=1).double()
        length = product.reshape(n, -1).norm(dim=1)
        moving = length > 0
        vector = torch.where(moving.view(-1, *[1] * (vector.dim() - 1)), _unit(product), vector).detach()
        change = (estimate - previous).abs() / previous.abs().clamp_min(1e-12)
        if step and bool((change[moving] <= tolerance).all()):
            break
    return float(estimate.mean())


def _unit(vectors):
    """Each image's vector scaled to unit length (zero vectors stay zero)."""
    n = vectors.shape[0]
    lengths = vectors.reshape(n, -1).norm(dim=1).clamp_min(1e-30)
    return vectors / lengths.view(-1, *[1] * (vectors.dim() - 1))
