"""Zero-cost proxies from activations and input gradients (computed on a copy of the network,
in training mode as on a freshly built network).

Definitions (J: ``N x D``, row ``n`` the gradient of the sum of all outputs with respect to
image ``n`` as the network's first layer sees it, i.e. after the network's own input
normalisation, as in the reference code, whose networks take normalised images; k = 1e-5):

* ``jacov`` (Mellor et al., 2020, v1): ``-sum_i (log(v_i + k) + 1 / (v_i + k))`` with ``v`` the
  eigenvalues of the ``N x N`` correlation matrix of the rows of J. Needs images.
* ``nwot`` (NASWOT, Mellor et al., ICML 2021): ``log |det K|`` with ``K[n, m]`` the number of
  ReLU units (over all ReLUs, taken at their inputs) on which images ``n`` and ``m`` agree
  (both active or both inactive). Needs images.
* ``epe_nas`` (Lopes et al., 2021): per class ``c`` seen in the batch,
  ``s_c = sum log(|corr(J_c)| + k)`` over the correlation matrix of that class's rows
  (``s_c / N_c`` for more than 100 classes); the score is ``sum_c |s_c|`` for up to 100
  classes and ``sum_c sum_c' |s_c - s_c'| / C_seen`` above, where, as in the authors' code,
  only classes with at least two images in the batch count (``C_seen`` of them; NaN if none):
  a class seen once has no correlations. (Up to 100 classes it would add ``log(1 + k)``, which
  the authors' code keeps.) Needs images and labels.
* ``zen`` (Lin et al., ICCV 2021): on a copy re-initialised with Gaussian weights (N(0, 1);
  biases 0; batch norm weight 1, bias 0), with ``x, e ~ N(0, 1)`` from the batch's seeded
  generator: ``log mean_n sum |f(x) - f(x + 0.01 e)| + sum_BN log sqrt(mean running_var)``,
  ``f`` the feature map before global pooling. No data (only the batch's shape).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from robnas.evaluation.measures._common import input_gradients, working_copy

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from robnas.evaluation.measures._batch import Batch

_K = 1e-5


def jacov(network: nn.Module, batch: Batch) -> float:
    """Jacobian covariance score (NaN when some image's input gradient is constant)."""
    import numpy as np

    jacobian = input_gradients(working_copy(network, train=True), batch).double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        correlations = np.corrcoef(jacobian)
    if not np.isfinite(correlations).all():
        return math.nan
    eigenvalues = np.linalg.eigvalsh(correlations)
    return float(-np.sum(np.log(eigenvalues + _K) + 1.0 / (eigenvalues + _K)))


def nwot(network: nn.Module, batch: Batch) -> float:
    """NASWOT: log-determinant of the ReLU activation-code kernel."""
    import numpy as np
    import torch
    from torch import nn

    net = working_copy(network, train=True)
    n = batch.images.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64, device=batch.images.device)

    def accumulate(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        codes = (inputs[0].detach().reshape(n, -1) > 0).to(torch.float64)
        kernel.add_(codes @ codes.T).add_((1.0 - codes) @ (1.0 - codes).T)

    handles = [m.register_forward_pre_hook(accumulate) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(batch.images)
    finally:
        for handle in handles:
            handle.remove()
    _, logdet = np.linalg.slogdet(kernel.cpu().numpy())
    return float(logdet)


def epe_nas(network: nn.Module, batch: Batch) -> float:
    """EPE-NAS: how differently the input gradients correlate within each class."""

    if batch.labels is None:
        from robnas.evaluation.measures._registry import MeasureError

        raise MeasureError("epe_nas needs labelled test images (a real batch)")
    jacobian = input_gradients(working_copy(network, train=True), batch).double().cpu().numpy()
    labels = batch.labels.cpu().numpy()
    return epe_score(jacobian, labels, batch.num_classes)


def epe_score(jacobian: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """The EPE-NAS score of input gradients ``jacobian`` (``N x D``) with ``labels``."""
    import numpy as np

    per_class = {}
    for label in np.unique(labels):
        rows = jacobian[labels == label]
        if num_classes > 100 and len(rows) < 2:
            continue  # no correlations (the authors' code skips it: len() of a 0-d array fails)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlations = np.atleast_2d(np.corrcoef(rows))
        score = float(np.sum(np.log(np.abs(correlations) + _K)))
        if num_classes > 100:
            score /= len(correlations)
        per_class[int(label)] = score
    values = np.array(list(per_class.values()))
    if num_classes <= 100:
        return float(np.sum(np.abs(values)))
    if not len(values):
        return math.nan
    return float(np.abs(values[:, None] - values[None, :]).sum() / len(values))


def zen(network: nn.Module, batch: Batch, mixup: float = 1e-2) -> float:
    """Zen-score on Gaussian inputs with Gaussian weights."""
    import torch
    from torch import nn

    net = working_copy(network, train=True, raw_input=True)
    generator = batch.generator()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator,
                                                device=module.weight.device))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                if module.affine:
                    module.weight.fill_(1.0)
                    module.bias.zero_()
        shape, device = batch.images.shape, batch.images.device
        x = torch.randn(shape, generator=generator, device=device)
        noise = torch.randn(shape, generator=generator, device=device)
        features = _pre_pooling(net)
        first = features(x)
        second = features(x + mixup * noise)
        difference = (first - second).abs().reshape(shape[0], -1).sum(dim=1).mean()
        bn_terms = [torch.log(torch.sqrt(m.running_var.mean())) for m in net.modules()
                    if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None]
        return float(torch.log(difference) + sum(bn_terms, torch.zeros((), device=device)))


def _pre_pooling(net: nn.Module):
    """``x -> `` the input of ``net.global_pooling`` when the network has one, else the output."""
    pooling = getattr(net, "global_pooling", None)
    if pooling is None:
        return net

    def features(x):
        seen = []
        handle = pooling.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0]))
        try:
            net(x)
        finally:
            handle.remove()
        return seen[0]

    return features
