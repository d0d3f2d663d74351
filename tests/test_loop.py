from __future__ import annotations

import json
import re

import numpy as np
import pytest

from robnas.arch import Arch
from robnas.errors import InvalidParameterError
from robnas.isomorphism import class_code, class_code_array
from robnas.loop import run_search
from robnas.run_record import RunRecordError
from robnas.searchers import LocalSearch, RandomSearch, RegularizedEvolution
from robnas.searchers.testing import RecordingSearcher
from tests.release_json import optimum

OBJ = "pgd@1/255"


class Scripted:
    """Proposes a fixed list of cells (repeating the last), remembering what it was told."""

    def __init__(self, archs: list[Arch], seed: int | None = 0) -> None:
        self.archs = list(archs)
        self.seed = seed
        self.told: list[tuple[Arch, float]] = []
        self._next = 0

    def ask(self) -> Arch:
        arch = self.archs[min(self._next, len(self.archs) - 1)]
        self._next += 1
        return arch

    def tell(self, arch: Arch, value: float) -> None:
        self.told.append((arch, value))


def _isomorphic_pair() -> tuple[Arch, Arch]:
    classes = class_code_array()
    member = int(np.flatnonzero(classes != np.arange(classes.size))[0])
    return Arch.from_code(int(classes[member])), Arch.from_code(member)


@pytest.mark.parametrize("member_first", [False, True], ids=["representative-first", "member-first"])
def test_known_cells_and_isomorphs_cost_nothing(cifar10_oracle, member_first) -> None:
    """An isomorph of an evaluated cell is answered from memory, whichever of the two came
    first (a memory keyed by the cell instead of its class would pay twice for member-first)."""
    rep, member = _isomorphic_pair()
    assert class_code(member) == class_code(rep) and member.code != rep.code
    first, second = (member, rep) if member_first else (rep, member)
    b = Arch.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                         "nor_conv_3x3~1|nor_conv_3x3~2|")
    searcher = Scripted([first, second, first, b])
    result = run_search(searcher, cifar10_oracle, OBJ, 2)
    assert [t["arch"] for t in result.trials] == [first.to_string(), b.to_string()]
    assert result.n_proposals == 4 and result.n_known == 2
    value = cifar10_oracle.value(rep, OBJ)
    assert searcher.told[:3] == [(first, value), (second, value), (first, value)]


def test_guard_forces_unseen_cells_when_a_searcher_is_stuck(cifar10_oracle) -> None:
    stuck = Arch.from_code(0)
    runs = []
    for _ in range(2):
        searcher = Scripted([stuck], seed=4)
        result = run_search(searcher, cifar10_oracle, OBJ, 3, max_known=5)
        runs.append([t["arch"] for t in result.trials])
        assert result.n_forced == 2 and [t.get("forced", False) for t in result.trials] == [
            False, True, True]
        forced = {Arch.from_string(t["arch"]) for t in result.trials[1:]}
        assert forced <= {arch for arch, _ in searcher.told}  # told as unasked cells
        assert len({class_code(Arch.from_string(a)) for a in runs[-1]}) == 3
    assert runs[0] == runs[1]  # the guard's draws follow the searcher's seed


def test_min_clean_penalises_infeasible_cells(cifar10_oracle) -> None:
    searcher = RecordingSearcher(RandomSearch(seed=0))
    result = run_search(searcher, cifar10_oracle, "pgd@8/255", 80, min_clean=0.85)
    told = {arch.to_string(): value for kind, arch, value in searcher.calls if kind == "tell"}
    infeasible = [t for t in result.trials if not t["feasible"]]
    assert infeasible and len(infeasible) < len(result.trials)
    for trial in result.trials:
        assert trial["feasible"] == (trial["clean"] >= 0.85)
        expected = trial["value"] if trial["feasible"] else trial["clean"] - 0.85 - 1.0
        assert told[trial["arch"]] == pytest.approx(expected)
    assert result.best_value == max(t["value"] for t in result.trials if t["feasible"])
    values = cifar10_oracle.objective_values("pgd@8/255")
    clean = cifar10_oracle.objective_values("clean")
    assert result.optimum == values[clean >= 0.85].max() < cifar10_oracle.optimum("pgd@8/255")


