from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robnas.benchmark import TabularOracle
from robnas.benchmark import table as table_module
from robnas.benchmark.cache import ArrayCache, sha256_of
from tests.release_fixture import write_release


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = table_module.read_result_file

    def counting(path, *args, **kwargs):
        calls.append(path.name)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(table_module, "read_result_file", counting)
    return calls


def test_second_start_reads_the_cache_not_the_json(tmp_path, monkeypatch) -> None:
    root = write_release(tmp_path / "data")
    calls = _count_parses(monkeypatch)
    first = TabularOracle("cifar10", data=root, cache_dir=tmp_path / "cache").value(9, "pgd@1/255")
    assert calls == ["pgd@Linf_accuracy.json"]
    second = TabularOracle("cifar10", data=root, cache_dir=tmp_path / "cache").value(9, "pgd@1/255")
    assert second == first
    assert calls == ["pgd@Linf_accuracy.json"]  # nothing parsed again


def _cached_clean_of_cell_9(tmp_path) -> tuple[Path, Path, str, float]:
    """A release under ``tmp_path/data`` read once through a cache in ``tmp_path/cache``: the
    root, the cache folder, cell 9's representative (as a JSON key) and its clean accuracy."""
    root = write_release(tmp_path / "data")
    cache = tmp_path / "cache"
    oracle = TabularOracle("cifar10", data=root, cache_dir=cache)
    return root, cache, str(int(oracle.meta.representative[9])), oracle.value(9, "clean")


def test_a_changed_source_file_is_rebuilt(tmp_path) -> None:
    root, cache, rep, before = _cached_clean_of_cell_9(tmp_path)
    path = root / "cifar10" / "clean_accuracy.json"
    document = json.loads(path.read_text())
    document["cifar10"]["clean"]["accuracy"][rep] = 0.123 if before != 0.123 else 0.456
    time.sleep(0.01)  # a distinct mtime even on coarse file systems
    path.write_text(json.dumps(document))
    after = TabularOracle("cifar10", data=root, cache_dir=cache).value(9, "clean")
    assert after == document["cifar10"]["clean"]["accuracy"][rep] != before


def test_checksums_come_from_the_stat_index_until_a_file_changes(tmp_path) -> None:
    path = tmp_path / "f.json"
    path.write_text("[1]")
    cache = ArrayCache(tmp_path / "cache")
    assert cache.checksum(path) == sha256_of(path)
    index = json.loads((tmp_path / "cache" / "checksums.json").read_text())
    assert index[str(path.resolve())][-1] == sha256_of(path)
    path.write_text("[1, 2]")
    assert ArrayCache(tmp_path / "cache").checksum(path) == sha256_of(path)


def test_the_stat_index_forgets_files_that_are_gone(tmp_path) -> None:
    # every file ever hashed stayed in checksums.json, read on every start (on one machine:
    # 129 of 186 entries were deleted copies and test folders)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text("[1]")
    new.write_text("[2]")
    ArrayCache(tmp_path / "cache").checksum(old)
    old.unlink()
    ArrayCache(tmp_path / "cache").checksum(new)
    index = json.loads((tmp_path / "cache" / "checksums.json").read_text())
    assert list(index) == [str(new.resolve())]


def test_a_file_rewritten_in_place_with_its_old_mtime_is_hashed_again(tmp_path) -> None:
    # `cp -p`, `rsync -t --inplace`, `touch -r`: same size, mtime and inode, other bytes; the stat
    # index answered the old SHA-256, so the oracle served the old file's values from the cache
    root, cache, rep, before = _cached_clean_of_cell_9(tmp_path)
    path = root / "cifar10" / "clean_accuracy.json"
    old = path.stat()
    document = json.loads(path.read_text())
    other = next(v for v in (0.111, 0.222, 0.11, 0.22, 0.1, 0.2, 0.0, 1.0)
                 if v != before and len(json.dumps(v)) == len(json.dumps(before)))
    document["cifar10"]["clean"]["accuracy"][rep] = other
    changed = json.dumps(document)
    assert len(changed) == old.st_size
    with open(path, "r+", encoding="utf-8") as handle:  # in place: the same inode
        handle.write(changed)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    now = path.stat()
    assert (now.st_size, now.st_mtime_ns, now.st_ino) == (old.st_size, old.st_mtime_ns, old.st_ino)
    assert ArrayCache(cache).checksum(path) == sha256_of(path)
    assert TabularOracle("cifar10", data=root, cache_dir=cache).value(9, "clean") == other


