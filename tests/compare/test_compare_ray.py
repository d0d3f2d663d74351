"""``robnas compare`` on a real local Ray instance: the same run records as the local pool."""

from __future__ import annotations

import os

from robnas.cli.main import main
from robnas.compare import plan_runs, run_comparison
from robnas.run_record import RunRecord


def test_compare_on_ray_writes_the_records_of_the_local_pool(ray_executor, release_root, tmp_path):
    specs = plan_runs(["random", "re", "bo"], ["pgd@1/255"], ["cifar10"], range(2), 12)
    on_ray = run_comparison(specs, tmp_path / "ray", data=release_root, executor=ray_executor)
    run_comparison(specs, tmp_path / "local", data=release_root, jobs=1)
    assert (on_ray.ran, on_ray.skipped) == (6, 0) and len(on_ray.timeline) == 6
    assert os.getpid() not in on_ray.workers and sum(w["runs"] for w in on_ray.workers.values()) == 6
    assert all(w["oracle_loads"] == 1 for w in on_ray.workers.values())
    for spec in specs:
        ray_trials = RunRecord(tmp_path / "ray" / "runs" / spec.run_id).read_trials()
        local_trials = RunRecord(tmp_path / "local" / "runs" / spec.run_id).read_trials()
        assert [(t["arch"], t["value"]) for t in ray_trials] == [(t["arch"], t["value"]) for t in local_trials]
    # only the run folders: the workers' scratch folders and the driver's staging are gone
    assert sorted(p.name for p in (tmp_path / "ray" / "runs").iterdir()) == sorted(s.run_id for s in specs)
    assert not [p for p in (tmp_path / "ray").iterdir() if p.name.startswith(".")]
    again = run_comparison(specs, tmp_path / "ray", data=release_root, executor=ray_executor)
    assert (again.ran, again.skipped) == (0, 6)


def test_compare_cli_executor_ray_and_bad_options(ray_executor, release_root, tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "-O", "clean", "--searchers", "random,ls", "--seeds", "2", "--budget", "8",
            "--checkpoints", "4,8", "--data", str(release_root), "--out", str(out), "-q"]
    assert main([*argv, "--executor", "ray"]) == 0
    assert "ran 4 runs, 0 already done" in capsys.readouterr().err
    assert len(list((out / "runs").iterdir())) == 4
    assert main([*argv[:-3], "--out", str(tmp_path / "bad"), "--ray-address", "auto"]) == 2
    assert capsys.readouterr().err.strip() == "robnas: error: --ray-address needs --executor ray"
    assert not (tmp_path / "bad").exists()


