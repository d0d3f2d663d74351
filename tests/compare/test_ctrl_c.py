"""Ctrl-C on a parallel comparison: the terminal's SIGINT reaches the whole process group (the
driver and its worker processes); the driver alone handles it, stops the pool, and a re-run
resumes. The moments it lands at are the delicate ones: while the workers are still starting
(importing), and while they run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = ["compare", "-O", "clean", "-s", "predictor", "-s", "re", "--seeds", "2", "--budget", "40",
        "--jobs", "2", "-q"]


def _start(out: Path, release_root: Path) -> tuple[subprocess.Popen[str], Path]:
    err = out.parent / f"{out.name}.err"
    process = subprocess.Popen(
        [sys.executable, "-m", "robnas", *ARGS, "--out", str(out), "--data", str(release_root)],
        stdout=subprocess.DEVNULL, stderr=err.open("w"), text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    return process, err


def _wait_for(condition, what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, f"ended before {what}"
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.005)


@pytest.mark.parametrize("moment", [0.05, 0.1, 0.2, "a run finished"])
def test_ctrl_c_stops_a_parallel_comparison_in_one_line_and_a_rerun_resumes(
        release_root, tmp_path, moment) -> None:
    out = tmp_path / "cmp"
    process, err = _start(out, release_root)
    if isinstance(moment, float):  # seconds after the folder's announcement, just before the
        # pool starts: the workers are spawned and still importing (where a worker that took
        # the SIGINT printed its traceback, and a pool it broke could hang the driver)
        _wait_for(lambda: "comparison folder" in err.read_text(), "announced the folder", process)
        time.sleep(moment)
    else:
        _wait_for(lambda: any((out / "runs").glob("*/summary.json")), "finished a run", process)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: every process
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the comparison did not stop within 60 s of Ctrl-C")
    lines = err.read_text().splitlines()
    assert code == 130, lines
    assert lines[0].startswith("comparison folder: ") and lines[1:] == ["robnas: interrupted"]
    again = subprocess.run([sys.executable, "-m", "robnas", *ARGS, "--out", str(out), "--data",
                            str(release_root)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(list((out / "runs").glob("*/summary.json"))) == 4  # every run, none twice
    assert "already done" in again.stderr


def test_ctrl_c_on_a_search_says_how_to_resume_it(release_root, tmp_path) -> None:
    """The interrupted run keeps its trials; the message names the folder and the resume
    command, and that command continues the run."""
    out = tmp_path / "runs"
    err = tmp_path / "search.err"
    process = subprocess.Popen(
        [sys.executable, "-m", "robnas", "search", "-O", "clean", "--searcher", "bo", "--budget", "3000",
         "--seed", "0", "-q", "--out", str(out), "--data", str(release_root)],
        stdout=subprocess.DEVNULL, stderr=err.open("w"), text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def recorded() -> int:
        files = list(out.glob("*/trials.jsonl"))
        return len(files[0].read_text().splitlines()) if files else 0

    _wait_for(lambda: recorded() >= 5, "recorded 5 trials", process)
    os.killpg(process.pid, signal.SIGINT)
    code = process.wait(timeout=60)
    (run_dir,) = out.iterdir()
    lines = err.read_text().splitlines()
    kept = len((run_dir / "trials.jsonl").read_text().splitlines())
    assert code == 130 and lines == [
        f"robnas: {kept} trials kept in {run_dir}; continue with `robnas search --resume {run_dir}`",
        "robnas: interrupted"]
    again = subprocess.run([sys.executable, "-m", "robnas", "search", "--resume", str(run_dir), "--budget",
                            str(kept + 3), "--json", "--data", str(release_root)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len((run_dir / "trials.jsonl").read_text().splitlines()) == kept + 3