def test_record_follows_the_contract_and_is_written_as_it_goes(cifar10_oracle, tmp_path) -> None:
    run_dir = tmp_path / "run"

    class CheckingSearcher(RegularizedEvolution):
        tells = 0

        def ask(self) -> Arch:
            lines = (run_dir / "trials.jsonl").read_text().splitlines()
            assert len(lines) == self.tells  # every evaluation is on disk before the next ask
            return super().ask()

        def tell(self, arch: Arch, value: float) -> None:
            lines = (run_dir / "trials.jsonl").read_text().splitlines()
            assert json.loads(lines[-1])["arch"] == arch.to_string()  # flushed before tell
            self.tells += 1
            super().tell(arch, value)

    result = run_search(CheckingSearcher(seed=0), cifar10_oracle, OBJ, 20, record_dir=run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    assert set(config) >= {"run_id", "searcher", "objective", "dataset", "seed", "budget",
                           "min_clean", "mode", "versions", "oracle", "created"}
    assert config["searcher"]["params"] == {"population_size": 30, "sample_size": 10, "warmup": None,
                                           "design": "random",
                                           "seed": 0}
    assert (config["objective"], config["dataset"], config["budget"]) == (OBJ, "cifar10", 20)
    assert "cifar10/pgd@Linf_accuracy.json" in config["oracle"]["checksums"]
    trials = [json.loads(line) for line in (run_dir / "trials.jsonl").open()]
    assert [t["n"] for t in trials] == list(range(1, 21))
    for trial in trials:
        assert set(trial) == {"n", "index", "arch", "value", "best", "clean", "cost_seconds", "time"}
        assert trial["index"] == cifar10_oracle.index_of(Arch.from_string(trial["arch"]))
        assert trial["value"] == cifar10_oracle.value(trial["index"], OBJ)
    assert [t["best"] for t in trials] == list(np.maximum.accumulate([t["value"] for t in trials]))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result.summary()))
    table_optimum = optimum(cifar10_oracle.root, "cifar10", "pgd@Linf", 1.0)
    assert summary["regret"] == pytest.approx(table_optimum - summary["best_value"])
    assert summary["rank"] == cifar10_oracle.rank(Arch.from_string(summary["best_arch"]), OBJ)


def test_resume_to_a_larger_budget_equals_one_longer_run(cifar10_oracle, tmp_path) -> None:
    straight = run_search(LocalSearch(seed=2), cifar10_oracle, OBJ, 120)
    run_search(LocalSearch(seed=2), cifar10_oracle, OBJ, 50, record_dir=tmp_path / "r")
    longer = run_search(LocalSearch(seed=2), cifar10_oracle, OBJ, 120, record_dir=tmp_path / "r",
                        resume=True)
    assert [t["arch"] for t in longer.trials] == [t["arch"] for t in straight.trials]
    assert longer.replay == {"trials": 50, "diverged_at": None}
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["budget"] == 120 and config["resumed"][0]["budget"] == 120


def test_resume_without_a_seed_diverges_but_loses_and_repeats_nothing(cifar10_oracle, tmp_path):
    first = run_search(RandomSearch(), cifar10_oracle, OBJ, 30, record_dir=tmp_path / "r")
    resumed = run_search(RandomSearch(), cifar10_oracle, OBJ, 60, record_dir=tmp_path / "r",
                         resume=True)
    assert resumed.replay == {"trials": 0, "diverged_at": 1}
    archs = [t["arch"] for t in resumed.trials]
    assert archs[:30] == [t["arch"] for t in first.trials]
    assert len({class_code(Arch.from_string(a)) for a in archs}) == 60


def test_a_diverged_replay_tells_the_searcher_every_remaining_trial(cifar10_oracle, tmp_path):
    class Listening(RandomSearch):
        """Random search that remembers what it was told (same class for both sessions)."""

        told: list[str]

        def tell(self, arch: Arch, value: float) -> None:
            self.__dict__.setdefault("told", []).append(arch.to_string())
            super().tell(arch, value)

    first = run_search(Listening(), cifar10_oracle, OBJ, 30, record_dir=tmp_path / "r")
    searcher = Listening()
    resumed = run_search(searcher, cifar10_oracle, OBJ, 40, record_dir=tmp_path / "r", resume=True)
    assert resumed.replay["diverged_at"] is not None
    recorded = [t["arch"] for t in first.trials]
    # before the first new evaluation, every recorded trial was told (as an unasked cell)
    new = resumed.trials[30]["arch"]
    assert set(recorded) <= set(searcher.told[: searcher.told.index(new)])


