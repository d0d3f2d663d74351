from __future__ import annotations

import json

import numpy as np
import pytest

from robnas.compare.trajectories import (
    TRAJECTORY_COLUMNS,
    expand_to_budget,
    load_trajectories,
    write_run_record,
)
from robnas.errors import NoRunsError
from robnas.run_record import RunRecordError
from tests.compare.helpers import write_comparison


def _random_values(searcher: str, seed: int) -> list[float]:
    rng = np.random.default_rng(seed + 100 * len(searcher))
    return rng.uniform(0.1, 0.9, size=20).round(4).tolist()


def test_load_reads_every_trial_with_best_regret_and_found(tmp_path) -> None:
    write_run_record(tmp_path / "a", searcher="re", objective="clean", dataset="cifar10", seed=3,
                     values=[0.2, 0.9, 0.5, 0.9], optimum=0.9)
    table = load_trajectories(tmp_path)
    assert list(table.columns) == list(TRAJECTORY_COLUMNS)
    assert table["n"].tolist() == [1, 2, 3, 4]
    assert table["best"].tolist() == [0.2, 0.9, 0.9, 0.9]
    assert np.allclose(table["regret"], [0.7, 0.0, 0.0, 0.0])
    assert table["found"].tolist() == [False, True, True, True]
    assert set(table["searcher"]) == {"re"} and set(table["seed"]) == {3}


def test_best_so_far_is_monotone_and_is_the_running_max(tmp_path) -> None:
    write_comparison(tmp_path, _random_values)
    table = load_trajectories(tmp_path)
    for _, run in table.groupby("run_id"):
        assert np.all(np.diff(run["best"].to_numpy()) >= 0)
        assert np.allclose(run["best"], np.maximum.accumulate(run["value"]))
    assert table["run_id"].nunique() == 10


def test_unfinished_runs_are_skipped_unless_asked(tmp_path) -> None:
    write_run_record(tmp_path / "done", searcher="re", objective="clean", dataset="cifar10",
                     seed=0, values=[0.5], optimum=0.9)
    write_run_record(tmp_path / "killed", searcher="re", objective="clean", dataset="cifar10",
                     seed=1, values=[0.4, 0.6], optimum=0.9, finished=False)
    assert set(load_trajectories(tmp_path)["run_id"]) == {"done"}
    assert set(load_trajectories(tmp_path, finished_only=False)["run_id"]) == {"done", "killed"}


def test_torn_last_line_is_ignored_but_a_broken_middle_line_is_an_error(tmp_path) -> None:
    run = write_run_record(tmp_path / "r", searcher="ls", objective="clean", dataset="cifar10",
                           seed=0, values=[0.5, 0.6], optimum=0.9)
    trials = run / "trials.jsonl"
    with trials.open("a") as handle:
        handle.write('{"n": 3, "val')
    assert load_trajectories(tmp_path)["n"].tolist() == [1, 2]
    lines = trials.read_text().splitlines()
    trials.write_text("\n".join([lines[0], "garbage", lines[1]]) + "\n")
    with pytest.raises(RunRecordError, match="line 2 is not JSON"):
        load_trajectories(tmp_path)


@pytest.mark.parametrize(
    ("field", "entry", "message"),
    [
        ("value", "high", "line 2: value 'high' is not a number"),
        ("best", [0.6], r"line 2: best \[0.6\] is not a number"),
        ("clean", True, "line 2: clean True is not a number"),
        ("time", "x", "line 2: time 'x' is not a number"),
    ],
)
def test_a_trial_entry_edited_into_a_non_number_is_a_record_error(tmp_path, field, entry,
                                                                   message) -> None:
    """Not a ValueError from float() (a traceback from `robnas compare --from`): the file and line."""
    run = write_run_record(tmp_path / "r", searcher="ls", objective="clean", dataset="cifar10",
                           seed=0, values=[0.5, 0.6], optimum=0.9)
    trials = [json.loads(line) for line in (run / "trials.jsonl").read_text().splitlines()]
    trials[1][field] = entry
    (run / "trials.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trials))
    with pytest.raises(RunRecordError, match=message):
        load_trajectories(tmp_path)


def test_a_line_that_is_not_utf8_is_a_record_error(tmp_path) -> None:
    run = write_run_record(tmp_path / "r", searcher="ls", objective="clean", dataset="cifar10",
                           seed=0, values=[0.5, 0.6], optimum=0.9)
    with (run / "trials.jsonl").open("ab") as handle:
        handle.write(b'{"n": 3, "arch": "\xff"}\n')
    with pytest.raises(RunRecordError, match="line 3 is not JSON"):
        load_trajectories(tmp_path)


def test_bad_config_and_empty_folder_are_robnas_errors(tmp_path) -> None:
    with pytest.raises(NoRunsError):
        load_trajectories(tmp_path)
    run = write_run_record(tmp_path / "r", searcher="ls", objective="clean", dataset="cifar10",
                           seed=0, values=[0.5], optimum=0.9)
    config = json.loads((run / "config.json").read_text())
    del config["objective"]
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunRecordError, match="not a run config"):
        load_trajectories(tmp_path)


