"""A Gaussian process over a fixed, finite set of cells, conditioned one told cell at a time.

NB201 has only 6,466 isomorphism classes, so the predictor scores every one of them at every
step. With scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor` that
costs a fresh Cholesky factorisation and an ``n x n x 6466`` triangular solve per step (78 ms
a step at 250-300 told cells, 10.6 s of CPU per 300-cell predictor run, against 15 ms and 2.2 s
updated as below: ``benchmarks/predictor_speed.py``).
Here the kernel's hyperparameters are still fitted by scikit-learn (maximum marginal
likelihood of ``ConstantKernel * RBF + WhiteKernel``), but between two such fits the posterior
over every candidate is *updated* when a cell is told: the Cholesky factor gains one row and
``V = L^-1 K(told, candidates)`` gains one row, ``O(n x m)`` per tell instead of
``O(n^2 x m)`` per step. The posterior is the same as scikit-learn's for the same kernel
(tested).

Over one-hot edge encodings the RBF kernel is an exponentiated Hamming kernel: the squared
distance of two cells is twice the number of edges on which they differ.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

JITTER = 1e-10
"""Added to a new pivot of the Cholesky factor before its square root (rounding guard)."""


class ClassGaussianProcess:
    """Posterior of a Gaussian process over the rows of ``features`` (the candidate cells).

    Targets are standardised by the caller. :meth:`fit` estimates the kernel on the rows told
    so far and conditions on them; :meth:`extend` conditions on more rows with the kernel kept;
    :meth:`posterior` gives the mean and standard deviation of the latent function (noise
    excluded) at every candidate.

    Args:
        features: ``(m, d)`` features of every candidate.
        seed: ``random_state`` of scikit-learn's optimiser restarts (none by default).
        ard: one length scale per feature column (automatic relevance determination) instead
            of one for all.

    >>> import numpy as np
    >>> x = np.eye(4)
    >>> gp = ClassGaussianProcess(x)
    >>> gp.fit(np.array([0, 1]), np.array([1.0, -1.0]))
    >>> mean, std = gp.posterior(np.array([1.0, -1.0]))
    >>> bool(mean[0] > 0 > mean[1]), bool(std[2] > std[0])
    (True, True)
    """

    def __init__(self, features: np.ndarray, seed: int = 0, ard: bool = False) -> None:
        self.features = np.asarray(features, dtype=np.float64)
        self.seed = seed
        self.ard = ard
        self._scaled = self.features
        self._norms = (self.features ** 2).sum(axis=1)
        self.amplitude = 1.0  # ConstantKernel's value (the prior variance)
        self.length_scale: float | np.ndarray = np.ones(self.features.shape[1]) if ard else 1.0
        self.noise = 1e-2  # WhiteKernel's noise level
        self.rows = np.zeros(0, dtype=np.int64)  # the told candidates, in conditioning order
        # The first len(rows) rows of two buffers that grow by doubling: the Cholesky factor L of
        # K(told, told) + noise I, and V = L^-1 K(told, every candidate).
        self._cholesky = np.zeros((0, 0))
        self._v = np.zeros((0, len(self.features)))

    @property
    def _size(self) -> int:
        return len(self.rows)

    def _reserve(self, size: int) -> None:
        if size <= len(self._v):
            return
        capacity = max(size, 2 * len(self._v), 16)
        cholesky = np.zeros((capacity, capacity))
        cholesky[:self._size, :self._size] = self._cholesky[:self._size, :self._size]
        v = np.zeros((capacity, len(self.features)))
        v[:self._size] = self._v[:self._size]
        self._cholesky, self._v = cholesky, v

    def kernel_rows(self, rows: np.ndarray) -> np.ndarray:
        """``K(rows, every candidate)`` without noise: ``(len(rows), m)``."""
        x = self._scaled
        squared = self._norms[rows, None] + self._norms[None, :] - 2.0 * x[rows] @ x.T
        return self.amplitude * np.exp(-0.5 * np.maximum(squared, 0.0))

    def fit(self, rows: np.ndarray, targets: np.ndarray) -> None:
        """Fit the kernel's hyperparameters to ``targets`` at ``rows``, then condition on them."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, WhiteKernel
        from sklearn.gaussian_process.kernels import ConstantKernel as Constant

        kernel = (Constant(1.0, (1e-3, 1e3)) * RBF(self.length_scale, (0.05, 100.0))
                  + WhiteKernel(self.noise, (1e-6, 1.0)))
        with warnings.catch_warnings():  # a bound reached is an answer here, not a problem
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = GaussianProcessRegressor(kernel, random_state=self.seed).fit(
                self.features[rows], np.asarray(targets, dtype=np.float64))
        fitted: Any = model.kernel_
        self.amplitude = float(fitted.k1.k1.constant_value)
        scale = np.asarray(fitted.k1.k2.length_scale, dtype=np.float64)
        self.length_scale = scale if self.ard else float(scale)
        self.noise = float(fitted.k2.noise_level)
        self._scaled = self.features / scale
        self._norms = (self._scaled ** 2).sum(axis=1)
        self.condition(rows)

    def condition(self, rows: np.ndarray) -> None:
        """Condition on ``rows`` from scratch with the current hyperparameters."""
        rows = np.asarray(rows, dtype=np.int64)
        k = self.kernel_rows(rows)
        from scipy.linalg import solve_triangular

        cholesky = np.linalg.cholesky(k[:, rows] + self.noise * np.eye(len(rows)))
        self.rows = np.zeros(0, dtype=np.int64)
        self._cholesky, self._v = np.zeros((0, 0)), np.zeros((0, len(self.features)))
        self._reserve(len(rows))
        self._cholesky[:len(rows), :len(rows)] = cholesky
        self._v[:len(rows)] = solve_triangular(cholesky, k, lower=True)
        self.rows = rows.copy()

    def extend(self, rows: np.ndarray) -> None:
        """Condition on more ``rows`` (after those already told), one rank-one step each."""
        for row in np.asarray(rows, dtype=np.int64):
            size = self._size
            self._reserve(size + 1)
            v = self._v[:size]
            column = v[:, row].copy()  # L^-1 K(told, row)
            pivot = np.sqrt(max(self.amplitude + self.noise - column @ column, JITTER))
            self._v[size] = (self.kernel_rows(np.array([row]))[0] - column @ v) / pivot
            self._cholesky[size, :size] = column
            self._cholesky[size, size] = pivot
            self.rows = np.append(self.rows, row)

    def posterior(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation at every candidate, given ``targets`` at :attr:`rows`
        (in that order)."""
        from scipy.linalg import solve_triangular

        size = self._size
        v = self._v[:size]
        weights = solve_triangular(self._cholesky[:size, :size], np.asarray(targets, dtype=np.float64),
                                   lower=True)
        mean = v.T @ weights
        variance = self.amplitude - np.einsum("ij,ij->j", v, v)
        return mean, np.sqrt(np.maximum(variance, 0.0))
