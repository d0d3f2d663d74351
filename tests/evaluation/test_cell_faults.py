"""Faults of live cell evaluations on a real local Ray instance: a worker killed mid-cell, a
killed driver (``robnas table build`` and ``robnas verify`` share this path: ``evaluate_cells``)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

import pytest

from robnas.cli.main import main
from robnas.evaluation.cell_tasks import LiveSettings, scratch_store
from robnas.evaluation.store import ResultStore
from robnas.evaluation.table_build import build_table, parse_attack, terms_of
from tests.evaluation.live_helpers import FAST
from tests.evaluation.table_fixture import REPRESENTATIVES, write_build_source
from tests.ray_processes import kill_a_worker_mid_task, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray workers in /proc")

N_IMAGES, BATCH = 16, 4
ATTACK = "fgsm@1,2"
OBJECTIVES = ("clean", "fgsm@1/255", "fgsm@2/255")
BATCHES_PER_CELL = len(OBJECTIVES) * N_IMAGES // BATCH


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    data, weights, images = write_build_source(base, N_IMAGES)
    settings = LiveSettings("cifar10", str(weights), str(images), str(data), N_IMAGES, FAST, "cpu", 200,
                            None, BATCH)
    # expected values: the live oracle in this process, no executor, rounded as the release
    oracle = settings.oracle(base / "expected.sqlite")
    expected = {rep: [round(oracle.value(oracle.meta.arch_at(rep), o), 3) for o in OBJECTIVES]
                for rep in REPRESENTATIVES}
    options = ["--dataset", "cifar10", "--weights", settings.weights, "--images", settings.images,
               "--data", settings.data, "--n-images", str(N_IMAGES), "--batch-size", str(BATCH),
               "--device", "cpu", "--pgd-steps", "5", "--apgd-steps", "5", "--square-queries", "10"]
    return {"settings": settings, "expected": expected, "options": options}


def _table(root) -> dict[int, list[float]]:
    read = lambda key: json.loads((root / "cifar10" / f"{key}_accuracy.json").read_text())["cifar10"][key]["accuracy"]  # noqa: E731
    clean, fgsm = read("clean"), read("fgsm@Linf")
    return {int(i): [clean[i], *fgsm[i]] for i in clean}


def _finished_batches(path) -> int:
    """Batches recorded in a scratch store: progress rows, plus all batches of finished terms."""
    try:
        with sqlite3.connect(path) as db:
            progress = db.execute("SELECT COUNT(*) FROM progress").fetchone()[0]
            results = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0
    return progress + results * (N_IMAGES // BATCH)


def test_a_worker_killed_mid_cell_resumes_at_its_first_unfinished_batch(source, ray_executor, tmp_path):
    settings, cell = source["settings"], REPRESENTATIVES[1]
    key, epsilons = parse_attack(ATTACK, {})
    scratch = scratch_store(settings, cell, terms_of(key, epsilons))
    scratch.unlink(missing_ok=True)
    seen: list[int] = []

    def two_batches_done() -> bool:
        seen.append(_finished_batches(scratch) if scratch.exists() else 0)
        return seen[-1] >= 2

    # the worker dies mid-cell, once it has recorded two batches
    _, done = kill_a_worker_mid_task(lambda: build_table(
        settings, key, epsilons, [cell], tmp_path / "table", store=ResultStore(tmp_path / "store.sqlite"),
        executor=ray_executor), ready=two_batches_done)
    before = seen[-1]
    assert (done.evaluated, done.cells) == (1, 1)
    # the retry ran only what the dead worker had not recorded (a fresh start runs them all)
    assert 0 <= done.batches <= BATCHES_PER_CELL - before
    assert _table(tmp_path / "table") == {cell: source["expected"][cell]}
    assert ResultStore(tmp_path / "store.sqlite").count() == len(OBJECTIVES)
    assert not scratch.exists()  # removed once the counts were returned


def test_a_killed_table_build_driver_resumes_without_recomputing(source, ray_executor, tmp_path, capsys):
    import ray

    out, store = tmp_path / "table", tmp_path / "store.sqlite"
    argv = ["table", "build", "--attack", ATTACK, "--archs", "representatives", *source["options"],
            "--out", str(out), "--store", str(store), "-q", "--json", "--executor", "ray"]
    # a second driver on this module's Ray instance, killed once some cells are stored
    driver = subprocess.Popen([sys.executable, "-m", "robnas", *argv, "--ray-address",
                               ray.get_runtime_context().gcs_address],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: driver.poll() is not None or (store.exists() and ResultStore(store).count() >= 3),
                 "a stored cell", timeout=300)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    oracle = source["settings"].oracle(store)
    terms = terms_of(*parse_attack(ATTACK, {}))
    finished = [c for c in REPRESENTATIVES if all(ResultStore(store).get(oracle.result_key(c, t)) for t in terms)]
    assert 0 < len(finished) < len(REPRESENTATIVES), "the driver was not killed mid-build"
    assert not out.exists() or not (out / "cifar10" / "fgsm@Linf_accuracy.json").exists()

    assert main(argv) == 0  # resumed here, on the same Ray instance
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["evaluated"] == len(REPRESENTATIVES) - len(finished)  # nothing finished again
    assert resumed["cells"] == len(REPRESENTATIVES)
    assert _table(out) == source["expected"]
    assert ResultStore(store).count() == len(REPRESENTATIVES) * len(terms)