def test_resume_under_a_cost_limit_accepts_cells_whose_class_mate_is_within(cifar10_oracle, tmp_path):
    # a cell over --max-params whose class has a cell within it (a dead convolution's weights)
    # is feasible and counts towards the running best; the resume's check of the record agrees
    straight = run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 30, max_params=0.3)
    first = run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 20, record_dir=tmp_path / "r",
                       max_params=0.3)
    mates = [t for t in first.trials if "within_limits_index" in t]
    assert mates and all(t["feasible"] and t["params"] > 0.3 for t in mates)
    resumed = run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 30, record_dir=tmp_path / "r",
                         max_params=0.3, resume=True)
    assert resumed.replay == {"trials": 20, "diverged_at": None}
    assert [(t["arch"], t["best"]) for t in resumed.trials] == [(t["arch"], t["best"]) for t in straight.trials]


def test_resume_refuses_a_different_run(cifar10_oracle, tmp_path) -> None:
    run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 10, record_dir=tmp_path / "r")
    with pytest.raises(RunRecordError, match="already holds a run record"):
        run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 10, record_dir=tmp_path / "r")
    with pytest.raises(RunRecordError, match="objective"):
        run_search(RandomSearch(seed=0), cifar10_oracle, "clean", 10, record_dir=tmp_path / "r",
                   resume=True)
    with pytest.raises(RunRecordError, match="seed"):
        run_search(RandomSearch(seed=1), cifar10_oracle, OBJ, 10, record_dir=tmp_path / "r",
                   resume=True)
    with pytest.raises(RunRecordError, match="budget must be >= that"):
        run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 5, record_dir=tmp_path / "r",
                   resume=True)
    with pytest.raises(RunRecordError, match="not a run record"):
        run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 5, record_dir=tmp_path / "x",
                   resume=True)


@pytest.mark.parametrize(("budget", "min_clean", "message"), [
    (0, None, "budget must be an integer in 1..6466"), (6467, None, "budget"),
    (20.7, None, "got 20.7"), (True, None, "got True"), ("abc", None, "got 'abc'"),
    (float("nan"), None, "budget"), (None, None, "got None"),
    (5, 1.5, "min-clean"), (5, "0.5", "got '0.5'"), (5, float("nan"), "min-clean")])
def test_bad_arguments_raise_value_errors_before_any_folder(cifar10_oracle, tmp_path, budget,
                                                            min_clean, message) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(message)) as caught:
        run_search(RandomSearch(), cifar10_oracle, OBJ, budget, min_clean=min_clean,
                   record_dir=tmp_path / "run")
    assert isinstance(caught.value, ValueError) and not (tmp_path / "run").exists()


@pytest.mark.parametrize(("params", "message"), [
    ({"seed": 0, "population_size": 0}, "population_size must be an integer in 1..6466"),
    ({"seed": -1}, "seed"), ({"seed": "x"}, "seed")])
def test_bad_searcher_parameters_leave_no_run_folder_behind(cifar10_oracle, tmp_path, params,
                                                            message) -> None:
    """Checked before the record is made (and before the searcher's random stream is seeded):
    a retry with good parameters into the same folder then runs."""
    with pytest.raises(InvalidParameterError, match=message):
        run_search("re", cifar10_oracle, OBJ, 10, params=params, record_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    result = run_search("re", cifar10_oracle, OBJ, 10, params={"seed": 0}, record_dir=tmp_path / "run")
    assert result.n_evaluations == 10


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_clean": 0.99}, "--min-clean 0.99: no cell of the cifar10 table has clean accuracy >= 0.99 "
                          "(the best has {best_clean:.4g})"),
    ({"max_params": 1e-6}, "--max-params 1e-06: no cell of the cifar10 space is within it"),
    ({"max_params": 1.0, "max_flops": 7.0}, "no cell of the cifar10 space is within them")])
