"""``robnas search --searcher bo --storage URL``: the Optuna study in a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robnas.arch import Arch
from robnas.cli.main import main
from robnas.isomorphism import class_code
from robnas.searchers._optuna import PARAM_NAMES


def _study(url: str, name: str):
    import optuna

    return optuna.load_study(study_name=name, storage=url)


def _classes(study) -> set[int]:
    return {class_code(Arch.from_names(tuple(t.params[p] for p in PARAM_NAMES)))
            for t in study.trials if t.state.name == "COMPLETE"}


def test_study_is_stored_under_the_run_id(release_root: Path, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    code = main(["search", "-O", "clean", "--searcher", "bo", "--budget", "12", "--seed", "3",
                 "--storage", url, "--out", str(tmp_path / "runs"), "--data", str(release_root)])
    assert code == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    trials = [json.loads(line) for line in (run_dir / "trials.jsonl").open()]
    study = _study(url, run_dir.name)
    told = {class_code(Arch.from_string(t["arch"])) for t in trials}
    assert _classes(study) == told and len(told) == 12
    assert study.best_value == max(t["value"] for t in trials)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["searcher"]["params"]["storage"] == url
    assert config["searcher"]["params"]["study_name"] == run_dir.name
    capsys.readouterr()

    # Resumed to a larger budget: the replay rebuilds the study whole, then it grows.
    assert main(["search", "--resume", str(run_dir), "--budget", "20", "--data", str(release_root)]) == 0
    trials = [json.loads(line) for line in (run_dir / "trials.jsonl").open()]
    study = _study(url, run_dir.name)
    assert _classes(study) == {class_code(Arch.from_string(t["arch"])) for t in trials}
    assert len(trials) == 20 and study.best_value == max(t["value"] for t in trials)


@pytest.mark.parametrize(("argv", "message"), [
    (["--searcher", "re", "--storage", "sqlite:///x.db"], "--storage keeps an Optuna study: it needs --searcher bo"),
    (["--searcher", "bo", "--storage", "nosuchdb://x"], "bad --storage for searcher bo: storage 'nosuchdb://x'"),
    (["--searcher", "bo", "--storage", "sqlite:///no/such/folder/x.db"], "folder no/such/folder does not exist"),
])
def test_bad_storage_is_one_line(release_root: Path, tmp_path: Path, capsys, argv, message) -> None:
    code = main(["search", "-O", "clean", "--budget", "5", "--seed", "0", *argv,
                 "--out", str(tmp_path), "--data", str(release_root)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
