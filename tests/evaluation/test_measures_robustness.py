"""The Jacobian and Hessian measures against torch.autograd.functional on small inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional

from robnas.arch import Arch
from robnas.evaluation.measures import Batch
from robnas.evaluation.measures._robustness import hessian_eigenvalue, jacobian_norm
from robnas.evaluation.network import build_network
from robnas.vocabulary import Dataset
from tests.evaluation.live_helpers import CELL, small_net
from tests.evaluation.measure_helpers import image_batch, mlp, seeded, vector_batch


def test_jacobian_norm_matches_autograd_functional_jacobian_per_image() -> None:
    net, batch = small_net(0), image_batch(3)
    expected = []
    for image in batch.images:
        jac = torch.autograd.functional.jacobian(lambda x: net(x[None])[0], image)  # 10 x 3 x 32 x 32
        expected.append(float(jac.reshape(10, -1).norm()))
    assert jacobian_norm(net, batch) == pytest.approx(float(np.mean(expected)), rel=1e-5)
    assert not net.training  # the caller's network keeps its mode


def _top_eigenvalues(net, batch):
    """Eigenvalue of largest magnitude of each image's full input Hessian of the loss."""
    values = []
    for image, label in zip(batch.images, batch.labels, strict=True):
        def loss(x: torch.Tensor, label: torch.Tensor = label, shape: torch.Size = image.shape) -> torch.Tensor:
            return functional.cross_entropy(net(x.reshape(1, *shape)), label[None])
        hessian = torch.autograd.functional.hessian(loss, image.reshape(-1))
        eig = np.linalg.eigvalsh(hessian.double().numpy())
        values.append(eig[np.argmax(np.abs(eig))])
    return values


def test_hessian_eigenvalue_matches_the_full_hessian_of_a_smooth_network() -> None:
    net = mlp((6, 10, 4), activation=torch.nn.Tanh).double()
    batch = vector_batch(n=3)
    batch = Batch(batch.images.double(), batch.labels, batch.dataset, batch.seed)
    expected = float(np.mean(_top_eigenvalues(net, batch)))
    got = hessian_eigenvalue(net, batch, iterations=500, tolerance=1e-12)
    assert got == pytest.approx(expected, rel=1e-5)


def test_hessian_eigenvalue_of_a_tiny_nb201_network_on_4x4_images() -> None:
    net = seeded(lambda: build_network(Arch.from_string(CELL), "cifar10", channels=2, cells_per_stage=1)).eval()
    generator = torch.Generator().manual_seed(5)
    batch = Batch(torch.rand(2, 3, 4, 4, generator=generator), torch.tensor([1, 7]), Dataset.CIFAR10, 0)
    expected = _top_eigenvalues(net, batch)
    assert min(expected) >= 0  # ReLU network: the input Hessian of the loss is positive semi-definite
    got = hessian_eigenvalue(net, batch, iterations=1000, tolerance=1e-10)
    assert got == pytest.approx(float(np.mean(expected)), rel=1e-3)


def test_hessian_eigenvalue_stops_early_with_a_loose_tolerance_and_is_seeded() -> None:
    net, batch = small_net(0), image_batch(2)
    state = torch.random.get_rng_state()
    loose = hessian_eigenvalue(net, batch, iterations=50, tolerance=0.5)
    assert torch.equal(state, torch.random.get_rng_state())
    assert hessian_eigenvalue(net, batch, iterations=50, tolerance=0.5) == loose
    tight = hessian_eigenvalue(net, batch, iterations=200, tolerance=1e-9)
    assert loose <= tight * (1 + 1e-6)  # power iteration approaches the top eigenvalue from below


def test_hessian_eigenvalue_refuses_bad_settings_and_unlabelled_batches() -> None:
    from robnas.evaluation.measures import MeasureError

    net, batch = small_net(0), image_batch(2)
    with pytest.raises(MeasureError, match="iterations"):
        hessian_eigenvalue(net, batch, iterations=0)
    with pytest.raises(MeasureError, match="labelled"):
        hessian_eigenvalue(net, Batch(batch.images, None, Dataset.CIFAR10, 0))