def test_constraints_no_cell_meets_are_refused_not_run(release_root, cifar10_oracle, tmp_path, kwargs,
                                                        message) -> None:
    """The API refuses what the CLI refuses, instead of spending the budget to report no cell."""
    message = message.format(best_clean=optimum(release_root, "cifar10", "clean"))
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        run_search("re", cifar10_oracle, OBJ, 20, params={"seed": 0}, record_dir=tmp_path / "run",
                   **kwargs)
    assert not (tmp_path / "run").exists()


def test_a_searcher_returning_garbage_is_a_bug(cifar10_oracle) -> None:
    with pytest.raises(TypeError, match="not an Arch"):
        run_search(Scripted(["|none~0|"]), cifar10_oracle, OBJ, 1)  # type: ignore[list-item]


def test_config_records_versions_and_checksums_of_the_files_read(
    cifar10_oracle, release_root, tmp_path
) -> None:
    import hashlib

    import optuna

    import robnas

    run_search(RandomSearch(seed=0), cifar10_oracle, "pgd@8/255", 5, min_clean=0.5,
               record_dir=tmp_path / "r")
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    versions = config["versions"]
    assert versions["robnas"] == robnas.__version__ and versions["optuna"] == optuna.__version__
    assert versions["numpy"] == np.__version__ and versions["python"].count(".") == 2
    import sklearn  # the predictor's forests: its proposals depend on scikit-learn's version

    assert versions["scikit-learn"] == sklearn.__version__
    checksums = config["oracle"]["checksums"]
    # the objective's file and, because of min_clean, the clean file: the real SHA-256 of each
    assert {"cifar10/pgd@Linf_accuracy.json", "cifar10/clean_accuracy.json"} <= set(checksums)
    for name, digest in checksums.items():
        assert digest == hashlib.sha256((release_root / name).read_bytes()).hexdigest(), name
    assert config["oracle"]["data_root"] == str(release_root) and config["mode"] == "tabular"


def test_what_is_no_searcher_or_no_oracle_is_refused_in_one_line(cifar10_oracle) -> None:
    from robnas.errors import InvalidSearcherError
    from robnas.multi_loop import run_multi_search

    with pytest.raises(InvalidSearcherError, match=r"a searcher is a name .* or an object with ask"):
        run_search(None, cifar10_oracle, OBJ, 5)  # type: ignore[arg-type]
    for call in (lambda: run_search("re", "cifar10", OBJ, 5),  # type: ignore[arg-type]
                 lambda: run_multi_search("pls", "cifar10", [OBJ, "clean"], 5)):  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError, match=r"oracle must be an oracle object .* got 'cifar10'"):
            call()


@pytest.mark.parametrize("record_dir", [5, "", b"run", 2.5])
def test_a_record_dir_that_is_no_folder_path_is_refused_before_anything_runs(cifar10_oracle, tmp_path,
                                                                             monkeypatch, record_dir) -> None:
    """Not a bare TypeError from pathlib, and not "" taken as the working folder."""
    from robnas.multi_loop import run_multi_search

    monkeypatch.chdir(tmp_path)
    message = f"record_dir must be a folder path (str or os.PathLike), got {record_dir!r}"
    for call in (lambda: run_search("random", cifar10_oracle, OBJ, 5, record_dir=record_dir),
                 lambda: run_multi_search("random", cifar10_oracle, [OBJ, "clean"], 5, record_dir=record_dir)):
        with pytest.raises(InvalidParameterError, match=re.escape(message)):
            call()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("max_known", [0, 2.5, "10", True])
def test_a_bad_max_known_is_refused_before_any_folder_in_both_loops(cifar10_oracle, tmp_path, max_known) -> None:
    # "10" raised a TypeError deep in the loop, 2.5 ran as a fractional guard, True as 1 and 0
    # as 1 (a random cell forced after every known proposal), none of it said
    from robnas import run_multi_search

    with pytest.raises(InvalidParameterError, match="max_known must be an integer >= 1"):
        run_search(RandomSearch(seed=0), cifar10_oracle, OBJ, 5, max_known=max_known, record_dir=tmp_path / "a")
    with pytest.raises(InvalidParameterError, match="max_known must be an integer >= 1"):
        run_multi_search(RandomSearch(seed=0), cifar10_oracle, [OBJ, "clean"], 5, max_known=max_known,
                         record_dir=tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
