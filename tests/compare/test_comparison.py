from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from robnas.compare import (
    RunSpec,
    load_oracles,
    plan_runs,
    run_comparison,
    write_reports,
)
from robnas.compare.pool import WORKER_THREAD_VARIABLES, worker_environment
from robnas.errors import ComparisonError, InvalidObjectiveError, RobnasError
from robnas.loop import run_search
from robnas.run_record import RunRecord
from robnas.searchers import SEARCHERS


def test_plan_is_every_combination_with_canonical_names() -> None:
    specs = plan_runs(["random", "re"], ["PGD@1/255", "clean"], ["CIFAR10"], range(3), 20)
    assert len(specs) == 2 * 2 * 3
    assert {s.objective for s in specs} == {"pgd@1/255", "clean"}
    assert {s.dataset for s in specs} == {"cifar10"}
    assert len({s.run_id for s in specs}) == len(specs)
    assert RunSpec("re", "pgd@1/255", "cifar10", 7, 20).run_id == "cifar10-pgd@1_255-re-s007"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["random", "sa"], ["clean"], ["cifar10"], range(2), 10), "unknown searcher 'sa'"),
        ((["random"], [], ["cifar10"], range(2), 10), "at least one of objectives"),
        ((["random"], ["clean"], ["cifar10"], range(0), 10), "at least one of seeds"),
        ((["random"], ["clean"], ["cifar10"], range(2), 0), "budget must be an integer in 1..6466"),
        ((["random"], ["clean"], ["cifar10"], range(2), "10"), "budget must be an integer"),
        (("re", ["clean"], ["cifar10"], range(2), 10), "searchers must be a list (e.g. ['re'])"),
        ((["re"], "clean", ["cifar10"], range(2), 10), "objectives must be a list (e.g. ['clean'])"),
        ((["re"], ["clean"], ["cifar10"], 3, 10), "seeds must be a list"),
        ((["re"], ["clean"], ["cifar10"], [0, -1], 10), "seed must be an integer in 0..4294967295, got -1"),
        ((["re"], ["clean"], ["cifar10"], ["a"], 10), "got 'a'"),
        (([("re", {"populaton_size": 20})], ["clean"], ["cifar10"], range(2), 10),
         "searcher re has no parameter 'populaton_size'; valid: population_size"),
        (([("re", {"population_size": 0})], ["clean"], ["cifar10"], range(2), 10),
         "bad parameter for searcher re: population_size must be an integer in 1..6466"),
        ((["random"], ["clean"], ["mnist"], range(2), 10), "unknown dataset 'mnist'"),
        (([("bo", {"storage": "sqlite:///x.db"})], ["clean"], ["cifar10"], range(2), 10),
         "bad parameter for searcher bo: storage is for one search"),
        # a repeat is a typo, not a request for the same runs twice (also spelt apart)
        ((["re"], ["PGD@1/255", "clean", "pgd@1/255"], ["cifar10"], range(2), 10),
         "objective pgd@1/255 is given twice; give it once"),
        ((["random"], ["pgd@1/255,clean", "PGD@1/255, clean"], ["cifar10"], range(2), 10),
         "objective pgd@1/255,clean is given twice"),
        ((["re", "random", ("re", {"population_size": 30})], ["clean"], ["cifar10"], range(2), 10),
         "searcher re is given twice"),
        (([("re", {"population_size": 10}), ("re", {"population_size": 10, "sample_size": 10})], ["clean"],
          ["cifar10"], range(2), 10), "searcher re:population_size=10 is given twice"),
        ((["re"], ["clean"], ["cifar10", "CIFAR10"], range(2), 10), "dataset cifar10 is given twice"),
        ((["re"], ["clean"], ["cifar10"], [0, 1, 0], 10), "seed 0 is given twice"),
    ],
)
def test_bad_plans_are_refused_as_value_errors(args, message) -> None:
    """Each a ValueError (what Python code catches for a bad argument) naming the bad value,
    before any run: a typo in a parameter is not dropped from the plan in silence."""
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        plan_runs(*args)
    assert isinstance(caught.value, RobnasError)


def test_objective_missing_from_the_table_is_refused_before_any_file(release_root, tmp_path):
    specs = plan_runs(["random"], ["pgd@7/255"], ["cifar10"], range(1), 5)
    with pytest.raises(InvalidObjectiveError, match="valid choices"):
        run_comparison(specs, tmp_path / "cmp", data=release_root)
    assert not (tmp_path / "cmp").exists()


