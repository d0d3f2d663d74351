"""Shared test fixtures.

Tests that need the real released data take the ``release_root`` fixture. It reads the path
from ``ROBNAS_TEST_DATA`` (``.ci/run`` sets it to ``../shared/robustness-data``): unset -> the
test is skipped; set but the data is missing -> the test fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_DATA_ENV = "ROBNAS_TEST_DATA"


@pytest.fixture(scope="session")
def release_root() -> Path:
    """The real release copy (``meta.json`` + ``<dataset>/<key>_accuracy.json``)."""
    value = os.environ.get(TEST_DATA_ENV)
    if not value:
        pytest.skip(f"{TEST_DATA_ENV} is not set")
    root = Path(value).resolve()
    if not (root / "meta.json").is_file():
        pytest.fail(f"{TEST_DATA_ENV}={value} but {root / 'meta.json'} does not exist")
    return root


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's cache and default data dir away from the user's own."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("ROBNAS_CACHE_DIR", str(base / "robnas-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
    monkeypatch.delenv("ROBNAS_DATA", raising=False)


@pytest.fixture(scope="session")
def cifar10_oracle(release_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """A TabularOracle over the real CIFAR-10 table (shared by the session)."""
    from robnas.benchmark import TabularOracle

    return TabularOracle("cifar10", data=release_root, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def ray_executor():
    """A :class:`RayExecutor` on a real 2-CPU local Ray instance, started once per test module.

    Executors built inside the module's tests (e.g. by the CLI) find the instance running and
    use it without stopping it.
    """
    ray = pytest.importorskip("ray")
    from robnas.execution import RayExecutor

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield RayExecutor()
    finally:
        ray.shutdown()
