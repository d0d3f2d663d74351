"""Cost metrics as objectives, table columns and search constraints.

Accuracy expectations are read straight from the released JSON (not through the oracle); cost
expectations from robnas.cost, which tests/test_cost.py checks against xautodl.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robnas import cost
from robnas.arch import Arch
from robnas.cli.main import main
from robnas.errors import InvalidObjectiveError
from robnas.loop import run_search
from robnas.objective import Grid, Objective
from robnas.searchers import RandomSearch


def _released(root: Path, dataset: str, key: str, eps: float | None) -> dict[int, float]:
    """NB201 index -> released accuracy, for every one of the 15,625 indices (via its isomorph)."""
    meta = json.loads((root / "meta.json").read_text())
    raw = json.loads((root / dataset / f"{key}_accuracy.json").read_text())[dataset][key]["accuracy"]
    column = None if eps is None else meta["epsilons"][key].index(eps)
    by_rep = {int(k): (v if column is None else v[column]) for k, v in raw.items()}
    return {int(i): by_rep[int(e["isomorph"])] for i, e in meta["ids"].items()}


def _strings(root: Path) -> dict[int, str]:
    meta = json.loads((root / "meta.json").read_text())
    return {int(i): e["nb201-string"] for i, e in meta["ids"].items()}


def test_cost_objectives_parse_and_sit_on_every_grid() -> None:
    for text in ("params", "FLOPS", " flops "):
        objective = Objective.parse(text)
        assert objective.is_cost and str(objective) == text.strip().lower()
        assert objective.terms(Grid({"clean": ()})) == ((objective.key, None),)
    assert not Objective.parse("pgd@1/255").is_cost
    with pytest.raises(InvalidObjectiveError, match="params, flops"):
        Objective.parse("latency@1")


def test_dataframe_mixes_cost_and_accuracy_columns(cifar10_oracle, release_root) -> None:
    frame = cifar10_oracle.dataframe(["params", "pgd@1/255", "flops"])
    assert frame.index.name == "nb201_index"
    assert list(frame.columns) == ["arch", "representative", "params", "pgd@1/255", "flops"]
    pgd = _released(release_root, "cifar10", "pgd@Linf", 1.0)
    strings = _strings(release_root)
    for index in (0, 13433, 8865, 15624, 777):
        arch = Arch.from_string(strings[index])
        assert frame.loc[index, "pgd@1/255"] == pgd[index]
        assert frame.loc[index, "params"] == cost.params(arch) and frame.loc[index, "flops"] == cost.flops(arch)
    # a cell's own cost, not its representative's: isomorphs differ where a dead conv differs
    reps = frame.loc[frame["representative"].to_numpy()]
    differ = frame["params"].to_numpy() != reps["params"].to_numpy()
    assert differ.any()
    assert (frame["pgd@1/255"].to_numpy() == reps["pgd@1/255"].to_numpy()).all()


def test_cost_optimum_rank_and_scalar_lookups(cifar10_oracle, release_root) -> None:
    strings = _strings(release_root)
    meta = json.loads((release_root / "meta.json").read_text())["ids"]
    reps = sorted({int(e["isomorph"]) for e in meta.values()})
    rep_params = np.array([cost.params(strings[r]) for r in reps])
    assert cifar10_oracle.optimum("params") == rep_params.min()
    assert cifar10_oracle.best_indices("params") == [r for r, p in zip(reps, rep_params, strict=True)
                                                     if p == rep_params.min()]
    arch = Arch.from_string(strings[13433])
    assert cifar10_oracle.value(13433, "flops") == cost.flops(arch)
    assert cifar10_oracle.rank(arch, "params") == 1 + int((rep_params < cost.params(arch)).sum())
    evaluation = cifar10_oracle.evaluate([arch], "params")
    assert evaluation.values[0] == cost.params(arch) and evaluation.clean[0] == 0.893


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_several_objectives(release_root, capsys) -> None:
    code, out, _ = _cli(capsys, "query", "13433", "-O", "pgd@1/255", "-O", "params", "-O", "flops",
                        "--data", str(release_root), "--json")
    payload = json.loads(out)
    arch = Arch.from_string(_strings(release_root)[13433])
    assert code == 0 and payload["clean"] == 0.893
    values = {o["objective"]: o["value"] for o in payload["objectives"]}
    assert values == {"pgd@1/255": 0.336, "params": cost.params(arch), "flops": cost.flops(arch)}
    code, out, _ = _cli(capsys, "query", "13433", "-O", "params", "-O", "clean", "--data", str(release_root))
    assert code == 0
    assert f"params          {cost.params(arch):.6g}" in out and "smallest        0.073306 on params" in out
    # the classes whose representative costs least: every one in --json, ten and a count in text
    strings = _strings(release_root)
    representatives = {int(e["isomorph"]) for e in json.loads((release_root / "meta.json").read_text())["ids"].values()}
    classes = {r for r in representatives if cost.params(strings[r]) == pytest.approx(0.073306)}
    optimal = payload["objectives"][1]["optimal_indices"]
    assert payload["objectives"][1]["optimal_count"] == len(optimal) == len(classes) > 10
    assert f", ... {len(classes) - 10} more)" in out


def test_table_cost_columns(release_root, capsys) -> None:
    code, out, _ = _cli(capsys, "table", "-O", "clean", "-O", "params", "-O", "flops",
                        "--dataset", "ImageNet16-120", "--data", str(release_root))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "nb201_index,arch,representative,clean,params,flops"
    index, arch, _, _, params, flops = lines[1 + 13433].split(",")
    assert int(index) == 13433
    assert float(params) == cost.params(arch, "ImageNet16-120")
    assert float(flops) == cost.flops(arch, "ImageNet16-120")


def _class_mates(root: Path) -> dict[int, list[int]]:
    """NB201 index -> the indices of its isomorphism class (the release's ``isomorph`` field)."""
    meta = json.loads((root / "meta.json").read_text())
    members: dict[int, list[int]] = {}
    for i, e in meta["ids"].items():
        members.setdefault(int(e["isomorph"]), []).append(int(i))
    return {int(i): members[int(e["isomorph"])] for i, e in meta["ids"].items()}


def _within(limits: dict[str, float], arch: str) -> bool:
    return all(cost.value(k[4:], arch) <= v for k, v in limits.items())


def test_search_refuses_a_cost_objective_and_bad_limits(release_root, capsys, tmp_path) -> None:
    for argv, message in (
        (["-O", "params"], "params is a cost, not an objective to maximise"),
        (["-O", "clean", "--max-flops", "-3"], "--max-flops needs a number > 0 and <= 10000 (millions), got -3"),
        (["-O", "clean", "--max-flops", "0"], "--max-flops needs a number > 0 and <= 10000 (millions), got 0"),
        (["-O", "clean", "--max-params", "x"], "--max-params needs a number > 0 and <= 10000 (millions), got 'x'"),
        (["-O", "clean", "--max-params", "0.07"], "--max-params 0.07: no cell of the cifar10 space is "
                                                  "within it (the smallest: params 0.07331); raise the limit"),
        (["-O", "clean", "--max-params", "1", "--max-flops", "7"],
         "--max-params 1 --max-flops 7: no cell of the cifar10 space is within them (the smallest: "
         "params 0.07331, flops 7.783)"),
    ):
        code, _, err = _cli(capsys, "search", *argv, "--data", str(release_root), "--out", str(tmp_path))
        assert code == 2 and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    code, _, err = _cli(capsys, "compare", "--searchers", "random", "--seeds", "1", "--budget", "3",
                        "-O", "flops", "--out", str(tmp_path / "cmp"), "--data", str(release_root))
    assert code == 2 and "flops is a cost, not an objective to maximise" in err
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize(("limits", "min_clean"), [({"max_params": 0.3}, None),
                                                   ({"max_params": 0.5, "max_flops": 40.0}, 0.85)])
def test_cost_constraints_bound_the_best_and_the_optimum(cifar10_oracle, release_root, tmp_path,
                                                         limits, min_clean) -> None:
    result = run_search(RandomSearch(seed=3), cifar10_oracle, "pgd@1/255", 150,
                        record_dir=tmp_path / "run", min_clean=min_clean, **limits)
    # the feasible optimum, from the released JSON and robnas.cost over all 15,625 cells
    pgd = _released(release_root, "cifar10", "pgd@Linf", 1.0)
    clean = _released(release_root, "cifar10", "clean", None)
    strings = _strings(release_root)
    feasible = [
        pgd[i] for i, s in strings.items()
        if _within(limits, s) and (min_clean is None or clean[i] >= min_clean)
    ]
    assert result.optimum == max(feasible) < cifar10_oracle.optimum("pgd@1/255") + 1e-12
    assert result.regret == pytest.approx(result.optimum - result.best_value)
    trials = [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl").open()]
    mates = _class_mates(release_root)
    for trial in trials:
        own = {k: cost.value(k[4:], trial["arch"]) for k in limits}
        assert all(trial[k[4:]] == own[k] for k in limits)  # the cell's own cost is recorded
        # but the class is within the limits when one of its cells is
        within = [i for i in mates[trial["index"]] if _within(limits, strings[i])]
        ok = bool(within) and (min_clean is None or trial["clean"] >= min_clean)
        assert trial["feasible"] == ok
        if within and not _within(limits, trial["arch"]):
            assert trial["within_limits_index"] in within
        else:
            assert "within_limits_index" not in trial
    assert any(not t["feasible"] for t in trials)  # the limits do cut
    best = [t for t in trials if t["feasible"]]
    assert result.best_value == max(t["value"] for t in best)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert {k: config[k] for k in limits} == limits


def test_a_class_within_the_limits_only_through_a_class_mate_is_feasible(release_root, capsys,
                                                                         tmp_path) -> None:
    """Every class evaluated, the feasible optimum is reached: a cell over the limit whose
    class-mate (the same function, without dead weights) is within it counts as within."""
    code, out, _ = _cli(capsys, "search", "-O", "pgd@1/255", "--searcher", "random", "--max-params", "0.08",
                        "--budget", "6466", "--seed", "0", "--data", str(release_root), "--out", str(tmp_path))
    assert code == 0
    assert "regret          0 (to the feasible optimum" in out and "rank            1 of " in out
    (run_dir,) = tmp_path.iterdir()
    trials = [json.loads(line) for line in (run_dir / "trials.jsonl").open()]
    strings, mates = _strings(release_root), _class_mates(release_root)
    through_mate = [t for t in trials if "within_limits_index" in t]
    assert through_mate and all(t["feasible"] and t["params"] > 0.08 for t in through_mate)
    for t in through_mate:
        mate = t["within_limits_index"]
        assert mate in mates[t["index"]] and cost.params(strings[mate]) <= 0.08


def test_a_best_cell_over_the_limit_is_answered_by_its_class_mate_within_it(release_root, capsys,
                                                                            tmp_path) -> None:
    """ls seed 2 under --max-params 0.35 ends on index 7482 (0.587 M parameters), whose class
    holds 11686 within the limit: the answer printed is the cell within, its cost the one shown
    against the limit, and the cell evaluated is named on a line of its own (and in --json)."""
    argv = ["search", "-O", "clean", "--searcher", "ls", "--max-params", "0.35", "--budget", "300",
            "--seed", "2", "--data", str(release_root), "--out", str(tmp_path)]
    code, out, _ = _cli(capsys, *argv)
    code_json, printed, _ = _cli(capsys, *argv, "--json")
    payload = json.loads(printed)
    strings, mates = _strings(release_root), _class_mates(release_root)
    evaluated, within = payload["best_index"], payload["best_within_limits_index"]
    assert code == code_json == 0 and within is not None and within in mates[evaluated]
    assert payload["best_params"] == pytest.approx(cost.params(strings[evaluated])) and payload["best_params"] > 0.35
    assert payload["best_within_limits_params"] == pytest.approx(cost.params(strings[within]))
    assert cost.params(strings[within]) <= 0.35
    assert payload["best_within_limits_arch"] == strings[within]
    lines = out.splitlines()
    assert f"best arch       {strings[within]}  (index {within})" in lines
    assert any(line.startswith(f"evaluated as    index {evaluated}, an isomorph over the limit "
                               f"(params {cost.params(strings[evaluated]):.4g})") for line in lines)
    assert f"params          {cost.params(strings[within]):.4g} (limit 0.35)" in lines


def test_infeasible_cells_are_told_below_every_feasible_value(cifar10_oracle) -> None:
    told: list[tuple[Arch, float]] = []

    class Spy(RandomSearch):
        def tell(self, arch: Arch, value: float) -> None:
            told.append((arch, value))
            super().tell(arch, value)

    run_search(Spy(seed=0), cifar10_oracle, "clean", 60, max_params=0.4)
    mates, strings = _class_mates(cifar10_oracle.root), _strings(cifar10_oracle.root)
    for arch, value in told:
        # the class's cell least over the limit counts: -1 - (cost - limit) / cost, in (-2, -1)
        least = min(cost.params(strings[i]) for i in mates[cifar10_oracle.index_of(arch)])
        if least > 0.4:
            assert value == pytest.approx(-1 - (least - 0.4) / least)
        else:
            assert 0 <= value <= 1


def test_resume_keeps_the_cost_limits(release_root, capsys, tmp_path) -> None:
    code, _, _ = _cli(capsys, "search", "-O", "clean", "--budget", "5", "--seed", "0", "--max-params", "0.4",
                      "--data", str(release_root), "--out", str(tmp_path), "--json")
    assert code == 0
    (run_dir,) = tmp_path.iterdir()
    code, _, err = _cli(capsys, "search", "--resume", str(run_dir), "--max-params", "0.5",
                        "--data", str(release_root))
    assert code == 2 and "--max-params 0.5 conflicts with the run being resumed (0.4)" in err
    code, out, _ = _cli(capsys, "search", "--resume", str(run_dir), "--budget", "8",
                        "--data", str(release_root), "--json")
    assert code == 0 and json.loads(out)["max_params"] == 0.4 and json.loads(out)["n_evaluations"] == 8


def test_a_cost_limit_on_resuming_a_run_without_one_is_refused_in_one_line(release_root, capsys,
                                                                         tmp_path) -> None:
    """The run had no limit (none recorded): a KeyError traceback before this was refused."""
    code, _, _ = _cli(capsys, "search", "-O", "clean", "--budget", "5", "--seed", "0",
                      "--data", str(release_root), "--out", str(tmp_path))
    (run_dir,) = tmp_path.iterdir()
    for option in ("--max-params", "--max-flops", "--min-clean"):
        code, _, err = _cli(capsys, "search", "--resume", str(run_dir), option, "0.5",
                            "--data", str(release_root))
        assert code == 2 and err.strip().splitlines() == [
            f"robnas: error: {option} 0.5 conflicts with the run being resumed (which has none); leave it out"]
