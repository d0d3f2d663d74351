"""The first run works: a command fetches its missing dataset (real loopback HTTP, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robnas.benchmark.location import default_data_dir
from robnas.cli.main import main
from tests.benchmark.release_server import Faults, ReleaseServer, release_entries, write_zip

SUBSET = ["clean", "pgd@Linf"]


@pytest.fixture(scope="module")
def archives(release_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("archives")
    meta = write_zip(folder / "meta.zip", [("meta.json", (release_root / "meta.json").read_bytes())])
    cifar = write_zip(folder / "c.zip", release_entries(release_root, "cifar10", SUBSET))
    imagenet = write_zip(folder / "i.zip", release_entries(release_root, "ImageNet16-120", SUBSET))
    return {"meta.zip": meta.read_bytes(), "cifar10-accuracies.zip": cifar.read_bytes(),
            "ImageNet16-120-accuracies.zip": imagenet.read_bytes()}


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Fetching on, a fresh per-user data dir of this test's own; returns that dir."""
    monkeypatch.delenv("ROBNAS_OFFLINE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    dest = default_data_dir()
    assert dest.is_relative_to(tmp_path)  # never the user's own folder
    return dest


def _serve(monkeypatch, server: ReleaseServer) -> None:
    monkeypatch.setenv("ROBNAS_BASE_URL", server.url)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _installed(dest: Path) -> list[str]:
    if not dest.exists():
        return []
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")
                  if p.is_file() and not p.relative_to(dest).as_posix().startswith("."))


def test_first_search_fetches_meta_and_that_dataset_only(
        archives, online, monkeypatch, capsys, release_root, tmp_path) -> None:
    with ReleaseServer(archives) as server:
        _serve(monkeypatch, server)
        code, out, err = _run(capsys, "search", "-O", "pgd@1/255", "--budget", "5", "--seed", "0",
                              "--out", str(tmp_path / "runs"), "--json")
        assert code == 0, err
        assert err.splitlines() == [
            f"robnas: fetching meta.zip and cifar10-accuracies.zip from {server.url} into "
            f"{online} (first use of cifar10; --offline to turn off)"]
        assert sorted(path for path, _ in server.requests) == ["cifar10-accuracies.zip", "meta.zip"]
        assert _installed(online) == ["cifar10/clean_accuracy.json",
                                      "cifar10/pgd@Linf_accuracy.json", "meta.json"]
        for name in _installed(online):
            assert (online / name).read_bytes() == (release_root / name).read_bytes()
        payload = json.loads(out)
        assert payload["n_evaluations"] == 5
        # the second command finds it: no request, no message
        code, out, err = _run(capsys, "query", "13433", "-O", "pgd@1/255", "--json")
        assert code == 0 and err == "" and len(server.requests) == 2
        # another dataset: only its own archive
        code, _, err = _run(capsys, "query", "13433", "-O", "clean", "--dataset", "ImageNet16-120")
        assert code == 0 and "fetching ImageNet16-120-accuracies.zip from" in err
        assert [path for path, _ in server.requests[2:]] == ["ImageNet16-120-accuracies.zip"]


@pytest.mark.parametrize("switch", ["flag", "env"])
def test_offline_restores_the_message_and_fetches_nothing(
        archives, online, monkeypatch, capsys, tmp_path, switch) -> None:
    with ReleaseServer(archives) as server:
        _serve(monkeypatch, server)
        extra = ["--offline"] if switch == "flag" else []
        if switch == "env":
            monkeypatch.setenv("ROBNAS_OFFLINE", "1")
        code, out, err = _run(capsys, "search", "-O", "pgd@1/255", "--budget", "5",
                              "--out", str(tmp_path / "runs"), *extra)
        assert code == 2 and out == "" and err.count("\n") == 1
        assert "robnas data download" in err and str(online) in err
        assert server.requests == [] and _installed(online) == []


def test_a_failed_fetch_is_one_line_and_installs_nothing(archives, online, monkeypatch, capsys,
                                                         tmp_path) -> None:
    with ReleaseServer(archives, Faults(statuses={"cifar10-accuracies.zip": [404]})) as server:
        _serve(monkeypatch, server)
        code, out, err = _run(capsys, "search", "-O", "pgd@1/255", "--budget", "5",
                              "--out", str(tmp_path / "runs"))
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 2 and "Traceback" not in err
    assert lines[0].startswith("robnas: fetching meta.zip and cifar10-accuracies.zip")
    assert lines[1].startswith("robnas: error: could not fetch the cifar10 data, nothing was installed")
    assert "HTTP 404" in lines[1]
    assert _installed(online) == [] and not (tmp_path / "runs").exists()


def test_a_fetch_failing_before_any_download_leaves_no_folder(archives, online, monkeypatch, capsys,
                                                              tmp_path) -> None:
    """Not the data folder, nor the folders above it the command made (``~/.local/share/robnas``
    for a user without one): one line said nothing was installed, and nothing is there."""
    with ReleaseServer(archives, Faults(statuses={"meta.zip": [404]})) as server:
        _serve(monkeypatch, server)
        code, _, err = _run(capsys, "query", "0", "-O", "clean")
    assert code == 2 and "nothing was installed" in err
    assert not (tmp_path / "xdg").exists(), sorted(map(str, (tmp_path / "xdg").rglob("*")))


def test_a_location_the_user_named_is_never_filled(archives, online, monkeypatch, capsys,
                                                   tmp_path) -> None:
    with ReleaseServer(archives) as server:
        _serve(monkeypatch, server)
        code, _, err = _run(capsys, "query", "0", "-O", "clean", "--data", str(tmp_path / "mine"))
        assert code == 2 and "no robustness data at" in err
        monkeypatch.setenv("ROBNAS_DATA", str(tmp_path / "env"))
        code, _, err = _run(capsys, "table", "-O", "clean")
        assert code == 2 and "no robustness data at" in err
        assert server.requests == [] and _installed(online) == []
