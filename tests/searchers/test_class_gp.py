"""The finite-set Gaussian process: its posterior is scikit-learn's, built incrementally."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.gaussian_process.kernels import ConstantKernel as Constant

from robnas.arch import all_ops_array
from robnas.encodings import cell_features
from robnas.searchers._class_gp import ClassGaussianProcess


def _cells(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cell_features(all_ops_array()[rng.choice(15625, size=count, replace=False)])[:, :30]


def _sklearn_posterior(gp: ClassGaussianProcess, rows: np.ndarray, targets: np.ndarray):
    kernel = (Constant(gp.amplitude, "fixed") * RBF(gp.length_scale, "fixed")
              + WhiteKernel(gp.noise, "fixed"))
    model = GaussianProcessRegressor(kernel, alpha=0.0, optimizer=None).fit(gp.features[rows], targets)
    mean, std = model.predict(gp.features, return_std=True)
    return mean, std ** 2 - gp.noise  # the latent variance (scikit-learn's std includes the noise)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("first", "ard"), [(5, False), (20, False), (20, True)])
def test_incremental_posterior_equals_scikit_learn_conditioned_at_once(first: int, ard: bool) -> None:
    features = _cells(400, seed=1)
    rng = np.random.default_rng(2)
    rows = rng.choice(len(features), size=60, replace=False)
    targets = np.sin(features[rows] @ rng.normal(size=30)) + 0.1 * rng.normal(size=60)
    gp = ClassGaussianProcess(features, ard=ard)
    gp.fit(rows[:first], targets[:first])
    assert np.shape(gp.length_scale) == ((30,) if ard else ())
    for stop in (first + 1, first + 17, 60):  # one, then several, then the rest, all as extensions
        gp.extend(rows[len(gp.rows):stop])
        np.testing.assert_array_equal(gp.rows, rows[:stop])
        mean, std = gp.posterior(targets[:stop])
        want_mean, want_variance = _sklearn_posterior(gp, rows[:stop], targets[:stop])
        np.testing.assert_allclose(mean, want_mean, atol=1e-7)
        np.testing.assert_allclose(std ** 2, want_variance, atol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_matches_scikit_learns_marginal_likelihood_fit() -> None:
    features = _cells(300, seed=3)
    rng = np.random.default_rng(4)
    rows = rng.choice(len(features), size=80, replace=False)
    targets = features[rows] @ rng.normal(size=30)
    targets = (targets - targets.mean()) / targets.std()
    gp = ClassGaussianProcess(features)
    gp.fit(rows, targets)
    kernel = (Constant(1.0, (1e-3, 1e3)) * RBF(1.0, (0.05, 100.0)) + WhiteKernel(1e-2, (1e-6, 1.0)))
    model = GaussianProcessRegressor(kernel, random_state=0).fit(features[rows], targets)
    assert gp.length_scale == pytest.approx(model.kernel_.k1.k2.length_scale)
    mean, _ = gp.posterior(targets)
    np.testing.assert_allclose(mean, model.predict(features), atol=1e-7)


def test_refit_after_extending_starts_from_every_row_told() -> None:
    features = _cells(200, seed=5)
    rows = np.arange(30)
    targets = features[rows, 0] - features[rows, 7]
    gp = ClassGaussianProcess(features)
    gp.fit(rows[:10], targets[:10])
    gp.extend(rows[10:20])
    gp.fit(rows, targets)
    np.testing.assert_array_equal(gp.rows, rows)
    mean, std = gp.posterior(targets)
    want_mean, want_variance = _sklearn_posterior(gp, rows, targets)
    np.testing.assert_allclose(mean, want_mean, atol=1e-7)
    np.testing.assert_allclose(std ** 2, want_variance, atol=1e-9)
    assert std[rows].mean() < std[100:].mean()  # told cells are the least uncertain
