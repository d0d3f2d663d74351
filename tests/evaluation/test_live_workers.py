"""Live search with several workers: real networks evaluated by a real process pool."""

from __future__ import annotations

import json

import pytest

from robnas.arch import Arch
from robnas.cli.main import main
from robnas.execution import LocalExecutor
from robnas.loop import run_search
from robnas.run_record import TRIALS_FILE
from robnas.searchers import RandomSearch
from tests.evaluation.test_live_search import OBJECTIVE, SEED, live, roots

__all__ = ["roots"]  # the fixture, shared with test_live_search


def test_two_workers_evaluate_in_worker_processes_and_resume(roots, tmp_path) -> None:
    oracle = live(roots, store="workers.sqlite")
    with LocalExecutor(2) as executor:
        result = run_search(RandomSearch(seed=SEED), oracle, OBJECTIVE, 4, workers=2,
                            executor=executor, record_dir=tmp_path / "run")
    # random search proposes the same cells whatever the order results come back in
    assert sorted(t["arch"] for t in result.trials) == sorted(a.to_string() for a in roots["archs"])
    assert oracle.batches_run == 0  # measured by the workers; this process only stored and read
    check = live(roots, store="workers.sqlite")
    for trial in result.trials:
        assert trial["value"] == check.value(trial["arch"], OBJECTIVE)
        assert trial["clean"] == check.value(trial["arch"], "clean")
        assert trial["cost_seconds"] > 0 and trial["proposed"] in (1, 2, 3, 4)
    assert check.batches_run == 0  # every value above came from the store the driver wrote
    assert result.workers == 2 and result.simulated_time is None

    # killed with two cells in flight: their results reached the store, their trials did not
    path = tmp_path / "run" / TRIALS_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]))
    fresh = live(roots, store="workers.sqlite")
    with LocalExecutor(2) as executor:
        resumed = run_search(RandomSearch(seed=SEED), fresh, OBJECTIVE, 4, workers=2,
                             executor=executor, record_dir=tmp_path / "run", resume=True)
    assert resumed.replay == {"trials": 2, "diverged_at": None}
    assert resumed.trials[:2] == result.trials[:2] and resumed.n_evaluations == 4
    assert {t["arch"] for t in resumed.trials} == {t["arch"] for t in result.trials}
    assert [t["cost_seconds"] for t in resumed.trials[2:]] == [0.0, 0.0]  # nothing recomputed
    assert fresh.batches_run == 0
    assert [json.loads(line)["n"] for line in path.open()] == [1, 2, 3, 4]


@pytest.mark.parametrize("engine", [[], ["--executor", "ray"]], ids=["pool", "ray"])
def test_search_command_runs_live_workers(engine, roots, tmp_path, capsys) -> None:
    code = main(["search", "--mode", "live", "-O", OBJECTIVE, "--searcher", "random", "--seed", str(SEED),
                 "--budget", "2", "--workers", "2", "--data", str(roots["data"]),
                 "--weights", str(roots["weights"]), "--images", str(roots["images"]), "--device", "cpu",
                 "--n-images", "6", "--pgd-steps", "2", "--store", str(tmp_path / "s.sqlite"),
                 "--out", str(tmp_path / "runs"), "--json", *engine])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["workers"] == 2 and report["n_evaluations"] == 2
    assert {t for t in report} >= {"simulated_time", "cost_seconds"}
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "config.json").read_text())["workers"] == 2
    trials = [json.loads(line) for line in (run_dir / TRIALS_FILE).open()]
    assert sorted(t["arch"] for t in trials) == sorted(a.to_string() for a in roots["archs"][:2])
    assert all(Arch.from_string(t["arch"]).code == t["index"] for t in trials)


def test_live_workers_asking_for_gpus_ray_cannot_give_are_refused(roots, tmp_path, capsys, ray_executor) -> None:
    # Ray would keep tasks asking for more GPUs than any node has pending forever, silently:
    # the search is refused in one line before a task is submitted, and leaves no run behind.
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0)) + 2
    code = main(["search", "--mode", "live", "-O", OBJECTIVE, "--searcher", "random", "--seed", str(SEED),
                 "--budget", "2", "--workers", "2", "--data", str(roots["data"]),
                 "--weights", str(roots["weights"]), "--images", str(roots["images"]), "--device", "cpu",
                 "--n-images", "6", "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "runs"),
                 "--executor", "ray", "--gpus-per-task", str(gpus)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"robnas: error: --gpus-per-task {gpus}: ") and len(err.splitlines()) == 1
    assert not list((tmp_path / "runs").glob("*/*"))
