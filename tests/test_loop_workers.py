"""The loop with several evaluations in flight (``workers``), on the real CIFAR-10 table."""

from __future__ import annotations

import heapq
import json
import shutil

import numpy as np
import pytest

from robnas.arch import NUM_CELLS, Arch
from robnas.benchmark import TabularOracle
from robnas.cost import flops
from robnas.errors import InvalidParameterError
from robnas.isomorphism import class_code
from robnas.loop import run_search
from robnas.multi_loop import run_multi_search
from robnas.run_record import TRIALS_FILE, RunRecordError
from robnas.searchers import SEARCHERS, RandomSearch
from tests.test_loop import Scripted, _isomorphic_pair

OBJ = "pgd@1/255"


class CountingOracle(TabularOracle):
    """The real table, counting how often each class is evaluated; optionally interrupted (as by
    Ctrl-C) at the ``stop_at``-th evaluation."""

    def __init__(self, *args, stop_at: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: dict[int, int] = {}
        self.stop_at = stop_at

    def evaluate(self, archs, objective):
        for arch in archs:
            self.calls[class_code(arch)] = self.calls.get(class_code(arch), 0) + 1
        if self.stop_at is not None and sum(self.calls.values()) >= self.stop_at:
            raise KeyboardInterrupt
        return super().evaluate(archs, objective)


@pytest.fixture(scope="module")
def counting(release_root):
    return lambda **kw: CountingOracle("cifar10", data=release_root, cache_dir=False, **kw)


def _archs(result) -> list[str]:
    return [t["arch"] for t in result.trials]


def _sequential(searcher, oracle, budget: int) -> list[tuple[str, float]]:
    """The sequential ask/tell loop written out independently of robnas.loop."""
    told: dict[int, float] = {}
    trials: list[tuple[str, float]] = []
    while len(trials) < budget:
        arch = searcher.ask()
        code = class_code(arch)
        if code not in told:
            told[code] = float(oracle.evaluate([arch], OBJ).values[0])
            trials.append((arch.to_string(), told[code]))
        searcher.tell(arch, told[code])
    return trials


@pytest.mark.parametrize("name", ["re", "ls", "bo", "predictor"])
def test_one_worker_is_the_sequential_loop(cifar10_oracle, name) -> None:
    result = run_search(SEARCHERS[name](seed=5), cifar10_oracle, OBJ, 40, workers=1)
    expected = _sequential(SEARCHERS[name](seed=5), cifar10_oracle, 40)
    assert [(t["arch"], t["value"]) for t in result.trials] == expected
    assert all("proposed" not in t and "finished" not in t for t in result.trials)


def test_the_simulated_schedule_is_greedy_list_scheduling(cifar10_oracle) -> None:
    # Random search proposes the same cells whatever it is told, so the schedule can be
    # computed independently: 4 workers, each cell costing its FLOPs over the mean FLOPs of
    # all cells, the next cell starting on the worker that frees first.
    budget, workers = 50, 4
    searcher = RandomSearch(seed=11)
    cells = [searcher.ask() for _ in range(budget)]
    mean = np.mean([flops(Arch.from_code(code)) for code in range(NUM_CELLS)])
    cost = [flops(arch) / mean for arch in cells]
    running = [(cost[i], i) for i in range(workers)]
    heapq.heapify(running)
    order, finished, following = [], {}, workers
    while running:
        time, i = heapq.heappop(running)
        order.append(i)
        finished[i] = time
        if following < budget:
            heapq.heappush(running, (time + cost[following], following))
            following += 1
    result = run_search(RandomSearch(seed=11), cifar10_oracle, OBJ, budget, workers=workers)
    assert _archs(result) == [cells[i].to_string() for i in order]
    assert [t["finished"] for t in result.trials] == pytest.approx([finished[i] for i in order])
    assert [t["proposed"] for t in result.trials] == [i + 1 for i in order]
    assert result.simulated_time == pytest.approx(max(finished.values()))
    assert result.summary()["workers"] == workers
    assert sum(cost) / result.simulated_time > 3.5  # four workers are kept busy


def test_budget_counts_distinct_cells_and_nothing_is_evaluated_twice(counting) -> None:
    oracle = counting()
    first = run_search("re", oracle, OBJ, 60, params={"seed": 2}, workers=4)
    assert first.n_evaluations == 60 == len(oracle.calls) and set(oracle.calls.values()) == {1}
    again = run_search("re", counting(), OBJ, 60, params={"seed": 2}, workers=4)
    assert _archs(again) == _archs(first) and again.best_value == first.best_value
    best = [t["best"] for t in first.trials]
    assert best == list(np.maximum.accumulate([t["value"] for t in first.trials]))


def test_an_isomorph_of_a_pending_cell_costs_nothing(counting) -> None:
    rep, member = _isomorphic_pair()
    others: list[Arch] = []
    for code in range(0, NUM_CELLS, 997):  # three cells of other, distinct classes
        if len(others) < 3 and class_code(Arch.from_code(code)) not in {
                class_code(a) for a in [rep, *others]}:
            others.append(Arch.from_code(code))
    searcher = Scripted([rep, member, *others])
    oracle = counting()
    result = run_search(searcher, oracle, OBJ, 4, workers=4)
    assert result.n_evaluations == 4 and result.n_known == 1 and result.n_proposals == 5
    assert oracle.calls[class_code(rep)] == 1 and len(oracle.calls) == 4
    value = oracle.value(rep, OBJ)
    assert (member, value) in searcher.told and (rep, value) in searcher.told
    assert len(searcher.told) == 5  # every ask answered by one tell


def test_a_run_cut_with_cells_in_flight_resumes_to_the_same_result(cifar10_oracle, tmp_path) -> None:
    whole = run_search("ls", cifar10_oracle, OBJ, 40, params={"seed": 4}, workers=4,
                       record_dir=tmp_path / "whole")
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    (tmp_path / "cut" / "summary.json").unlink()
    lines = (tmp_path / "cut" / TRIALS_FILE).read_text().splitlines(keepends=True)
    (tmp_path / "cut" / TRIALS_FILE).write_text("".join(lines[:17]) + lines[17][:30])
    # when the 17th result was written, 4 + 16 cells had been proposed: 3 were still in flight
    in_flight = [t["arch"] for t in whole.trials[17:] if t["proposed"] <= 16 + 4]
    assert len(in_flight) == 3
    resumed = run_search("ls", cifar10_oracle, OBJ, 40, params={"seed": 4}, workers=4,
                         record_dir=tmp_path / "cut", resume=True)
    assert resumed.replay == {"trials": 17, "diverged_at": None}
    assert _archs(resumed) == _archs(whole) and resumed.best_value == whole.best_value
    assert resumed.simulated_time == whole.simulated_time
    on_disk = [json.loads(line) for line in (tmp_path / "cut" / TRIALS_FILE).open()]
    assert [t["arch"] for t in on_disk] == _archs(whole)


def test_an_interrupted_run_resumes_without_counting_twice(counting, tmp_path) -> None:
    whole = run_search("bo", counting(), OBJ, 30, params={"seed": 1}, workers=4)
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C at the 20th evaluation: 4 in flight
        run_search("bo", counting(stop_at=20), OBJ, 30, params={"seed": 1}, workers=4,
                   record_dir=tmp_path / "run")
    recorded = (tmp_path / "run" / TRIALS_FILE).read_text().splitlines()
    assert 10 <= len(recorded) < 20
    resumed = run_search("bo", counting(), OBJ, 30, params={"seed": 1}, workers=4,
                         record_dir=tmp_path / "run", resume=True)
    assert resumed.replay == {"trials": len(recorded), "diverged_at": None}
    assert _archs(resumed) == _archs(whole) and resumed.n_evaluations == 30
    assert [t["n"] for t in resumed.trials] == list(range(1, 31))
    with pytest.raises(RunRecordError, match="--workers 2 conflicts"):
        run_search("bo", counting(), OBJ, 30, params={"seed": 1}, workers=2,
                   record_dir=tmp_path / "run", resume=True)


def test_multi_objective_search_with_workers(cifar10_oracle, tmp_path) -> None:
    objectives = ["pgd@1/255", "params:min"]
    whole = run_multi_search(_pls(3), cifar10_oracle,
                             objectives, 30, workers=4, record_dir=tmp_path / "whole")
    assert whole.workers == 4 and whole.simulated_time is not None
    classes = {class_code(Arch.from_string(a)) for a in _archs(whole)}
    assert len(classes) == 30 and whole.n_known == 0
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    lines = (tmp_path / "cut" / TRIALS_FILE).read_text().splitlines(keepends=True)
    (tmp_path / "cut" / TRIALS_FILE).write_text("".join(lines[:13]))
    resumed = run_multi_search(_pls(3), cifar10_oracle, objectives, 30, workers=4,
                               record_dir=tmp_path / "cut", resume=True)
    assert _archs(resumed) == _archs(whole) and resumed.hypervolume == whole.hypervolume


def _pls(seed: int):
    from robnas.searchers import ParetoLocalSearch

    return ParetoLocalSearch(seed=seed)


@pytest.mark.parametrize("workers", [0, -1, 1025, 2.0, "4", True])
def test_bad_workers_are_refused(cifar10_oracle, workers) -> None:
    with pytest.raises(InvalidParameterError, match=r"workers must be a whole number in 1\.\.1024"):
        run_search("random", cifar10_oracle, OBJ, 5, workers=workers)


def test_a_finished_run_extends_its_budget_without_diverging(cifar10_oracle, tmp_path) -> None:
    # The first session stopped proposing as its 30 cells filled up; the replay must stop there
    # too (config.json's sessions), or the searcher would see other asks and diverge.
    first = run_search("re", cifar10_oracle, OBJ, 30, params={"seed": 6}, workers=4,
                       record_dir=tmp_path / "run")
    longer = run_search("re", cifar10_oracle, OBJ, 45, params={"seed": 6}, workers=4,
                        record_dir=tmp_path / "run", resume=True)
    assert longer.replay == {"trials": 30, "diverged_at": None}
    assert _archs(longer)[:30] == _archs(first) and longer.n_evaluations == 45
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["sessions"] == [{"start": 0, "budget": 30}, {"start": 30, "budget": 45}]
    again = run_search("re", cifar10_oracle, OBJ, 50, params={"seed": 6}, workers=4,
                       record_dir=tmp_path / "run", resume=True)
    assert again.replay == {"trials": 45, "diverged_at": None} and _archs(again)[:45] == _archs(longer)


class _Ordered(RandomSearch):
    """Proposes the cells of its ``order`` (set after construction), remembering every tell."""

    order: list[Arch]

    def ask(self) -> Arch:
        return self.order.pop(0)

    def tell(self, arch: Arch, value: float) -> None:
        self.__dict__.setdefault("told", []).append(arch.to_string())


def test_a_diverged_replay_answers_each_pending_cell_once(cifar10_oracle, tmp_path) -> None:
    cheap = Arch.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
    b, c, d = (Arch.from_string(f"|nor_conv_3x3~0|+|nor_conv_3x3~0|{op}~1|+|none~0|none~1|nor_conv_3x3~2|")
               for op in ("nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3"))
    first = _Ordered(seed=0)
    first.order = [cheap, b, c]
    run_search(first, cifar10_oracle, OBJ, 3, workers=2, record_dir=tmp_path / "r")
    assert first.told == [cheap.to_string(), b.to_string(), c.to_string()]
    # the resumed searcher proposes b and c first: the replay expects cheap, diverges and tells
    # the recorded trials, b and c among them, which also answers the pending proposals of b and c
    second = _Ordered(seed=0)
    second.order = [b, c, d]
    resumed = run_search(second, cifar10_oracle, OBJ, 4, workers=2, record_dir=tmp_path / "r",
                         resume=True)
    assert resumed.replay["diverged_at"] == 1
    assert sorted(second.told) == sorted(a.to_string() for a in (cheap, b, c, d))  # each once
    assert _archs(resumed)[3] == d.to_string()