def test_runs_in_workers_resume_and_equal_a_plain_search(release_root, cifar10_oracle, tmp_path):
    specs = plan_runs(["random", "re", "ls"], ["pgd@1/255"], ["cifar10"], range(3), 15)
    out = tmp_path / "cmp"
    first = run_comparison(specs, out, data=release_root, jobs=2)
    assert (first.ran, first.skipped) == (9, 0)
    assert set(first.run_seconds) == {"random", "re", "ls"}
    # at most two worker processes, each loaded the oracle once however many runs it did
    assert 1 <= len(first.workers) <= 2 and os.getpid() not in first.workers
    assert sum(w["runs"] for w in first.workers.values()) == 9
    assert all(w["oracle_loads"] == 1 for w in first.workers.values())
    assert len(first.timeline) == 9
    if "OPENBLAS_NUM_THREADS" not in os.environ:
        assert all(w["threads"] == "1" for w in first.workers.values())
    for spec in specs:
        record = RunRecord(out / "runs" / spec.run_id)
        assert record.summary()["n_evaluations"] == 15
        assert record.config()["seed"] == spec.seed
    # an ordinary run record: the same as run_search with that searcher and seed
    plain = run_search(SEARCHERS["re"](seed=2), cifar10_oracle, "pgd@1/255", 15)
    recorded = RunRecord(out / "runs" / "cifar10-pgd@1_255-re-s002").read_trials()
    assert [t["arch"] for t in recorded] == [t["arch"] for t in plain.trials]

    # resume: finished runs are not repeated; a run cut short (6 trials and half a line, no
    # summary) continues through the loop's resume: its trials replayed, not evaluated again
    killed = out / "runs" / "cifar10-pgd@1_255-ls-s001"
    before = (killed / "trials.jsonl").read_text()
    kept = "".join(before.splitlines(keepends=True)[:6])
    (killed / "trials.jsonl").write_text(kept + before.splitlines()[6][:25])
    (killed / "summary.json").unlink()
    stamp = (out / "runs" / "cifar10-pgd@1_255-re-s000" / "summary.json").stat().st_mtime_ns
    again = run_comparison(specs, out, data=release_root, jobs=1)
    assert (again.ran, again.skipped) == (1, 8)
    after = (killed / "trials.jsonl").read_text()
    assert after.startswith(kept)  # the recorded lines (their times included) kept as they were
    assert [json.loads(x)["arch"] for x in after.splitlines()] \
        == [json.loads(x)["arch"] for x in before.splitlines()]
    assert RunRecord(killed).summary()["replay"] == {"trials": 6, "diverged_at": None}
    assert (out / "runs" / "cifar10-pgd@1_255-re-s000" / "summary.json").stat().st_mtime_ns == stamp
    plan = json.loads((out / "comparison.json").read_text())
    assert plan["searchers"] == ["random", "re", "ls"] and plan["seeds"] == [0, 1, 2]

    with pytest.raises(ComparisonError, match="was run with budget 15, not 20"):
        run_comparison(plan_runs(["re"], ["pgd@1/255"], ["cifar10"], range(1), 20), out,
                       data=release_root)
    summary = (killed / "summary.json").read_bytes()
    (killed / "summary.json").unlink()  # cut short: its budget counts too (it would be cut to 10)
    with pytest.raises(ComparisonError, match="ls-s001 was run with budget 15, not 10"):
        run_comparison(plan_runs(["ls"], ["pgd@1/255"], ["cifar10"], range(1, 2), 10), out,
                       data=release_root)
    (killed / "summary.json").write_bytes(summary)

    report = write_reports(out, checkpoints=[5, 10])
    table = pd.read_parquet(out / "trajectories.parquet")
    assert len(table) == 9 * 15 and table.groupby("run_id")["n"].max().eq(15).all()
    assert table["optimum"].round(3).eq(0.588).all()
    assert np.all(table["best"] <= table["optimum"] + 1e-12)
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary["evaluations"].unique()) == [5, 10, 15]
    assert set(summary["searcher"]) == {"random", "re", "ls"}
    assert (out / "figures" / "anytime-cifar10-pgd@1_255.png").stat().st_size > 10_000
    assert "Holm" in (out / "ranking.md").read_text()
    assert report.ranking.ranks["seeds"].eq(3).all()


def test_one_oracle_per_dataset(release_root) -> None:
    specs = plan_runs(["random", "re"], ["clean", "fgsm@1/255"], ["cifar10", "ImageNet16-120"],
                      range(2), 5)
    oracles = load_oracles(specs, release_root)
    assert {d: o.dataset.value for d, o in oracles.items()} == {
        "cifar10": "cifar10", "ImageNet16-120": "ImageNet16-120"}


def test_worker_environment_sets_one_thread_and_restores(monkeypatch) -> None:
    for name in WORKER_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # the caller's own choice is kept
    with worker_environment() as added:
        assert os.environ["OMP_NUM_THREADS"] == os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert os.environ["MKL_NUM_THREADS"] == "3" and "MKL_NUM_THREADS" not in added
    assert "OMP_NUM_THREADS" not in os.environ and "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["MKL_NUM_THREADS"] == "3"


def test_runs_are_counted_as_they_end(release_root, tmp_path) -> None:
    # two workers, three BO runs each (~0.1 s+ apiece): the first run must be counted (and the
    # progress bar moved) while later runs are still going, not all at once at the end
    specs = plan_runs(["bo"], ["clean"], ["cifar10"], range(6), 30)
    done = run_comparison(specs, tmp_path / "cmp", data=release_root, jobs=2)
    first_counted = min(counted for _, counted in done.timeline)
    last_finished = max(finished for finished, _ in done.timeline)
    assert len(done.timeline) == 6 and first_counted < last_finished
