"""``robnas measures compute`` on a real local Ray instance: a killed worker, a killed driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.meta import SpaceMeta
from robnas.cli.main import main
from robnas.evaluation.measures import MeasureRequest, MeasureStore, compute_measures, get_measure
from tests.ray_processes import kill_a_worker_mid_task, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray workers in /proc")

MEASURE = "l2_norm"


@pytest.fixture(scope="module")
def setup(release_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    meta = SpaceMeta.load(release_root / "meta.json", ArrayCache(tmp_path_factory.mktemp("cache")))
    cells = [int(i) for i in meta.representatives[:12]]
    request = MeasureRequest((get_measure(MEASURE),), "cifar10")
    # expected: computed in this process (no executor)
    base = tmp_path_factory.mktemp("measures")
    expected = compute_measures(request, cells, meta, store=MeasureStore(base / "expected.sqlite"), jobs=1)
    return {"meta": meta, "cells": cells, "request": request, "expected": expected.frame[MEASURE].to_dict()}


def test_a_killed_ray_worker_has_its_chunk_retried_and_stored_once(setup, ray_executor, tmp_path) -> None:
    store = MeasureStore(tmp_path / "store.sqlite")
    _, result = kill_a_worker_mid_task(lambda: compute_measures(  # a worker dies mid-chunk
        setup["request"], setup["cells"], setup["meta"], store=store, executor=ray_executor, chunk=3))
    assert (result.computed, result.cached) == (len(setup["cells"]), 0)  # each value counted once
    assert result.frame[MEASURE].to_dict() == pytest.approx(setup["expected"], rel=1e-12)
    stored = store.values(setup["request"].settings(setup["request"].measures[0]))
    assert sorted(stored) == sorted(setup["cells"])


def test_a_killed_measures_driver_resumes_without_recomputing(setup, ray_executor, tmp_path, capsys) -> None:
    import ray

    cells_file, store_path = tmp_path / "cells.txt", tmp_path / "store.sqlite"
    # 60 cells in chunks of 8: the run is still going when the first chunk is stored, on any
    # machine (with only setup's 12 cells, both chunks could be stored between two polls)
    cells = [int(i) for i in setup["meta"].representatives[:60]]
    assert cells[:12] == setup["cells"]
    cells_file.write_text("\n".join(map(str, cells)) + "\n")
    argv = ["measures", "compute", "-m", MEASURE, "--archs", str(cells_file), "--data",
            os.environ["ROBNAS_TEST_DATA"], "--store", str(store_path), "--executor", "ray", "-q", "--json"]
    settings = setup["request"].settings(setup["request"].measures[0])
    driver = subprocess.Popen([sys.executable, "-m", "robnas", *argv, "--ray-address",
                               ray.get_runtime_context().gcs_address],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # killed once the first chunk (8 cells) is stored
        wait_for(lambda: driver.poll() is not None
                 or (store_path.exists() and MeasureStore(store_path).values(settings)), "a stored chunk", 300)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    before = MeasureStore(store_path).values(settings)
    assert 0 < len(before) < len(cells), "the driver was not killed mid-run"

    assert main(argv) == 0  # resumed here, on the same Ray instance
    summary = json.loads(capsys.readouterr().out)
    assert (summary["computed"], summary["cached"]) == (len(cells) - len(before), len(before))
    after = MeasureStore(store_path).values(settings)
    assert sorted(after) == sorted(cells)
    assert {i: after[i][0] for i in setup["cells"]} == pytest.approx(setup["expected"], rel=1e-12)
    assert {i: after[i] for i in before} == before  # finished values were not recomputed
