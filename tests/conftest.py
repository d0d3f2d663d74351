"""Shared test fixtures.

Tests that need the real released data take the ``release_root`` fixture. It reads the path
from ``ROBNAS_TEST_DATA`` (``.ci/run`` sets it to ``../shared/robustness-data``): unset -> the
test is skipped; set but the data is missing -> the test fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_DATA_ENV = "ROBNAS_TEST_DATA"
_SKIP_REASON = (f"{TEST_DATA_ENV} is not set: tests that read the released data are skipped "
                f"(set it to the data folder, e.g. {TEST_DATA_ENV}=../shared/robustness-data)")


def _needs_data(item: pytest.Item) -> bool:
    return "release_root" in getattr(item, "fixturenames", ())


def pytest_report_header(config: pytest.Config) -> str | None:
    if os.environ.get(TEST_DATA_ENV):
        return f"{TEST_DATA_ENV}={os.environ[TEST_DATA_ENV]}: tests use the real released data"
    return f"WARNING: {_SKIP_REASON}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(TEST_DATA_ENV):
        return
    skip = pytest.mark.skip(reason=f"{TEST_DATA_ENV} is not set")
    for item in items:
        if _needs_data(item):
            item.add_marker(skip)


def pytest_report_collectionfinish(config: pytest.Config, start_path: Path, items: list[pytest.Item]) -> str | None:
    if os.environ.get(TEST_DATA_ENV):
        return None
    skipped = sum(_needs_data(item) for item in items)
    return (f"WARNING: {skipped} of {len(items)} tests will be SKIPPED because {TEST_DATA_ENV} is "
            "not set (they read the released data); set it to run them")


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
    """Keep every test's cache and default data dir away from the user's own, and offline
    (a test of the first-run fetch turns it back on, against a loopback server)."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("ROBNAS_CACHE_DIR", str(base / "robnas-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
    monkeypatch.delenv("ROBNAS_DATA", raising=False)
    monkeypatch.setenv("ROBNAS_OFFLINE", "1")
    monkeypatch.delenv("ROBNAS_BASE_URL", raising=False)


@pytest.fixture(scope="session")
def cifar10_oracle(release_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """A TabularOracle over the real CIFAR-10 table (shared by the session)."""
    from robnas.benchmark import TabularOracle

    return TabularOracle("cifar10", data=release_root, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session", autouse=True)
def _ray_temp_dir() -> Iterator[None]:
    """Give the Ray instances the tests start (:func:`ray_executor`'s, the CLI's own) a
    temporary folder of this test session (``RAY_TMPDIR``), removed at its end.

    Ray keeps each instance's session folder (logs, sockets, about 250 kB) under
    ``$RAY_TMPDIR/ray`` (default ``/tmp/ray``) after the instance stops, as it does for any
    program: a run of the tests left eight. There too it finds a cluster that ``ray start``
    runs on this machine; ``RAY_ADDRESS`` is unset for the same reason: the tests' instances
    are their own. The folder's path is short: Ray's socket paths in it must stay under the
    108 bytes of a Unix socket's address.
    """
    base = "/tmp" if os.path.isdir("/tmp") else None
    folder = tempfile.mkdtemp(prefix="robnas-ray-", dir=base)
    saved = {name: os.environ.pop(name, None) for name in ("RAY_TMPDIR", "RAY_ADDRESS")}
    os.environ["RAY_TMPDIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("RAY_TMPDIR", None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_executor():
    """A :class:`RayExecutor` on a real 2-CPU local Ray instance, started once per test module.

    Executors built inside the module's tests (e.g. by the CLI) find the instance running and
    use it without stopping it.
    """
    ray = pytest.importorskip("ray")
    from robnas.execution import RayExecutor

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield RayExecutor()
    finally:
        ray.shutdown()