def test_an_unreachable_ray_address_is_one_line_at_once(release_root, tmp_path):
    # ray.init retried an address where nothing listens for over ten minutes, printing three
    # C++ warnings every 40 s: now it is refused before Ray is asked, in one line, nothing made.
    import subprocess
    import sys

    for address, reason in (("127.0.0.1:1", "nothing accepts a connection at 127.0.0.1:1: Connection refused"),
                            ("ray://127.0.0.1:1", "nothing accepts a connection at 127.0.0.1:1: Connection refused"),
                            ("127.0.0.1:70000", "the port must be in 1..65535, got 70000")):
        out = tmp_path / "cmp"
        done = subprocess.run(
            [sys.executable, "-m", "robnas", "compare", "-O", "clean", "--seeds", "1", "--budget", "5",
             "--data", str(release_root), "--out", str(out), "--executor", "ray", "--ray-address", address],
            capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.splitlines() == [f"robnas: error: --ray-address {address}: " + (
            f"cannot join a Ray cluster ({reason}); is the cluster running (`ray start --head`)?"
            if "nothing" in reason else reason)]
        assert not out.exists()


def test_the_token_notice_ray_logs_while_starting_is_dropped_and_only_it(monkeypatch):
    # Ray logs a WARNING on every instance it starts ("Token authentication is enabled for
    # this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out ..."), which reached every
    # command's stderr. Ray's own functions log here, from a stand-in for ray.init (starting a
    # real instance in a subprocess took 12 s): the notice is dropped during the call, Ray's
    # warning that a cluster has no authentication still shows, and nothing stays filtered.
    import logging

    import pytest

    ray = pytest.importorskip("ray")
    setup = pytest.importorskip("ray._private.authentication.authentication_token_setup")
    from robnas.errors import ExecutorError
    from robnas.execution import RayExecutor

    seen: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    setup.logger.addHandler(handler)
    level = setup.logger.level  # ray.init(logging_level="ERROR") of the module's instance mutes it
    setup.logger.setLevel(logging.WARNING)

    def init(**kwargs):
        setup._warn_token_auth_enabled()
        setup._warn_token_auth_disabled()
        raise RuntimeError("stopped before starting anything")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    try:
        with pytest.raises(ExecutorError, match="stopped before starting anything"):
            RayExecutor(jobs=1)
        assert [m.split(" for this")[0] for m in seen] == ["Token authentication is disabled"]
        setup._warn_token_auth_enabled()  # after ray.init: not filtered any more
        assert seen[-1].startswith("Token authentication is enabled for this Ray cluster")
    finally:
        setup.logger.removeHandler(handler)
        setup.logger.setLevel(level)


def test_a_killed_ray_driver_resumes_without_losing_or_repeating_runs(ray_executor, release_root, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import ray

    out = tmp_path / "cmp"
    specs = plan_runs(["random", "ls"], ["clean"], ["cifar10"], range(30), 60)
    # a second driver on this module's Ray instance, killed once some runs are finished
    driver = subprocess.Popen(
        [sys.executable, "-m", "robnas", "compare", "-O", "clean", "--searchers", "random,ls", "--seeds", "30",
         "--budget", "60", "--data", str(release_root), "--out", str(out), "-q", "--executor", "ray",
         "--ray-address", ray.get_runtime_context().gcs_address],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("runs/*/summary.json")):
        assert driver.poll() is None and time.monotonic() < deadline, "the driver never finished a run"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    finished = {p.parent.name for p in (out / "runs").glob("*/summary.json")}
    assert 0 < len(finished) < len(specs)
    resumed = run_comparison(specs, out, data=release_root, executor=ray_executor)
    assert (resumed.ran, resumed.skipped) == (len(specs) - len(finished), len(finished))
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(s.run_id for s in specs)
    assert not list(out.glob(".staging-*"))
    for spec in specs:  # every run whole: its budget of distinct cells, each once
        trials = RunRecord(out / "runs" / spec.run_id).read_trials()
        assert [t["n"] for t in trials] == list(range(1, 61))


def test_multi_objective_runs_on_ray_equal_the_local_pool_and_continue_a_cut_run(
        ray_executor, release_root, tmp_path):
    import json

    specs = plan_runs(["random", "pls"], ["pgd@1/255,params"], ["cifar10"], range(2), 12)
    run_comparison(specs, tmp_path / "local", data=release_root, jobs=1)
    on_ray = run_comparison(specs, tmp_path / "ray", data=release_root, executor=ray_executor)
    assert (on_ray.ran, on_ray.skipped) == (4, 0)
    for spec in specs:
        ray_trials = RunRecord(tmp_path / "ray" / "runs" / spec.run_id).read_trials()
        local_trials = RunRecord(tmp_path / "local" / "runs" / spec.run_id).read_trials()
        assert [(t["arch"], t["values"], t["hypervolume"]) for t in ray_trials] \
            == [(t["arch"], t["values"], t["hypervolume"]) for t in local_trials]
    # a run cut short on the driver's disk is sent to a Ray worker and continued there
    killed = tmp_path / "ray" / "runs" / specs[3].run_id
    lines = (killed / "trials.jsonl").read_text().splitlines(keepends=True)
    (killed / "trials.jsonl").write_text("".join(lines[:4]))
    (killed / "summary.json").unlink()
    again = run_comparison(specs, tmp_path / "ray", data=release_root, executor=ray_executor)
    assert (again.ran, again.skipped) == (1, 3)
    assert RunRecord(killed).summary()["replay"] == {"trials": 4, "diverged_at": None}
    assert [json.loads(x)["values"] for x in (killed / "trials.jsonl").read_text().splitlines()] \
        == [json.loads(x)["values"] for x in lines]


def test_a_killed_ray_worker_has_its_run_retried_and_written_once(ray_executor, release_root, tmp_path):
    from tests.ray_processes import kill_a_worker_mid_task

    specs = plan_runs(["bo", "random"], ["pgd@1/255"], ["cifar10"], range(2), 40)
    victim, result = kill_a_worker_mid_task(lambda: run_comparison(  # a worker dies mid-run
        specs, tmp_path / "ray", data=release_root, executor=ray_executor))
    assert (result.ran, result.skipped) == (4, 0) and len(result.timeline) == 4  # each run counted once
    assert victim not in result.workers  # the dead worker's run was retried elsewhere
    run_comparison(specs, tmp_path / "local", data=release_root, jobs=1)
    for spec in specs:
        ray_trials = RunRecord(tmp_path / "ray" / "runs" / spec.run_id).read_trials()
        local_trials = RunRecord(tmp_path / "local" / "runs" / spec.run_id).read_trials()
        assert len(ray_trials) == 40
        assert [(t["arch"], t["value"]) for t in ray_trials] == [(t["arch"], t["value"]) for t in local_trials]
