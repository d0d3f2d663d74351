"""The model-based searchers propose with one BLAS thread and give the caller's count back."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.searchers import HypervolumeImprovementSearch, ParEGOSearch, PredictorSearch


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


class _HviProbe(HypervolumeImprovementSearch):
    def _fit_and_queue(self) -> None:
        self.seen_threads.append(_blas_threads())
        super()._fit_and_queue()


class _ParEGOProbe(ParEGOSearch):
    def _fit(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.seen_threads.append(_blas_threads())
        return super()._fit(x, y)


class _PredictorProbe(PredictorSearch):
    def _fit_and_queue(self) -> None:
        self.seen_threads.append(_blas_threads())
        super()._fit_and_queue()


def _value(arch: Arch, objectives: int) -> float | tuple[float, ...]:
    code = class_code(arch)
    vector = tuple(float((code * (7 + 3 * j)) % 101) / 101 for j in range(objectives))
    return vector if objectives > 1 else vector[0]


@pytest.mark.parametrize(("probe", "objectives"), [
    (lambda: _HviProbe(num_init=5, seed=0), 2),
    (lambda: _ParEGOProbe(num_init=5, explore=0.0, seed=0), 2),
    (lambda: _PredictorProbe(num_init=5, seed=0), 1),
], ids=["hvi", "parego", "predictor"])
def test_models_are_fitted_with_one_blas_thread_and_the_count_is_restored(probe, objectives) -> None:
    # A bug that fits without the limit sees 2 threads inside; one that leaves the limit in
    # place sees 1 thread outside after the ask.
    if not _blas_threads():
        pytest.skip("no BLAS library loaded that threadpoolctl can control")
    searcher = probe()
    searcher.seen_threads = []
    with threadpool_limits(limits=2, user_api="blas"):
        for _ in range(12):
            arch = searcher.ask()
            assert _blas_threads() == {2}
            searcher.tell(arch, _value(arch, objectives))
    assert searcher.seen_threads, "the model was never fitted"
    assert all(seen == {1} for seen in searcher.seen_threads)
