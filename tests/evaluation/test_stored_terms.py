"""A cell's task evaluates only the terms the results store lacks.

Clean accuracy is always among a cell's terms (every oracle reports it). Measured once, by a
search, a verify or a build, it must not be measured again when another attack is added:
each of the three paths that send cells to workers (``robnas table build``, ``robnas verify``'s
prefill, a live search's executor schedule) used to send every term of a cell that lacked any,
so the worker recomputed and the driver overwrote the stored clean result. Each test stores
clean accuracy first with a marked compute time that a recomputation would replace.
"""

from __future__ import annotations

from robnas.arch import Arch
from robnas.evaluation.cell_tasks import LiveSettings, prefill
from robnas.evaluation.table_build import build_table, parse_attack
from robnas.execution import LocalExecutor
from robnas.loop import run_search
from robnas.objective import CLEAN, Term
from robnas.searchers import RandomSearch
from tests.evaluation.test_live_search import OBJECTIVE, SEED, live, roots

__all__ = ["roots"]  # the fixture, shared with test_live_search

MARKED_SECONDS = 1234.5
"""The compute time stored with the clean results beforehand (a real evaluation takes < 1 s)."""


def _representative(oracle, arch: Arch) -> int:
    return oracle.meta.representative_of(oracle.index_of(arch))


def _store_clean_marked(oracle, archs) -> list:
    """Evaluate clean accuracy of ``archs``' representatives in-process, then re-store each
    result with :data:`MARKED_SECONDS`; returns their store keys."""
    keys = []
    for arch in archs:
        oracle.value(arch, CLEAN)
        key = oracle.result_key(_representative(oracle, arch), Term(CLEAN, None))
        stored = oracle.store.get(key)
        oracle.store.put(key, stored.correct, stored.n, MARKED_SECONDS, stored.device)
        keys.append(key)
    return keys


def _attack_keys(oracle, archs, objective: str) -> list:
    (term,) = oracle.validate(objective)
    return [oracle.result_key(_representative(oracle, a), term) for a in archs]


def test_verify_prefill_evaluates_only_the_attack_when_clean_is_stored(roots):
    oracle = live(roots, store="prefill.sqlite")
    archs = roots["archs"][:2]
    clean_keys = _store_clean_marked(oracle, archs)
    assert all(oracle.store.get(k).seconds == MARKED_SECONDS for k in clean_keys)
    with LocalExecutor(1) as executor:
        spent = prefill(oracle, archs, list(oracle.validate(OBJECTIVE)), executor=executor)
    assert len(spent) == 2  # both cells lacked the attack: two tasks
    assert all(oracle.store.get(k) is not None for k in _attack_keys(oracle, archs, OBJECTIVE))
    assert [oracle.store.get(k).seconds for k in clean_keys] == [MARKED_SECONDS] * 2  # not measured again
    with LocalExecutor(1) as executor:  # nothing lacking: no task at all
        assert prefill(oracle, archs, list(oracle.validate(OBJECTIVE)), executor=executor) == {}


def test_a_live_search_on_workers_evaluates_only_the_attack_when_clean_is_stored(roots, tmp_path):
    oracle = live(roots, store="schedule.sqlite")
    archs = roots["archs"][:2]  # random search with SEED proposes these first
    clean_keys = _store_clean_marked(oracle, archs)
    with LocalExecutor(2) as executor:
        result = run_search(RandomSearch(seed=SEED), oracle, OBJECTIVE, 2, workers=2, executor=executor,
                            record_dir=tmp_path / "run")
    assert sorted(t["arch"] for t in result.trials) == sorted(a.to_string() for a in archs)
    assert all(t["cost_seconds"] > 0 for t in result.trials)  # the attack was evaluated by a worker
    assert [oracle.store.get(k).seconds for k in clean_keys] == [MARKED_SECONDS] * 2
    check = live(roots, store="schedule.sqlite")
    for trial in result.trials:  # the values are those of the store, clean included
        assert trial["value"] == check.value(trial["arch"], OBJECTIVE)
        assert trial["clean"] == check.value(trial["arch"], CLEAN)
    assert check.batches_run == 0


def test_adding_an_attack_to_a_built_table_does_not_measure_clean_again(roots, tmp_path):
    oracle = live(roots, store="build.sqlite")
    archs = roots["archs"][:2]
    clean_keys = _store_clean_marked(oracle, archs)
    settings = LiveSettings.of(oracle)
    key, epsilons = parse_attack("fgsm@1,2", oracle.meta.epsilons)
    indices = [_representative(oracle, a) for a in archs]
    with LocalExecutor(1) as executor:
        done = build_table(settings, key, epsilons, indices, tmp_path / "table", store=oracle.store,
                           executor=executor)
    # two cells x two epsilons x two batches of 6 images (12 test images); clean's batches not again
    assert (done.evaluated, done.batches) == (2, 2 * 2 * 2)
    assert [oracle.store.get(k).seconds for k in clean_keys] == [MARKED_SECONDS] * 2


def test_the_tests_cells_are_distinct_classes(roots):
    """The tests above count two tasks for two cells: they must be two classes."""
    oracle = live(roots, store="classes.sqlite")
    assert len({_representative(oracle, a) for a in roots["archs"][:2]}) == 2