def test_expand_carries_best_forward_and_truncates(tmp_path) -> None:
    write_run_record(tmp_path / "short", searcher="re", objective="clean", dataset="cifar10",
                     seed=0, values=[0.3, 0.6, 0.4], optimum=0.9, budget=6)
    write_run_record(tmp_path / "long", searcher="re", objective="clean", dataset="cifar10",
                     seed=1, values=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9], optimum=0.9)
    grid = expand_to_budget(load_trajectories(tmp_path), 6)
    assert grid.groupby("run_id").size().to_dict() == {"long": 6, "short": 6}
    short = grid[grid["run_id"] == "short"]
    assert short["best"].tolist() == [0.3, 0.6, 0.6, 0.6, 0.6, 0.6]
    assert short["value"].isna().tolist() == [False] * 3 + [True] * 3
    assert np.allclose(short["regret"], 0.9 - short["best"])
    long = grid[grid["run_id"] == "long"]
    assert long["best"].max() == 0.6 and not long["found"].any()  # n=7 lies beyond the grid
    assert list(grid.columns) == list(TRAJECTORY_COLUMNS)


def test_unknown_optimum_gives_nan_regret(tmp_path) -> None:
    write_run_record(tmp_path / "live", searcher="re", objective="clean", dataset="cifar10",
                     seed=0, values=[0.3, 0.6], optimum=None)
    table = expand_to_budget(load_trajectories(tmp_path))
    assert table["regret"].isna().all() and not table["found"].any()


@pytest.mark.parametrize("objectives", [["pgd@1/255", "clean"], ["clean", "params:min"],
                                        ["pgd@1/255", "params:min"]])
def test_a_multi_objective_run_carries_its_clean_component(cifar10_oracle, tmp_path, objectives) -> None:
    from robnas.multi_loop import run_multi_search
    from robnas.searchers import RandomSearch

    run_multi_search(RandomSearch(seed=1), cifar10_oracle, objectives, 12, record_dir=tmp_path / "run")
    table = load_trajectories(tmp_path)
    trials = [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl").read_text().splitlines()]
    if "clean" in objectives:
        expected = [t["values"][objectives.index("clean")] for t in trials]
        assert table["clean"].tolist() == expected
        assert expected == [cifar10_oracle.value(t["index"], "clean") for t in trials]
    else:
        assert table["clean"].isna().all()
    assert table["value"].isna().all() and table["best"].is_monotonic_increasing
    assert np.allclose(table["regret"], 1.0 - table["best"])


def test_two_runs_with_one_run_id_are_refused_not_merged(tmp_path) -> None:
    # two comparisons read together both ran random with seeds 0-2 (run ids
    # cifar10-pgd@1_255-random-s000 ...): the table keyed them by id and kept one run per id,
    # so 6 random runs (3 at 0.4, 3 at 0.8) were summarised as 3 runs at 0.8
    from robnas.compare import write_reports
    from robnas.errors import ComparisonError

    write_comparison(tmp_path / "a", lambda s, seed: [0.2, 0.4], searchers=("random", "re"), seeds=range(3))
    write_comparison(tmp_path / "b", lambda s, seed: [0.2, 0.8 if s == "random" else 0.3],
                     searchers=("random", "ls"), seeds=range(3))
    assert load_trajectories(tmp_path / "a")["run_id"].nunique() == 6  # each folder on its own
    for read in (load_trajectories, write_reports):
        with pytest.raises(ComparisonError, match=r"two runs with one run id \(cifar10-pgd@1_255-random-s000"):
            read(tmp_path)
    assert not (tmp_path / "summary.md").exists()