def test_disabled_cache_writes_nothing(tmp_path, monkeypatch) -> None:
    root = write_release(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    oracle = TabularOracle("cifar10", data=root, cache_dir=False)
    assert oracle.value(0, "clean") >= 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_an_unwritable_cache_is_warned_about_once(tmp_path, caplog) -> None:
    # an unwritable cache only costs speed; it logged a warning for every entry and every
    # checksum (14 lines before the answer of one `robnas query -O adversarial@mean`)
    root = write_release(tmp_path / "data", keys=("clean", "pgd@Linf", "fgsm@Linf"))
    (tmp_path / "file").write_text("")  # a file where the cache folder's parent should be
    oracle = TabularOracle("cifar10", data=root, cache_dir=tmp_path / "file" / "cache")
    expected = TabularOracle("cifar10", data=root, cache_dir=False)
    assert oracle.value(7, "pgd@mean") == expected.value(7, "pgd@mean")
    assert oracle.value(7, "fgsm@mean") == expected.value(7, "fgsm@mean")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("cannot write to the cache"), warnings


def test_a_cache_write_that_fails_leaves_no_temporary_file(tmp_path) -> None:
    # a full disk (here: a file size limit) stopped np.save halfway, and the .tmp file stayed
    root = write_release(tmp_path / "data")
    cache = tmp_path / "cache"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))\n"
        "from robnas.benchmark import TabularOracle\n"
        "print(TabularOracle('cifar10', data=sys.argv[1], cache_dir=sys.argv[2]).value(5, 'clean'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(root), str(cache)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == TabularOracle("cifar10", data=root, cache_dir=False).value(5, "clean")
    assert done.stderr.count("cannot write to the cache") == 1, done.stderr
    assert (cache / "checksums.json").is_file()  # small entries were written
    assert not list(cache.rglob("*.tmp"))


def test_two_processes_building_the_cache_at_once(tmp_path) -> None:
    root = write_release(tmp_path / "data", keys=("clean", "pgd@Linf", "fgsm@Linf"))
    cache = tmp_path / "cache"
    script = (
        "import sys; from robnas.benchmark import TabularOracle\n"
        "o = TabularOracle('cifar10', data=sys.argv[1], cache_dir=sys.argv[2])\n"
        "print(o.value(77, 'pgd@mean'), o.value(78, 'fgsm@0.5/255'), o.value(5, 'clean'))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(root), str(cache)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert len({out for out, _ in outputs}) == 1
    assert not list(cache.rglob("*.tmp"))
    expected = TabularOracle("cifar10", data=root, cache_dir=False)
    assert outputs[0][0].split() == [
        str(expected.value(77, "pgd@mean")), str(expected.value(78, "fgsm@0.5/255")),
        str(expected.value(5, "clean")),
    ]


def test_entries_have_the_mode_any_new_file_gets(tmp_path) -> None:
    # tempfile's 0600 made a cache folder shared by a group useless to all but the first user
    old = os.umask(0o022)
    try:
        root = write_release(tmp_path / "data")
        TabularOracle("cifar10", data=root, cache_dir=tmp_path / "cache").value(9, "clean")
        (tmp_path / "reference").write_text("")
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(files) >= 3  # arrays, documents and the stat index
    expected = (tmp_path / "reference").stat().st_mode
    assert {p.name: p.stat().st_mode for p in files} == dict.fromkeys((p.name for p in files), expected)


def _entry(cache: ArrayCache, name: str, built: list[str]):
    import numpy as np

    def build():
        built.append(name)
        return np.full(1000, float(len(name)))  # 8,128 bytes as a .npy file

    return cache.array((name,), build)


def test_a_write_past_the_size_limit_removes_the_least_recently_used_entries(tmp_path) -> None:
    cache = ArrayCache(tmp_path / "cache", max_bytes=20_000)  # room for two entries, not three
    built: list[str] = []
    for name in ("a", "b"):
        _entry(cache, name, built)
        time.sleep(0.05)  # file times are coarse (a clock tick)
    _entry(cache, "a", built)  # read: a is now used more recently than b
    time.sleep(0.05)
    assert built == ["a", "b"]
    _entry(cache, "c", built)  # three entries: over the limit, so b (least recently used) goes
    names = sorted(p.name for p in (tmp_path / "cache" / "arrays").iterdir())
    assert names == [ArrayCache.entry_name(n) + ".npy" for n in ("a", "c")]
    _entry(cache, "a", built)
    _entry(cache, "c", built)
    assert built == ["a", "b", "c"]  # a and c were read from the cache
    _entry(cache, "b", built)  # b is built again, and a (now the least recently used) goes
    assert built == ["a", "b", "c", "b"]
    names = sorted(p.name for p in (tmp_path / "cache" / "arrays").iterdir())
    assert names == [ArrayCache.entry_name(n) + ".npy" for n in ("b", "c")]


def test_a_write_removes_temporary_files_left_over_a_day_ago(tmp_path) -> None:
    cache = ArrayCache(tmp_path / "cache")
    _entry(cache, "a", [])
    arrays = tmp_path / "cache" / "arrays"
    old, fresh = arrays / ".x.npy.0000.tmp", arrays / ".y.npy.1111.tmp"
    old.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    _entry(cache, "b", [])
    assert not old.exists() and fresh.exists()  # a killed writer's, and one another process is writing
    assert (arrays / (ArrayCache.entry_name("a") + ".npy")).is_file()  # under the limit: kept
