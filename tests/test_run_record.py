"""Run records are never corrupted by a second writer and never trusted blindly on resume."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robnas.arch import Arch
from robnas.cli.main import main
from robnas.isomorphism import class_code
from robnas.loop import run_search
from robnas.run_record import LOCK_FILE, TRIALS_FILE, RunRecord, RunRecordError
from robnas.searchers import RandomSearch, RegularizedEvolution
from tests.release_fixture import write_release

OBJ = "pgd@1/255"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / TRIALS_FILE).read_text().splitlines()]


def _write_lines(run_dir: Path, trials: list[dict]) -> None:
    (run_dir / TRIALS_FILE).write_text("".join(json.dumps(t) + "\n" for t in trials))


def _search_process(out: Path, data: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "robnas", "search", "-O", OBJ, "--seed", "0",
               "--out", str(out), "--data", str(data), "--json", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_trials(folder: Path, process: subprocess.Popen, count: int) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = list(folder.glob(f"*/{TRIALS_FILE}"))
        if found and found[0].read_bytes().count(b"\n") >= count:
            return found[0].parent
        time.sleep(0.01)
    raise AssertionError(f"no {count} trials written: {process.stderr.read().decode()}")


# -- one writer at a time ----------------------------------------------------------------------

def test_resume_while_the_run_is_still_going_is_refused(release_root, capsys, tmp_path) -> None:
    process = _search_process(tmp_path, release_root, "--searcher", "bo", "--budget", "3000")
    try:
        run_dir = _wait_for_trials(tmp_path, process, 5)
        # a budget just above what is written, so a resume that went ahead would end at once
        budget = (run_dir / TRIALS_FILE).read_bytes().count(b"\n") + 1
        code, out, err = _run(capsys, "search", "--resume", str(run_dir), "--budget", str(budget),
                              "--data", str(release_root))
        assert process.poll() is None, "the run ended before the resume was tried"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert code == 2 and out == ""
    assert "is being written by another robnas process" in err
    assert err.startswith("robnas: error: ") and err.count("\n") == 1
    # the killed run's lock died with it: now the resume goes ahead, without a repeated trial
    budget = (run_dir / TRIALS_FILE).read_bytes().count(b"\n") + 5
    code, out, err = _run(capsys, "search", "--resume", str(run_dir), "--budget", str(budget),
                          "--data", str(release_root), "--json")
    assert code == 0, err
    assert [t["n"] for t in _lines(run_dir)] == list(range(1, budget + 1))


def test_a_folder_locked_by_another_writer_is_refused_and_left_alone(tmp_path) -> None:
    from filelock import FileLock

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    other = FileLock(str(run_dir / LOCK_FILE))
    # another process (e.g. the same command started in the same second with the same --out)
    # between creating the folder and writing its config
    other.acquire()
    try:
        with pytest.raises(RunRecordError, match="being written by another robnas process"):
            RunRecord.create(run_dir, {"run_id": "r"})
        assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_FILE]
    finally:
        other.release()
    with RunRecord.create(run_dir, {"run_id": "r"}) as record:
        with pytest.raises(RunRecordError, match="already holds a run record"):
            RunRecord.create(run_dir, {"run_id": "r"})
        record.append_trial({"n": 1, "arch": "x"})
    assert _lines(run_dir) == [{"n": 1, "arch": "x"}]


def test_a_finished_run_releases_its_folder(cifar10_oracle, tmp_path) -> None:
    from filelock import FileLock

    run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 5, record_dir=tmp_path / "r")
    lock = FileLock(str(tmp_path / "r" / LOCK_FILE))
    lock.acquire(timeout=0)  # free again
    try:
        with pytest.raises(RunRecordError, match="being written by another"):
            run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 8, record_dir=tmp_path / "r",
                       resume=True)
    finally:
        lock.release()
    assert len(_lines(tmp_path / "r")) == 5  # the refused resume wrote nothing


def test_a_folder_of_runs_is_refused_as_one_runs_folder(cifar10_oracle, tmp_path) -> None:
    # record_dir="runs" (the CLI's --out) wrote config.json, trials.jsonl and summary.json
    # into runs/ itself, above the records it holds
    runs = tmp_path / "runs"
    run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 5, record_dir=runs / "a")
    before = sorted(p.name for p in runs.iterdir())
    with pytest.raises(RunRecordError, match=f"^{runs} holds run records of its own \\(a\\): a run record "
                                             f"needs a folder of its own, e.g. {runs / 'my-run'}$"):
        run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 5, record_dir=runs)
    assert sorted(p.name for p in runs.iterdir()) == before == ["a"]  # nothing written
    (tmp_path / "notes").mkdir()  # a folder of other things is still a run's folder
    run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 5, record_dir=tmp_path)
    assert len(_lines(tmp_path)) == 5


# -- resume trusts nothing -----------------------------------------------------------------------

@pytest.fixture
def recorded(cifar10_oracle, tmp_path) -> Path:
    run_dir = tmp_path / "r"
    run_search(RegularizedEvolution(seed=3), cifar10_oracle, OBJ, 20, record_dir=run_dir)
    return run_dir


def _resume(oracle, run_dir: Path, budget: int = 30):
    return run_search(RegularizedEvolution(seed=3), oracle, OBJ, budget, record_dir=run_dir,
                      resume=True)


def test_untouched_record_resumes(cifar10_oracle, recorded) -> None:
    assert _resume(cifar10_oracle, recorded).replay == {"trials": 20, "diverged_at": None}


def test_a_tampered_value_is_refused_with_its_line(cifar10_oracle, recorded, capsys) -> None:
    trials = _lines(recorded)
    truth = cifar10_oracle.value(Arch.from_string(trials[6]["arch"]), OBJ)
    for later in trials[6:]:  # a careful forger keeps the running best consistent
        later["best"] = 0.999
    trials[6]["value"] = 0.999
    _write_lines(recorded, trials)
    tampered = (recorded / TRIALS_FILE).read_bytes()
    message = rf"trials.jsonl line 7: value 0.999 of .* is not the data's {truth}"
    with pytest.raises(RunRecordError, match=message):
        _resume(cifar10_oracle, recorded)
    code, _, err = _run(capsys, "search", "--resume", str(recorded), "--data",
                          str(cifar10_oracle.root))
    assert code == 2 and "line 7: value 0.999" in err and err.count("\n") == 1
    assert (recorded / TRIALS_FILE).read_bytes() == tampered  # refused before writing


def test_a_changed_arch_is_refused_with_its_line(cifar10_oracle, recorded) -> None:
    trials = _lines(recorded)
    used = {class_code(Arch.from_string(t["arch"])) for t in trials}
    other = next(Arch.from_code(c) for c in range(15625) if class_code(Arch.from_code(c)) not in used)
    trials[4]["arch"] = other.to_string()
    _write_lines(recorded, trials)
    with pytest.raises(RunRecordError, match=r"line 5: index \d+ is not that of"):
        _resume(cifar10_oracle, recorded)


def test_arch_and_index_changed_together_are_refused_by_value(cifar10_oracle, recorded) -> None:
    trials = _lines(recorded)
    used = {class_code(Arch.from_string(t["arch"])) for t in trials}
    value = trials[4]["value"]
    other = next(Arch.from_code(c) for c in range(15625)
                 if class_code(Arch.from_code(c)) not in used
                 and cifar10_oracle.value(Arch.from_code(c), OBJ) != value)
    trials[4].update(arch=other.to_string(), index=cifar10_oracle.index_of(other))
    _write_lines(recorded, trials)
    with pytest.raises(RunRecordError, match=r"line 5: value .* is not the data's"):
        _resume(cifar10_oracle, recorded)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t[9].update(best=1.0), "line 10: best so far 1.0 is not the best recorded"),
        (lambda t: t[2].update(clean=0.5), "line 3: clean accuracy 0.5 of"),
        (lambda t: t[3].update(value="high"), "line 4: value 'high' is not a number"),
        (lambda t: t[1].update(arch="|conv~0|"), "line 2: '|conv~0|' is not an NB201 cell"),
        (lambda t: t[8].update(arch=t[2]["arch"], index=t[2]["index"], value=t[2]["value"],
                               clean=t[2]["clean"]), "line 9: .* repeats the class of line 3"),
        # a resumed run's clock starts at the last line's time: these were tracebacks
        (lambda t: t[19].pop("time"), "line 20: time None is not a number of seconds"),
        (lambda t: t[19].update(time="1.5"), "line 20: time '1.5' is not a number of seconds"),
        (lambda t: t[5].update(forced="no"), "line 6: forced 'no' is not true or false"),  # was True
    ],
)
def test_other_edits_are_refused_with_their_line(cifar10_oracle, recorded, edit, message) -> None:
    trials = _lines(recorded)
    edit(trials)
    _write_lines(recorded, trials)
    with pytest.raises(RunRecordError, match=message):
        _resume(cifar10_oracle, recorded)


@pytest.mark.parametrize(("key", "value"), [
    ("oracle", "x"), ("prior", "x"), ("resumed", "x"), ("sessions", [{"start": "x", "budget": 30}]),
    ("sessions", "x"), ("oracle", {"checksums": ["meta.json"]}),
])
def test_config_entries_of_another_shape_are_refused_in_one_line(cifar10_oracle, recorded, capsys, key,
                                                                  value) -> None:
    """Entries of config.json that a resume reads, edited into another JSON type, were a
    ValueError, AttributeError, KeyError or TypeError traceback (from the CLI and from Python)."""
    config_file = recorded / "config.json"
    config = json.loads(config_file.read_text())
    config[key] = value
    config_file.write_text(json.dumps(config))
    before = (recorded / TRIALS_FILE).read_bytes()
    shown = "oracle checksums" if key == "oracle" and isinstance(value, dict) else key
    message = f"cannot resume {recorded}: config.json's {shown} "
    with pytest.raises(RunRecordError, match=re.escape(message)):
        _resume(cifar10_oracle, recorded, 25)
    code, _, err = _run(capsys, "search", "--resume", str(recorded), "--budget", "25", "--data",
                        str(cifar10_oracle.root))
    assert code == 2 and err.startswith(f"robnas: error: {message}") and err.count("\n") == 1
    assert err.rstrip().endswith("is not what robnas writes; the record was edited")
    assert (recorded / TRIALS_FILE).read_bytes() == before and json.loads(config_file.read_text()) == config


def test_a_line_that_is_not_utf8_is_refused_in_one_line(cifar10_oracle, recorded, capsys) -> None:
    """A byte no UTF-8 text holds (an editor's Latin-1 save) was a UnicodeDecodeError traceback."""
    lines = (recorded / TRIALS_FILE).read_bytes().splitlines(keepends=True)
    lines[5] = lines[5].replace(b'"arch": "|', b'"arch": "\xe9|')
    (recorded / TRIALS_FILE).write_bytes(b"".join(lines))
    with pytest.raises(RunRecordError, match="line 6 is not JSON"):
        _resume(cifar10_oracle, recorded)
    code, _, err = _run(capsys, "search", "--resume", str(recorded), "--data",
                        str(cifar10_oracle.root))
    assert code == 2 and err.startswith("robnas: error: ") and err.count("\n") == 1
    assert "line 6 is not JSON" in err
    assert (recorded / TRIALS_FILE).read_bytes() == b"".join(lines)


def test_resume_after_the_data_files_changed_is_refused(tmp_path) -> None:
    """Same values, other bytes: only the recorded SHA-256 can tell, and it must."""
    from robnas.benchmark import TabularOracle

    data = write_release(tmp_path / "data")
    oracle = TabularOracle("cifar10", data=data, cache_dir=False)
    run_search(RandomSearch(seed=0), oracle, OBJ, 10, record_dir=tmp_path / "r")
    path = data / "cifar10" / "pgd@Linf_accuracy.json"
    path.write_text(json.dumps(json.loads(path.read_text()), indent=1))
    fresh = TabularOracle("cifar10", data=data, cache_dir=False)
    with pytest.raises(RunRecordError, match=r"the data changed .*cifar10/pgd@Linf_accuracy.json"):
        run_search(RandomSearch(seed=0), fresh, OBJ, 20, record_dir=tmp_path / "r", resume=True)
    assert len(_lines(tmp_path / "r")) == 10
    # a copy of the same bytes elsewhere is the same data: it resumes
    moved = shutil.copytree(data, tmp_path / "copy")
    path.write_text(json.dumps(json.loads(path.read_text())))
    shutil.copy(path, moved / "cifar10" / path.name)
    elsewhere = TabularOracle("cifar10", data=moved, cache_dir=False)
    result = run_search(RandomSearch(seed=0), elsewhere, OBJ, 20, record_dir=tmp_path / "r",
                        resume=True)
    assert result.n_evaluations == 20 and os.path.isfile(tmp_path / "r" / "summary.json")


def test_a_record_from_before_a_parameter_existed_resumes_at_its_default(cifar10_oracle, tmp_path) -> None:
    """A record written by a robnas whose searcher lacked a parameter (here: evolution's
    ``warmup`` removed from config.json) resumes when that parameter is at its default, like
    an uninterrupted run; set to anything else, the resume is refused."""
    whole = run_search(RegularizedEvolution(seed=4), cifar10_oracle, "pgd@1/255", 30)
    run_dir = tmp_path / "old"
    run_search(RegularizedEvolution(seed=4), cifar10_oracle, "pgd@1/255", 20, record_dir=run_dir)
    config_file = run_dir / "config.json"
    config = json.loads(config_file.read_text())
    del config["searcher"]["params"]["warmup"]
    config_file.write_text(json.dumps(config))
    resumed = run_search(RegularizedEvolution(seed=4), cifar10_oracle, "pgd@1/255", 30,
                         record_dir=run_dir, resume=True)
    assert [t["arch"] for t in resumed.trials] == [t["arch"] for t in whole.trials]
    assert "warmup" not in json.loads(config_file.read_text())["searcher"]["params"]  # record kept
    with pytest.raises(RunRecordError, match="its searcher re has warmup=None, not 'params'"):
        run_search(RegularizedEvolution(seed=4, warmup="params"), cifar10_oracle, "pgd@1/255", 40,
                   record_dir=run_dir, resume=True)
    config = json.loads(config_file.read_text())  # a parameter recorded with another value
    config["searcher"]["params"]["population_size"] = 20
    config_file.write_text(json.dumps(config))
    with pytest.raises(RunRecordError, match="its searcher re has population_size=20, not 30"):
        run_search(RegularizedEvolution(seed=4), cifar10_oracle, "pgd@1/255", 40,
                   record_dir=run_dir, resume=True)
    # another searcher: named as such, not with its own defaults passed off as the record's
    with pytest.raises(RunRecordError, match=r"its searcher is 're', not 'ls'$"):
        run_search("ls", cifar10_oracle, "pgd@1/255", 40, params={"seed": 4}, record_dir=run_dir,
                   resume=True)


def test_a_resume_under_other_versions_records_them(cifar10_oracle, recorded) -> None:
    """config.json's versions are the first session's: a session resumed under other ones (an
    upgraded Optuna, another machine) adds them to ``resumed``, once per change (they were not
    recorded, so the record named versions some of its trials were not found with)."""
    from robnas.run_record import versions

    config_file = recorded / "config.json"
    config = json.loads(config_file.read_text())
    assert config["versions"] == versions() and "resumed" not in config
    _resume(cifar10_oracle, recorded, 20)  # same budget, same versions: the config is kept
    assert json.loads(config_file.read_text()) == config
    config["versions"] = {**config["versions"], "numpy": "1.0.0"}  # as an older install wrote it
    config_file.write_text(json.dumps(config))
    _resume(cifar10_oracle, recorded, 20)
    resumed = json.loads(config_file.read_text())["resumed"]
    assert [(s["budget"], s.get("versions")) for s in resumed] == [(20, versions())]
    _resume(cifar10_oracle, recorded, 25)  # a new budget: noted; the versions are the last ones
    resumed = json.loads(config_file.read_text())["resumed"]
    assert [(s["budget"], s.get("versions")) for s in resumed] == [(20, versions()), (25, None)]


def test_the_recorded_checksums_are_the_runs_own_whatever_the_oracle_read_before(tmp_path) -> None:
    """A run records the data files its objectives read, in a fixed order: an oracle shared
    with an earlier run on another objective (a comparison's worker, a Python loop) gives the
    same config.json as a fresh one, not the earlier run's files too (in the order they were read)."""
    from robnas.benchmark import TabularOracle
    from robnas.multi_loop import run_multi_search

    data = write_release(tmp_path / "data", keys=("clean", "pgd@Linf", "fgsm@Linf"))

    def recorded(oracle, run: str, objective: str) -> dict:
        run_search(RandomSearch(seed=0), oracle, objective, 5, record_dir=tmp_path / run)
        return json.loads((tmp_path / run / "config.json").read_text())["oracle"]["checksums"]

    fresh = recorded(TabularOracle("cifar10", data=data, cache_dir=False), "fresh", "clean")
    assert list(fresh) == ["meta.json", "cifar10/clean_accuracy.json"]
    shared = TabularOracle("cifar10", data=data, cache_dir=False)
    recorded(shared, "first", "fgsm@1/255")
    assert recorded(shared, "second", "clean") == fresh
    both = recorded(shared, "third", "pgd@1/255")
    assert list(both) == ["meta.json", "cifar10/clean_accuracy.json", "cifar10/pgd@Linf_accuracy.json"]
    run_multi_search("random", shared, ["pgd@1/255", "params:min"], 5, params={"seed": 0},
                     record_dir=tmp_path / "multi")
    multi = json.loads((tmp_path / "multi" / "config.json").read_text())["oracle"]["checksums"]
    assert list(multi) == ["meta.json", "cifar10/pgd@Linf_accuracy.json"]
