"""The SQLite results store and cached, resumable evaluation."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from robnas.evaluation.runner import run_cached
from robnas.evaluation.store import STORE_FILE, ResultKey, ResultStore, StoredResult, StoreError
from tests.evaluation.live_helpers import FAST, own_labels, small_net


def key(**changes) -> ResultKey:
    base = {"dataset": "cifar10", "arch": "13433", "key": "pgd@Linf", "point": 1.0,
            "protocol": FAST.fingerprint(), "weights": "w", "n_requested": 20}
    return ResultKey(**{**base, **changes})


def test_results_are_keyed_by_every_field(tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    store.put(key(), 7, 20, 1.0)
    assert store.get(key()).accuracy == pytest.approx(0.35)
    assert store.get(key(point=1)).correct == 7  # 1 and 1.0 are the same point
    for change in ({"dataset": "cifar100"}, {"arch": "1"}, {"key": "fgsm@Linf"}, {"point": 2.0},
                   {"protocol": "x"}, {"weights": "v"}, {"n_requested": 10}, {"images": "i2"}):
        assert store.get(key(**change)) is None, change
    store.put(key(), 8, 20, 1.0)  # replacing
    assert store.get(key()).correct == 8 and store.count() == 1


def test_the_test_images_identity_is_part_of_the_key_in_an_unchanged_schema(tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    store.put(key(), 7, 20, 1.0)  # a row of a store written before keys named the images
    store.put(key(images="i1"), 9, 20, 1.0)
    store.add_batch(key(images="i2"), 8, 0, 3, 8, 0.5)
    assert store.get(key(images="i1")).correct == 9 and store.get(key(images="i2")) is None
    assert store.get(key()).correct == 7 and store.batches(key(images="i1"), 8) == {}
    assert store.batches(key(images="i2"), 8) == {0: (3, 8, 0.5)}
    with sqlite3.connect(store.path) as db:  # the same columns as before: old files open unchanged
        columns = [row[1] for row in db.execute("PRAGMA table_info(results)")]
        assert len(columns) == 13 and "images" not in columns


def test_a_worker_that_read_other_test_images_is_refused(tmp_path):
    from robnas.errors import ExecutorError
    from robnas.evaluation.cell_tasks import store_counts

    store = ResultStore(tmp_path / "s.sqlite")
    with pytest.raises(ExecutorError, match="cell 1: a worker evaluated test images i2, this machine has i1"):
        store_counts(1, [(key(images="i2"), 5, 20, 1.0, "cpu", 3)], [key(images="i1")], store)
    assert store.count() == 0
    assert store_counts(1, [(key(images="i1"), 5, 20, 1.0, "cpu", 3)], [key(images="i1")], store) == 1.0


def test_default_location_is_the_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ROBNAS_CACHE_DIR", str(tmp_path / "c"))
    store = ResultStore()
    store.put(key(), 1, 2, 0.1)
    assert store.path == tmp_path / "c" / STORE_FILE and store.path.is_file()
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unwritable_store_raises_a_robnas_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        ResultStore(blocker / "s.sqlite").get(key())


def _writer(path: str, worker: int) -> None:
    store = ResultStore(path)
    for i in range(40):
        store.add_batch(key(arch=str(worker), key="fgsm@Linf"), 8, i, 1, 8, 0.0)
        store.put(key(arch=str(worker), point=float(i)), i, 40, 0.0)


def test_two_processes_share_a_store(tmp_path):
    path = str(tmp_path / "s.sqlite")
    ResultStore(path).count()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(path, w)) for w in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    store = ResultStore(path)
    assert store.count() == 80
    assert len(store.batches(key(arch="1", key="fgsm@Linf"), 8)) == 40


@pytest.fixture(scope="module")
def problem():
    net = small_net()
    images, labels = own_labels(net, 20)
    return net, images, labels


def test_second_evaluation_costs_nothing(tmp_path, problem):
    store = ResultStore(tmp_path / "s.sqlite")
    calls: list[int] = []
    first = run_cached(store, key(point=16.0), *problem, protocol=FAST, batch_size=8,
                       on_batch=lambda b, *_: calls.append(b))
    assert first.batches_run == 3 and calls == [0, 1, 2] and first.result.n == 20
    second = run_cached(store, key(point=16.0), *problem, protocol=FAST, batch_size=8,
                        on_batch=lambda b, *_: calls.append(b))
    assert second.batches_run == 0 and second.seconds == 0 and calls == [0, 1, 2]
    assert second.result == first.result


class Killed(Exception):
    pass


def test_a_killed_evaluation_resumes_where_it_stopped(tmp_path, problem):
    store = ResultStore(tmp_path / "s.sqlite")
    reference = run_cached(ResultStore(tmp_path / "ref.sqlite"), key(point=16.0), *problem,
                           protocol=FAST, batch_size=4)
    assert 0 < reference.result.correct < 20  # the attack flips some but not all

    ran: list[int] = []

    def die_after_three(batch: int, *_: object) -> None:
        ran.append(batch)
        if len(ran) == 3:
            raise Killed

    with pytest.raises(Killed):
        run_cached(store, key(point=16.0), *problem, protocol=FAST, batch_size=4,
                   on_batch=die_after_three)
    assert store.get(key(point=16.0)) is None
    assert sorted(store.batches(key(point=16.0), 4)) == [0, 1, 2]
    resumed: list[int] = []
    outcome = run_cached(store, key(point=16.0), *problem, protocol=FAST, batch_size=4,
                         on_batch=lambda b, *_: resumed.append(b))
    assert resumed == [3, 4] and outcome.batches_run == 2
    assert (outcome.result.correct, outcome.result.n) == (reference.result.correct, 20)
    assert store.batches(key(point=16.0), 4) == {}


def test_progress_rows_of_another_batch_size_are_not_reused(tmp_path, problem):
    store = ResultStore(tmp_path / "s.sqlite")
    store.add_batch(key(point=16.0), 5, 0, 5, 5, 0.1)
    outcome = run_cached(store, key(point=16.0), *problem, protocol=FAST, batch_size=4)
    assert outcome.batches_run == 5


def test_store_file_is_created_with_its_folder(tmp_path):
    store = ResultStore(Path(tmp_path) / "a" / "b" / "s.sqlite")
    assert store.count() == 0 and store.path.is_file()


def test_put_many_stores_every_result_and_drops_their_progress(tmp_path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    keys = [ResultKey("cifar10", "7", "fgsm@Linf", eps, "p", "w", 10) for eps in (1.0, 2.0)]
    store.add_batch(keys[0], 5, batch=0, correct=3, n=5, seconds=0.5)
    store.put_many([(keys[0], 6, 10, 1.0, "cpu"), (keys[1], 4, 10, 2.0, "cpu")])
    assert [store.get(k) for k in keys] == [StoredResult(6, 10, 1.0, "cpu"), StoredResult(4, 10, 2.0, "cpu")]
    assert store.batches(keys[0], 5) == {} and store.count() == 2
