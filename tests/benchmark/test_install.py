"""``robnas data download/import/info`` end to end: real loopback HTTP, real release files."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from robnas.benchmark import TabularOracle, download_release
from robnas.benchmark.checksums import RELEASE_SHA256
from robnas.benchmark.download import RetryPolicy
from robnas.cli.main import main
from tests.benchmark.release_server import Faults, ReleaseServer, release_entries, write_zip

FAST = RetryPolicy(attempts=3, backoff=0.01, timeout=5)
SUBSET = ["clean", "pgd@Linf"]


@pytest.fixture(scope="module")
def archives(release_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """meta.zip (file at the root), cifar10 (under a top folder), ImageNet16-120 (bare files)."""
    folder = tmp_path_factory.mktemp("archives")
    meta = write_zip(folder / "meta.zip", [("meta.json", (release_root / "meta.json").read_bytes())])
    cifar = write_zip(folder / "c.zip", release_entries(release_root, "cifar10", SUBSET, "robustness-data/"))
    imagenet = write_zip(folder / "i.zip", [
        (name.split("/")[-1], data) for name, data in release_entries(release_root, "ImageNet16-120", SUBSET)
    ])
    return {
        "meta.zip": meta.read_bytes(),
        "cifar10-accuracies.zip": cifar.read_bytes(),
        "ImageNet16-120-accuracies.zip": imagenet.read_bytes(),
    }


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _download(capsys, server: ReleaseServer, dest: Path | None, *extra: str) -> tuple[int, str, str]:
    argv = ["data", "download", "--datasets", "cifar10,ImageNet16-120", "--base-url", server.url,
            "--no-progress", *extra]
    if dest is not None:
        argv += ["--dest", str(dest)]
    return _run(capsys, *argv)


def _release_files(dest: Path) -> list[str]:
    """Files a reader would see (hidden bookkeeping such as the lock left out)."""
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(dest).parts))


def _one_line_error(code: int, err: str) -> str:
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_download_then_query_reads_the_downloaded_copy(
    archives, release_root, capsys, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with ReleaseServer(archives) as server:
        code, out, _ = _download(capsys, server, None)
    assert code == 0, out
    dest = tmp_path / "xdg" / "robnas" / "robustness-data"
    assert "installed 5 file(s) into " + str(dest) in out
    assert _release_files(dest) == sorted(
        ["meta.json", *(f"{d}/{k}_accuracy.json" for d in ("cifar10", "ImageNet16-120") for k in SUBSET)]
    )
    for dataset in ("cifar10", "ImageNet16-120"):
        query = ["query", "13433", "-O", "pgd@1/255", "--dataset", dataset, "--json"]
        code, downloaded, _ = _run(capsys, *query)  # no --data: the default data dir
        assert code == 0
        code, shared, _ = _run(capsys, *query, "--data", str(release_root))
        assert json.loads(downloaded) == json.loads(shared)
    assert json.loads(downloaded)["dataset"] == "ImageNet16-120"
    oracle = TabularOracle(data=dest, cache_dir=tmp_path / "cache")
    assert oracle.value(13433, "pgd@1/255") == 0.336
    reference = TabularOracle(data=release_root, cache_dir=tmp_path / "cache2")
    for objective in ("clean", "pgd@1/255", "pgd@8/255"):
        assert np.array_equal(oracle.objective_values(objective), reference.objective_values(objective))

    code, out, _ = _run(capsys, "data", "info", "--verify")
    assert code == 0
    assert "verified  5 ok, 0 mismatch, 0 unpinned" in out
    assert "ImageNet16-120: 2 file(s)" in out


def test_second_download_skips_verified_archives(archives, capsys, tmp_path) -> None:
    with ReleaseServer(archives) as server:
        assert _download(capsys, server, tmp_path / "d")[0] == 0
        code, out, _ = _download(capsys, server, tmp_path / "d")
        assert code == 0
        assert "cifar10-accuracies.zip: already installed and verified" in out
        assert len(server.requests_for("cifar10-accuracies.zip")) == 1
        assert _download(capsys, server, tmp_path / "d", "--force")[0] == 0
        assert len(server.requests_for("cifar10-accuracies.zip")) == 2


def test_an_installed_file_that_lost_its_bytes_is_fetched_again(
        archives, release_root, capsys, tmp_path) -> None:
    """Files that exist are not verified files: a tampered one (same size) is replaced."""
    dest = tmp_path / "d"
    with ReleaseServer(archives) as server:
        assert _download(capsys, server, dest)[0] == 0
        installed = dest / "cifar10" / "clean_accuracy.json"
        original = installed.read_bytes()
        installed.write_bytes(original.replace(b"0.9", b"0.1", 1))  # same size, other bytes
        code, out, _ = _download(capsys, server, dest)
        assert code == 0
        assert "cifar10-accuracies.zip: already installed" not in out
        assert "ImageNet16-120-accuracies.zip: already installed and verified" in out
        assert len(server.requests_for("cifar10-accuracies.zip")) == 2
    assert installed.read_bytes() == original == (release_root / "cifar10/clean_accuracy.json").read_bytes()


def test_interrupted_download_resumes_on_the_next_run(archives, capsys, tmp_path) -> None:
    size = len(archives["cifar10-accuracies.zip"])
    with ReleaseServer(archives, Faults(drop_once={"cifar10-accuracies.zip"})) as server:
        code, _, err = _download(capsys, server, tmp_path / "d", "--retries", "1")
        message = _one_line_error(code, err)
        assert message == (
            f"robnas: error: could not download {server.url}cifar10-accuracies.zip after 1 tries: "
            f"connection closed after {size // 2} of {size} bytes"
        )
        assert not (tmp_path / "d" / "meta.json").exists()  # nothing installed
        assert (tmp_path / "d" / ".download" / "cifar10-accuracies.zip.part").stat().st_size == size // 2
        assert _download(capsys, server, tmp_path / "d")[0] == 0
        assert server.requests_for("cifar10-accuracies.zip") == [None, f"bytes={size // 2}-"]
        assert len(server.requests_for("meta.zip")) == 1  # kept from the first run
    assert not (tmp_path / "d" / ".download").exists()
    assert TabularOracle(data=tmp_path / "d", cache_dir=tmp_path / "c").value(13433, "pgd@1/255") == 0.336


def test_server_ignoring_range_still_installs(archives, tmp_path) -> None:
    faults = Faults(drop_once={"cifar10-accuracies.zip"}, ignore_range=True)
    with ReleaseServer(archives, faults) as server:
        download_release(tmp_path / "d", "cifar10,ImageNet16-120", base_url=server.url,
                         retry=FAST, progress=False)
        assert len(server.requests_for("cifar10-accuracies.zip")) == 2
    assert len(_release_files(tmp_path / "d")) == 5


def test_corrupted_file_is_rejected_and_nothing_installed(archives, release_root, capsys, tmp_path) -> None:
    bad = dict(archives)
    entries = release_entries(release_root, "cifar10", SUBSET)
    entries[1] = (entries[1][0], entries[1][1].replace(b"0.336", b"0.337", 1))
    bad["cifar10-accuracies.zip"] = write_zip(tmp_path / "bad.zip", entries).read_bytes()
    dest = tmp_path / "d"
    with ReleaseServer(bad) as server:
        code, _, err = _download(capsys, server, dest)
    message = _one_line_error(code, err)
    pin = RELEASE_SHA256["cifar10/pgd@Linf_accuracy.json"]
    assert message.startswith(
        "robnas: error: cifar10/pgd@Linf_accuracy.json from cifar10-accuracies.zip does not match "
        f"its pinned SHA-256 (expected {pin[:16]}..., got "
    )
    assert message.endswith("...); nothing was installed")
    assert _release_files(dest) == []
    assert not (dest / ".download" / "cifar10-accuracies.zip").exists()  # refetched next time
    assert not list(dest.glob(".staging-*"))
    with ReleaseServer(archives) as server:  # the mirror is fixed: the next run succeeds
        assert _download(capsys, server, dest)[0] == 0
    assert len(_release_files(dest)) == 5


def test_a_bad_archive_stops_the_run_before_the_next_is_fetched(archives, capsys, tmp_path) -> None:
    # a captive portal answers every URL with its page: all archives were fetched first, the
    # first one's failure deleted only it, and the next run reused the other unchecked page
    # and failed again (one run per archive to recover, each fetching what followed)
    page = b"<html>please log in</html>"
    with ReleaseServer(dict.fromkeys(archives, page)) as server:
        code, _, err = _download(capsys, server, tmp_path / "d")
        assert _one_line_error(code, err).endswith("meta.zip is not a readable zip archive: File is not a zip file")
        assert [server.requests_for(name) for name in archives] == [[None], [], []]
        server.files.update(archives)
        code, out, _ = _download(capsys, server, tmp_path / "d")
    assert code == 0 and "installed 5 file(s)" in out
    assert not (tmp_path / "d" / ".download").exists()


@pytest.mark.parametrize("evil", ["../evil.json", "../../evil.json", "/tmp/robnas-evil.json"])
def test_zip_slip_archive_changes_nothing(archives, release_root, capsys, tmp_path, evil) -> None:
    bad = dict(archives)
    entries = [*release_entries(release_root, "cifar10", SUBSET), (evil, b"{}")]
    bad["cifar10-accuracies.zip"] = write_zip(tmp_path / "evil.zip", entries).read_bytes()
    dest = tmp_path / "a" / "b" / "d"
    with ReleaseServer(bad) as server:
        code, _, err = _download(capsys, server, dest)
    assert _one_line_error(code, err) == (
        f"robnas: error: refusing cifar10-accuracies.zip: entry '{evil}' escapes the destination"
    )
    assert not any(p.name.endswith("evil.json") for p in tmp_path.rglob("*") if p.name != "evil.zip")
    assert not Path("/tmp/robnas-evil.json").exists()
    assert _release_files(dest) == []


def test_symlink_entry_is_refused(archives, release_root, capsys, tmp_path) -> None:
    import zipfile

    path = write_zip(tmp_path / "link.zip", release_entries(release_root, "cifar10", ["clean"]))
    info = zipfile.ZipInfo("cifar10/pgd@Linf_accuracy.json")
    info.create_system, info.external_attr = 3, (0o120777 << 16)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(info, "/etc/passwd")
    code, _, err = _run(capsys, "data", "import", str(path), "--dest", str(tmp_path / "d"))
    assert _one_line_error(code, err) == (
        "robnas: error: refusing link.zip: entry 'cifar10/pgd@Linf_accuracy.json' is a symbolic link"
    )
    assert _release_files(tmp_path / "d") == []


def test_404_is_a_clear_error(archives, capsys, tmp_path) -> None:
    with ReleaseServer(archives) as server:
        code, _, err = _run(capsys, "data", "download", "--datasets", "cifar100", "--base-url",
                            server.url, "--dest", str(tmp_path / "d"), "--no-progress")
        assert len(server.requests_for("cifar100-accuracies.zip")) == 1
    assert _one_line_error(code, err) == (
        f"robnas: error: cannot download {server.url}cifar100-accuracies.zip: HTTP 404 Not Found"
    )
    assert _release_files(tmp_path / "d") == []


def test_server_down(capsys, tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = _run(capsys, "data", "download", "--base-url", f"http://127.0.0.1:{port}",
                        "--dest", str(tmp_path / "d"), "--retries", "2", "--no-progress")
    assert _one_line_error(code, err) == (  # the retry (after 1 s) is logged at INFO only
        f"robnas: error: could not download http://127.0.0.1:{port}/meta.zip after 2 tries: "
        "connection refused"
    )
    assert not (tmp_path / "d").exists()  # the folder it made holds nothing to keep: removed



def test_a_failed_first_install_removes_its_folder_before_releasing_the_lock(capsys, tmp_path, monkeypatch) -> None:
    """Removed after the release, the folder could be one that a run waiting for the lock had
    just begun to fill: the removal must happen while the lock is still held."""
    import shutil

    from robnas.benchmark.install import LOCK_NAME
    from tests.lock_probe import lock_is_held

    dest = tmp_path / "d"
    held_while_removed = []
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if Path(path) == dest:  # another process's lock on the folder: taken now only if released
            held_while_removed.append(lock_is_held(dest / LOCK_NAME))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = _run(capsys, "data", "download", "--base-url", f"http://127.0.0.1:{port}",
                        "--dest", str(dest), "--retries", "1", "--no-progress")
    assert code == 2 and "connection refused" in err
    assert held_while_removed == [True] and not dest.exists()
    # a later run makes the folder and its lock afresh
    code, _, err = _run(capsys, "data", "download", "--base-url", f"http://127.0.0.1:{port}",
                        "--dest", str(dest), "--retries", "1", "--no-progress")
    assert code == 2 and "connection refused" in err and not dest.exists()

@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--datasets", "mnist"],
         "unknown dataset 'mnist'; choose one of: cifar10, cifar100, ImageNet16-120"),
        (["--measures", "loss"], "unknown measure 'loss'; choose from: accuracy, confidence, cm, all"),
        (["--retries", "0"], "data download: argument --retries: needs a whole number in 1..100, got 0 "
                             "(see `robnas data download --help`)"),
    ],
)
def test_bad_options(capsys, tmp_path, argv, message) -> None:
    code, _, err = _run(capsys, "data", "download", *argv, "--dest", str(tmp_path / "d"))
    assert _one_line_error(code, err) == f"robnas: error: {message}"


def test_concurrent_downloads_into_one_folder(archives, tmp_path) -> None:
    dest = tmp_path / "d"
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def worker() -> None:
        barrier.wait()
        try:
            reports.append(download_release(dest, "cifar10,ImageNet16-120", base_url=server.url,
                                            retry=FAST, progress=False))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    with ReleaseServer(archives, Faults(chunk_delay=0.02)) as server:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        for name in archives:  # the second run waited for the lock and found everything in place
            assert len(server.requests_for(name)) == 1
    assert sorted(len(r.skipped) for r in reports) == [0, 3]
    code = main(["data", "info", "--verify", "--data", str(dest)])
    assert code == 0


def test_import_zips_folder_and_extracted_copy(archives, release_root, capsys, tmp_path) -> None:
    zips = tmp_path / "zips"
    zips.mkdir()
    for name, data in archives.items():
        (zips / name).write_bytes(data)
    code, out, _ = _run(capsys, "data", "import", str(zips), "--dest", str(tmp_path / "a"))
    assert code == 0 and "installed 5 file(s)" in out
    code, out, _ = _run(capsys, "data", "import", str(release_root), "--dest", str(tmp_path / "b"))
    assert code == 0 and "installed 27 file(s)" in out
    assert _release_files(tmp_path / "b") == sorted(p for p in RELEASE_SHA256
                                                    if not p.startswith("cifar100/")
                                                    and (release_root / p).is_file())
    code, out, _ = _run(capsys, "data", "import", str(release_root), "--dest", str(tmp_path / "b"))
    assert "installed 0 file(s) into" in out and "(27 already there and identical)" in out


def test_a_killed_install_leaves_no_staging_folder_after_the_next_one(release_root, capsys, tmp_path) -> None:
    # kill -9 mid-install leaves <dest>/.staging-*/ (up to a whole release, hidden) for good
    dest = tmp_path / "d"
    left = dest / ".staging-k1ll3d" / "0" / "cifar10"
    left.mkdir(parents=True)
    (left / "clean_accuracy.json").write_bytes((release_root / "cifar10" / "clean_accuracy.json").read_bytes())
    code, out, _ = _run(capsys, "data", "import", str(release_root), "--dest", str(dest))
    assert code == 0 and "installed 27 file(s)" in out
    assert not list(dest.glob(".staging-*"))


def test_import_of_a_corrupt_zip_installs_nothing(archives, release_root, capsys, tmp_path) -> None:
    meta = (release_root / "meta.json").read_bytes()
    path = write_zip(tmp_path / "meta.zip", [("meta.json", meta[:-2] + b" }")])
    code, _, err = _run(capsys, "data", "import", str(path), "--dest", str(tmp_path / "d"))
    assert "meta.json from meta.zip does not match its pinned SHA-256" in _one_line_error(code, err)
    assert _release_files(tmp_path / "d") == []
    assert not (tmp_path / "d").exists()
    (tmp_path / "d").mkdir()  # a folder that was there stays
    code, _, err = _run(capsys, "data", "import", str(path), "--dest", str(tmp_path / "d"))
    assert code == 2 and (tmp_path / "d").is_dir()


def test_info_reports_a_tampered_file(release_root, capsys, tmp_path) -> None:
    assert main(["data", "import", str(release_root), "--dest", str(tmp_path / "d")]) == 0
    target = tmp_path / "d" / "cifar10" / "fog_accuracy.json"
    target.write_bytes(target.read_bytes() + b"\n")
    capsys.readouterr()
    code, out, err = _run(capsys, "data", "info", "--verify", "--data", str(tmp_path / "d"))
    assert "verified  26 ok, 1 mismatch, 0 unpinned" in out
    assert _one_line_error(code, err).startswith(
        f"robnas: error: 1 file(s) in {tmp_path / 'd'} do not match their pinned SHA-256: "
        "cifar10/fog_accuracy.json"
    )
    # the advice names this folder (it said `robnas data download --force`, which installs into
    # $ROBNAS_DATA or the per-user folder), and following it repairs the file
    assert err.endswith(f"(reinstall with `robnas data download --datasets cifar10 --dest {tmp_path / 'd'} "
                        f"--force` or `robnas data import PATH --dest {tmp_path / 'd'}`)\n")
    assert main(["data", "import", str(release_root), "--dest", str(tmp_path / "d")]) == 0
    capsys.readouterr()
    code, out, err = _run(capsys, "data", "info", "--verify", "--data", str(tmp_path / "d"))
    assert code == 0 and "verified  27 ok, 0 mismatch, 0 unpinned" in out
    code, out, _ = _run(capsys, "data", "info", "--json", "--data", str(tmp_path / "d"))
    payload = json.loads(out)
    assert code == 0 and payload["verified"] is False
    assert len(payload["datasets"]["cifar10"]["accuracy"]) == 20
    assert payload["datasets"]["cifar10"]["cm"] == ["clean"]


def test_the_advice_for_a_tampered_confusion_matrix_repairs_it(archives, release_root, capsys, tmp_path) -> None:
    # clean_cm.json is only in the full archive: the advice's download fetched the accuracy
    # archive and left the tampered file as it was
    import shlex

    full = write_zip(tmp_path / "full.zip", [
        *release_entries(release_root, "cifar10", SUBSET),
        ("cifar10/clean_cm.json", (release_root / "cifar10" / "clean_cm.json").read_bytes()),
    ])
    files = {**archives, "cifar10.zip": full.read_bytes()}
    dest = tmp_path / "d"
    with ReleaseServer(files) as server:
        assert main(["data", "download", "--datasets", "cifar10", "--measures", "all", "--no-progress",
                     "--dest", str(dest), "--base-url", server.url]) == 0
        target = dest / "cifar10" / "clean_cm.json"
        target.write_bytes(target.read_bytes() + b"\n")
        capsys.readouterr()
        code, _, err = _run(capsys, "data", "info", "--verify", "--data", str(dest))
        advice = _one_line_error(code, err).split("(reinstall with `", 1)[1].split("`", 1)[0]
        assert advice == f"robnas data download --datasets cifar10 --dest {dest} --measures all --force"
        assert main([*shlex.split(advice)[1:], "--base-url", server.url, "--no-progress"]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, "data", "info", "--verify", "--data", str(dest))
    assert code == 0 and "verified  4 ok, 0 mismatch, 0 unpinned" in out


def test_info_verify_on_a_table_of_ones_own_finds_no_mismatch(capsys, tmp_path) -> None:
    # a folder with its own meta.json (robnas table build) has no pins, as when it is read; its
    # files were each called a mismatch, exit 2, with advice to overwrite them with the release's
    from tests.release_fixture import write_release

    root = write_release(tmp_path / "mine")
    code, out, err = _run(capsys, "data", "info", "--verify", "--data", str(root))
    assert code == 0 and err == ""
    assert "verified  0 ok, 0 mismatch, 3 unpinned" in out and "a table of its own" in out
    code, out, _ = _run(capsys, "data", "info", "--verify", "--json", "--data", str(root))
    payload = json.loads(out)
    assert code == 0 and payload["is_release"] is False and payload["mismatches"] == []


@pytest.mark.parametrize("damage", [b"", b"garbage", b'{"ids": [1]}'])
@pytest.mark.parametrize("verify", [[], ["--verify"]])
def test_info_on_a_damaged_meta_json_is_an_error_not_a_table_of_its_own(
        release_root, capsys, tmp_path, damage, verify) -> None:
    # a meta.json that does not parse (or lacks the release's top level) was shown as a size,
    # exit 0, and with --verify called "a table of its own" with every file unpinned; no query
    # can read the folder, and a table of its own (robnas table build) writes one that parses
    assert main(["data", "import", str(release_root), "--dest", str(tmp_path / "d")]) == 0
    (tmp_path / "d" / "meta.json").write_bytes(damage)
    capsys.readouterr()
    code, out, err = _run(capsys, "data", "info", *verify, "--data", str(tmp_path / "d"))
    line = _one_line_error(code, err)
    assert line.startswith(f"robnas: error: {tmp_path / 'd' / 'meta.json'} ") and out == ""
    assert line.endswith("if it is a damaged copy of the release's, delete it and reinstall: robnas data "
                         f"download --datasets cifar10 --dest {tmp_path / 'd'} --force")


def test_a_table_of_ones_own_is_not_overwritten_by_the_release(archives, release_root, capsys, tmp_path) -> None:
    # `robnas data download/import --dest` into a built table replaced its meta.json (its
    # epsilons) and its result files with the release's, for good
    from tests.release_fixture import write_release

    root = write_release(tmp_path / "mine")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    code, _, err = _run(capsys, "data", "import", str(release_root), "--dest", str(root))
    assert _one_line_error(code, err).startswith(
        f"robnas: error: {root} holds a table of its own (its meta.json is not the release's")
    with ReleaseServer(archives) as server:
        code, _, err = _download(capsys, server, root, "--force")
        assert "holds a table of its own" in _one_line_error(code, err)
        assert server.requests == []
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".robnas-data.lock"} == before


def test_info_without_data_says_how_to_get_it(capsys, tmp_path) -> None:
    code, _, err = _run(capsys, "data", "info", "--data", str(tmp_path / "none"))
    assert "run `robnas data download`" in _one_line_error(code, err)


def test_destination_that_is_a_file(archives, capsys, tmp_path) -> None:
    (tmp_path / "d").write_text("not a folder")
    with ReleaseServer(archives) as server:
        code, _, err = _download(capsys, server, tmp_path / "d")
    assert _one_line_error(code, err) == f"robnas: error: --dest {tmp_path / 'd'} is a file, not a folder"


def test_all_measures_uses_the_full_archive_and_reports_unpinned_files(
    archives, release_root, capsys, tmp_path
) -> None:
    full = write_zip(tmp_path / "full.zip", [
        *release_entries(release_root, "cifar10", SUBSET),
        ("cifar10/clean_cm.json", (release_root / "cifar10" / "clean_cm.json").read_bytes()),
        ("cifar10/clean_confidence.json", b'{"cifar10": {"clean": {"confidence": {"0": 0.5}}}}'),
    ])
    files = {"meta.zip": archives["meta.zip"], "cifar10.zip": full.read_bytes()}
    argv = ["data", "download", "--datasets", "cifar10", "--measures", "all", "--no-progress",
            "--dest", str(tmp_path / "d")]
    with ReleaseServer(files) as server:
        code, out, _ = _run(capsys, *argv, "--base-url", server.url)
        assert code == 0
        assert "installed 5 file(s)" in out
        assert "not verified (1 file(s) without a pinned SHA-256): cifar10/clean_confidence.json" in out
        code, out, _ = _run(capsys, *argv, "--base-url", server.url)  # the manifest knows it
        assert "cifar10.zip: already installed and verified" in out
        assert len(server.requests_for("cifar10.zip")) == 1
    code, out, _ = _run(capsys, "data", "info", "--verify", "--data", str(tmp_path / "d"))
    assert code == 0
    assert "verified  4 ok, 0 mismatch, 1 unpinned" in out
    assert "confidence  1 key(s): clean" in out


def test_import_of_nothing_or_of_the_data_folder_itself(release_root, capsys, tmp_path) -> None:
    code, _, err = _run(capsys, "data", "import", str(tmp_path / "nowhere"), "--dest", str(tmp_path / "d"))
    assert _one_line_error(code, err) == f"robnas: error: cannot import {tmp_path / 'nowhere'}: no such file or folder"
    (tmp_path / "d").mkdir()
    code, _, err = _run(capsys, "data", "import", str(tmp_path / "d"), "--dest", str(tmp_path / "d"))
    assert "is the data folder itself" in _one_line_error(code, err)
    code, _, err = _run(capsys, "data", "import", str(release_root / "cifar10"), "--dest", str(tmp_path / "d"))
    assert _one_line_error(code, err) == (
        "robnas: error: the release's meta.json is in none of the sources; nothing was installed"
    )
    # with meta.json in place, one dataset's folder imports on its own
    assert main(["data", "import", str(release_root / "ImageNet16-120"), "--dest", str(tmp_path / "e")]) == 2
    capsys.readouterr()
    meta = write_zip(tmp_path / "meta.zip", [("meta.json", (release_root / "meta.json").read_bytes())])
    assert main(["data", "import", str(meta), "--dest", str(tmp_path / "e")]) == 0
    code, out, _ = _run(capsys, "data", "import", str(release_root / "ImageNet16-120"), "--dest", str(tmp_path / "e"))
    assert code == 0 and "installed 5 file(s)" in out
