from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robnas.cli.main import main
from robnas.loop import run_search
from robnas.searchers import OptunaSearch
from tests.release_json import optimum, released, representative


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_prints_best_regret_rank_clean_and_record(release_root, capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, "search", "-O", "pgd@1/255", "--searcher", "re", "--budget", "300",
                        "--seed", "0", "--out", str(tmp_path), "--data", str(release_root))
    assert code == 0
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert f"best arch       {summary['best_arch']}  (index {summary['best_index']})" in out
    assert f"pgd@1/255       {summary['best_value']:.4g}" in out
    assert f"(to the table optimum {optimum(release_root, 'cifar10', 'pgd@Linf', 1.0):.4g})" in out
    rep = representative(release_root, summary["best_index"])
    assert summary["best_value"] == released(release_root, "cifar10", "pgd@Linf", 1.0)[rep]
    assert summary["best_clean"] == released(release_root, "cifar10", "clean")[rep]
    assert f"rank            {summary['rank']} of 6466 classes" in out
    assert f"clean           {summary['best_clean']:.4g}" in out
    assert f"run record      {run_dir}" in out
    assert "note:" not in out
    assert len((run_dir / "trials.jsonl").read_text().splitlines()) == 300


def test_json_output_and_chance_level_flags(release_root, capsys, tmp_path) -> None:
    code, out, err = _run(capsys, "search", "-O", "pgd@8/255", "--budget", "200", "--seed", "1",
                          "--out", str(tmp_path), "--data", str(release_root), "--json")
    payload = json.loads(out)
    assert code == 0 and err == ""  # no progress bar with --json
    assert payload["searcher"] == "re" and payload["seed"] == 1 and payload["n_evaluations"] == 200
    rep = representative(release_root, payload["best_index"])
    assert payload["best_value"] == released(release_root, "cifar10", "pgd@Linf", 8.0)[rep]
    assert payload["best_clean"] == released(release_root, "cifar10", "clean")[rep]
    assert payload["best_clean"] <= 0.1 + 0.005  # chance on 10 classes: a constant output
    assert payload["constant_output"] is True
    code, out, _ = _run(capsys, "search", "-O", "pgd@8/255", "--budget", "200", "--seed", "1",
                        "--out", str(tmp_path), "--data", str(release_root))
    assert "it outputs a constant" in out and "--min-clean" in out
    assert len(list(tmp_path.iterdir())) == 2  # same command again: a new folder, not a clash


def test_the_chance_note_suggests_a_min_clean_the_table_can_meet(release_root, capsys, tmp_path) -> None:
    # ImageNet16-120's best clean accuracy is 0.473: --min-clean 0.8 would be refused
    argv = ["search", "-O", "pgd@8/255", "--dataset", "ImageNet16-120", "--budget", "60", "--seed", "0",
            "--out", str(tmp_path), "--data", str(release_root)]
    code, out, _ = _run(capsys, *argv)
    assert code == 0 and "it outputs a constant" in out and "(e.g. --min-clean 0.4)" in out
    best_clean = max(released(release_root, "ImageNet16-120", "clean").values())
    assert best_clean >= 0.4 and _run(capsys, *argv, "--min-clean", "0.4")[0] == 0


def test_min_clean_run_reports_the_feasible_optimum(release_root, capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, "search", "-O", "pgd@8/255", "--min-clean", "0.85", "--budget",
                        "150", "--seed", "2", "--searcher", "ls", "--out", str(tmp_path),
                        "--data", str(release_root))
    assert code == 0
    feasible = optimum(release_root, "cifar10", "pgd@Linf", 8.0, min_clean=0.85)
    assert f"feasible optimum {feasible:.4g}" in out and feasible <= 0.1 + 0.005
    clean = float(next(line for line in out.splitlines() if line.startswith("clean")).split()[1])
    assert clean >= 0.85
    assert "smaller epsilon" in out and "Constrain" not in out
    assert "No cell with clean accuracy >= 0.85 beats chance on this objective" in out


def test_min_clean_run_at_chance_where_better_cells_exist(release_root, capsys, tmp_path) -> None:
    # pgd@2/255 among cells with clean >= 0.8: far above chance, but seed 1 finds little in 2 cells
    code, out, _ = _run(capsys, "search", "-O", "pgd@2/255", "--min-clean", "0.8", "--budget", "2",
                        "--seed", "1", "--searcher", "random", "--out", str(tmp_path),
                        "--data", str(release_root))
    feasible = optimum(release_root, "cifar10", "pgd@Linf", 2.0, min_clean=0.8)
    assert code == 0 and f"(to the feasible optimum {feasible:.4g})" in out and feasible > 0.2
    assert "is at or below chance level (0.1)" in out and "Raise --budget" in out
    assert "beats chance" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--searcher", "sa"], "invalid choice: 'sa' (choose from 'random', 're', 'ls', 'bo', "
                               "'predictor', 'nsga2', 'motpe', 'pls', 'parego', 'hvi')"),
        (["--budget", "ten"], "--budget needs a whole number in 1..6466, got 'ten'"),
        (["--budget", "0"], "--budget needs a whole number in 1..6466, got 0"),
        (["--min-clean", "2"], "--min-clean needs a number in 0..1, got 2"),
        (["--mode", "quantum"], "invalid choice: 'quantum' (choose from 'tabular', 'live')"),
        (["-O", "pgd@7/255"], "valid choices: pgd@0.1/255"),
        (["--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["--searcher", "ls", "--param", "foo=1"], "searcher ls has no parameter 'foo'; valid: "
                                                     "variant, num_init, warmup"),
        (["--searcher", "ls", "--param", "variant=worst"], "variant must be one of"),
        (["--param", "sample_size"], "--param needs NAME=VALUE, got 'sample_size'"),
        (["--param", "seed=3"], "give the seed with --seed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(release_root, capsys, tmp_path, argv, message) -> None:
    objective = [] if "-O" in argv else ["-O", "clean"]
    base = ["search", *objective, "--out", str(tmp_path), "--data", str(release_root)]
    code, _, err = _run(capsys, *base, *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_params_reach_the_searcher_and_the_record(release_root, capsys, tmp_path) -> None:
    from robnas.searchers import LocalSearch

    code, out, _ = _run(capsys, "search", "-O", "pgd@1/255", "--searcher", "ls", "--param",
                        "variant=best", "--param", "num_init=3", "--budget", "40", "--seed", "4",
                        "--out", str(tmp_path), "--data", str(release_root), "--json")
    payload = json.loads(out)
    (run_dir,) = tmp_path.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["searcher"] == {"name": "ls",
                                  "params": {"variant": "best", "num_init": 3, "warmup": None,
                                             "design": "random", "seed": 4}}
    direct = run_search(LocalSearch(variant="best", num_init=3, seed=4), _oracle(release_root),
                        "pgd@1/255", 40)
    assert payload["best_arch"] == direct.best_arch.to_string()
    trials = [json.loads(line)["arch"] for line in (run_dir / "trials.jsonl").open()]
    assert trials == [t["arch"] for t in direct.trials]
    assert trials != [t["arch"] for t in run_search(LocalSearch(num_init=3, seed=4),
                                                    _oracle(release_root), "pgd@1/255", 40).trials]
    code, _, err = _run(capsys, "search", "--resume", str(run_dir), "--param", "variant=first")
    assert code == 2 and "--param variant=first conflicts with the run being resumed" in err


def test_resume_errors_are_one_line(release_root, capsys, tmp_path) -> None:
    code, _, err = _run(capsys, "search", "--resume", str(tmp_path / "nope"))
    assert code == 2 and "is not a run record" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "search", "--budget", "5")
    assert code == 2 and "needs --objective" in err
    _run(capsys, "search", "-O", "clean", "--budget", "5", "--seed", "0", "--out", str(tmp_path),
         "--data", str(release_root))
    (run_dir,) = tmp_path.iterdir()
    code, _, err = _run(capsys, "search", "--resume", str(run_dir), "-O", "pgd@1/255",
                        "--data", str(release_root))
    assert code == 2 and "conflicts with the run being resumed" in err


@pytest.mark.parametrize(("name", "before", "today", "budget"), [("design", "random", "orthogonal", 30),
                                                                  ("twins", "false", "true", 30),
                                                                  ("global_pick", "thompson", "leaf_max", 30),
                                                                  ("late_from", "6466", "50", 65)])
def test_cli_resumes_a_record_from_before_a_parameter_existed_as_it_searched_then(
        release_root, capsys, tmp_path, name, before, today, budget) -> None:
    """A predictor record lacking ``design``, ``twins``, ``global_pick`` or ``late_from``
    (written before they existed, when the predictor searched as ``design=random``,
    ``twins=false``, ``global_pick=thompson``, ``late_from=6466`` do; the defaults changed
    since) resumes through the CLI like an uninterrupted run of that setting (``late_from``
    past 50 cells, where the late batches would start), and a conflicting ``--param`` names the
    value it counts as."""
    common = ("-O", "pgd@1/255", "--searcher", "predictor", "--seed", "2", "--data", str(release_root),
              "--param", f"{name}={before}")
    _run(capsys, "search", *common, "--budget", str(budget), "--out", str(tmp_path / "whole"))
    _run(capsys, "search", *common, "--budget", "20", "--out", str(tmp_path / "old"))
    (run_dir,) = (tmp_path / "old").iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    del config["searcher"]["params"][name]
    (run_dir / "config.json").write_text(json.dumps(config))
    code, _, err = _run(capsys, "search", "--resume", str(run_dir), "--budget", str(budget),
                        "--param", f"{name}={today}")
    assert code == 2 and f"--param {name}={today} conflicts with the run being resumed " \
        f"({name}={before}); leave it out" in err
    code, _, _ = _run(capsys, "search", "--resume", str(run_dir), "--budget", str(budget))
    assert code == 0
    (whole_dir,) = (tmp_path / "whole").iterdir()
    trials = [json.loads(line)["arch"] for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    whole = [json.loads(line)["arch"] for line in (whole_dir / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == budget and trials == whole


def test_killed_run_resumes_without_losing_or_repeating_a_trial(release_root, capsys, tmp_path):
    """Kill a real `robnas search` process mid-run, resume it, compare with an unbroken run."""
    env = {**os.environ, "ROBNAS_DATA": str(release_root)}
    command = [sys.executable, "-m", "robnas", "search", "-O", "pgd@1/255", "--searcher", "bo",
               "--budget", "400", "--seed", "0", "--out", str(tmp_path), "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    trials_file = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = list(Path(tmp_path).glob("*/trials.jsonl"))
        if found and found[0].read_bytes().count(b"\n") >= 20:
            trials_file = found[0]
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert trials_file is not None, process.stderr.read().decode() if process.stderr else ""
    run_dir = trials_file.parent
    assert not (run_dir / "summary.json").exists()  # it really died mid-way
    recorded = trials_file.read_bytes().count(b"\n")
    assert 20 <= recorded < 60

    code, out, err = _run(capsys, "search", "--resume", str(run_dir), "--budget", "60", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["replay"] == {"trials": recorded, "diverged_at": None}
    resumed = [json.loads(line) for line in trials_file.open()]
    unbroken = run_search(OptunaSearch(seed=0), _oracle(release_root), "pgd@1/255", 60)
    assert [t["arch"] for t in resumed] == [t["arch"] for t in unbroken.trials]
    assert [t["n"] for t in resumed] == list(range(1, 61))
    assert payload["best_value"] == unbroken.best_value


def _oracle(root: Path):
    from robnas.benchmark import TabularOracle

    return TabularOracle("cifar10", data=root)


def test_a_true_front_of_one_class_names_the_reference_rule_it_uses(release_root, capsys, tmp_path) -> None:
    # On CIFAR-10 one class is best on pgd@8/255 and cheapest at once: the true front has no
    # range, and the reference point is moved by 10% of each value instead.
    code, out, _ = _run(capsys, "search", "-O", "pgd@8/255", "-O", "params:min", "--budget", "5",
                        "--seed", "0", "--out", str(tmp_path), "--data", str(release_root))
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    (best,) = summary["true_front"]
    reference = [best["pgd@8/255"] * 0.9, best["params"] * 1.1]
    assert code == 0 and summary["reference_point"] == pytest.approx(reference)
    assert ("moved outward by 10% of each objective's range (pgd@8/255, params: of its value, the "
            "range being 0))") in out
    assert "true front      1 class, hypervolume" in out


def test_multi_objective_search_prints_fronts_and_resumes(release_root, capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, "search", "-O", "pgd@1/255", "-O", "clean", "--searcher", "pls",
                        "--budget", "40", "--seed", "0", "--out", str(tmp_path),
                        "--data", str(release_root))
    assert code == 0
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert "objectives      pgd@1/255 (max), clean (max) on cifar10" in out
    assert f"front found     {len(summary['front'])} cells" in out
    assert f"hypervolume     {summary['hypervolume']:.4g} (reference point (0.423, 0.8129)" in out
    assert f"true front      10 classes, hypervolume {summary['true_hypervolume']:.4g}" in out
    assert "by 10% of each objective's range)" in out  # both ranges > 0
    assert f"found           {summary['true_front_found']} of the 10 true-front classes" in out
    for row in summary["front"] + summary["true_front"]:
        assert row["arch"] in out
    code, out, _ = _run(capsys, "search", "--resume", str(run_dir), "--budget", "60", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["n_evaluations"] == 60 and payload["replay"]["trials"] == 40
    assert payload["objectives"] == ["pgd@1/255", "clean"] and payload["reference_point"]
    # other objectives on resume are a conflict with the run, also when they would be no
    # multi-objective search at all (one -O), not "takes 2 or 3 objectives"
    for objectives in (["-O", "clean"], ["-O", "clean", "-O", "pgd@1/255"]):
        code, _, err = _run(capsys, "search", "--resume", str(run_dir), *objectives)
        assert code == 2 and err.startswith(f"robnas: error: --objective {objectives[1]}")
        assert err.strip().endswith("conflicts with the run being resumed (pgd@1/255,clean); leave it out")


def test_default_searchers_are_the_ones_help_names(release_root, capsys, tmp_path) -> None:
    # Without --searcher, one objective runs `re` and several run `hvi`, the defaults --help
    # names: a default defined twice (help text and behaviour) would let the two drift apart.
    assert main(["search", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: re); with several objectives:" in help_text and "(default: hvi)" in help_text
    for objectives, name in ((["-O", "clean"], "re"), (["-O", "pgd@1/255", "-O", "clean"], "hvi")):
        out = tmp_path / name
        code, _, _ = _run(capsys, "search", *objectives, "--budget", "12", "--seed", "0", "--out",
                          str(out), "--data", str(release_root))
        (config,) = out.rglob("config.json")
        assert code == 0 and json.loads(config.read_text())["searcher"]["name"] == name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-O", "pgd@1/255", "-O", "clean", "--searcher", "re"],
         "searcher 're' takes one objective; with two or three use one of random, nsga2, motpe, pls, parego, hvi"),
        (["-O", "pgd@1/255", "-O", "params:min", "--max-params", "1"],
         "--max-params is for single-objective search; here params is already an objective"),
        (["-O", "pgd@1/255", "-O", "clean", "--max-flops", "1"],
         "--max-flops is for single-objective search; add -O flops:min"),
        (["-O", "pgd@1/255", "-O", "clean", "--searcher", "motpe", "--param", "sampler=nsga2"],
         "motpe is TPE's multi-objective mode (sampler=tpe); for NSGA-II use the searcher nsga2"),
        (["-O", "clean:sideways"], "unknown direction 'sideways' in 'clean:sideways'; a direction (:max or :min)"),
        (["-O", "pgd@1/255:up"], "unknown direction 'up' in 'pgd@1/255:up'"),
        (["-O", "foo:bar"], "unknown objective 'foo:bar'"),
        (["-O", "pgd@1/255,clean", "--min-clean", "0.8"], "--min-clean is for single-objective"),
        (["-O", "pgd@1/255", "-O", "clean", "-O", "fog@3", "-O", "pgd@2/255"],
         "takes 2 or 3 objectives, got 4"),
        (["-O", "pgd@1/255", "-O", "params:least"], "unknown direction 'least'"),
    ],
)
def test_multi_objective_bad_input_is_one_line(release_root, capsys, tmp_path, argv, message) -> None:
    code, _, err = _run(capsys, "search", *argv, "--out", str(tmp_path), "--data", str(release_root))
    assert code == 2 and message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # nothing half-written


def _value_column(lines: list[str], labels: tuple[str, ...]) -> set[int]:
    """Where the text after each labelled line's label starts (one column: one element)."""
    return {len(line) - len(line[len(label):].lstrip()) for line in lines for label in labels
            if line.startswith(label + " ")}


def test_a_long_objective_name_keeps_the_labels_in_one_column(release_root, capsys, tmp_path) -> None:
    """gaussian_noise@3 (16 characters) is longer than the usual 15-wide label column: every
    value still starts in one column, and one space at least follows the longest label."""
    code, out, _ = _run(capsys, "query", "1", "-O", "gaussian_noise@3", "-O", "clean",
                        "--data", str(release_root))
    lines = out.splitlines()
    assert code == 0 and _value_column(lines, ("arch", "index", "gaussian_noise@3", "clean", "rank",
                                               "table optimum")) == {17}
    code, out, _ = _run(capsys, "search", "-O", "gaussian_noise@3", "--budget", "5", "--seed", "0",
                        "--out", str(tmp_path), "--data", str(release_root))
    lines = out.splitlines()
    assert code == 0 and _value_column(lines, ("searcher", "best arch", "gaussian_noise@3", "regret",
                                               "clean", "run record")) == {17}
    code, out, _ = _run(capsys, "search", "-O", "clean", "--budget", "5", "--seed", "0",
                        "--out", str(tmp_path), "--data", str(release_root))
    assert code == 0 and _value_column(out.splitlines(), ("searcher", "best arch", "clean")) == {16}


def test_front_tables_left_align_the_nb201_strings(release_root, capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, "search", "-O", "pgd@1/255", "-O", "clean", "--budget", "30",
                        "--seed", "1", "--out", str(tmp_path), "--data", str(release_root))
    assert code == 0
    starts = {line.index("|") for line in out.splitlines() if line.startswith("  ") and "|" in line}
    headers = {line.index(" arch") + 1 for line in out.splitlines() if line.rstrip().endswith(" arch")}
    assert len(starts) == 1 and headers == starts  # the strings and their header in one column


@pytest.mark.parametrize("objectives", [["-O", "clean"], ["-O", "pgd@1/255", "-O", "clean"]])
def test_json_params_are_every_parameter_fresh_or_resumed(release_root, capsys, tmp_path, objectives) -> None:
    """A new run's --json listed only the parameters given ({"seed": 5}), a resumed one all."""
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, SEARCHERS, get_params

    code, out, _ = _run(capsys, "search", *objectives, "--budget", "5", "--seed", "5", "--param", "num_init=3"
                        if len(objectives) > 2 else "sample_size=4", "--out", str(tmp_path),
                        "--data", str(release_root), "--json")
    fresh = json.loads(out)
    (run_dir,) = tmp_path.iterdir()
    code_again, out, _ = _run(capsys, "search", "--resume", str(run_dir), "--budget", "6", "--json")
    resumed = json.loads(out)
    registry = MULTI_OBJECTIVE_SEARCHERS if len(objectives) > 2 else SEARCHERS
    expected = get_params(registry[fresh["searcher"]]())
    assert code == code_again == 0 and fresh["params"] == resumed["params"]
    assert set(fresh["params"]) == set(expected) and fresh["params"]["seed"] == 5
    assert fresh["params"]["num_init" if len(objectives) > 2 else "sample_size"] in (3, 4)


def test_an_objective_spelt_otherwise_prints_and_resumes_as_its_canonical_name(release_root, capsys,
                                                                               tmp_path) -> None:
    code, out, _ = _run(capsys, "search", "-O", "PGD@1.0/255", "--budget", "5", "--seed", "1",
                        "--out", str(tmp_path), "--data", str(release_root))
    (run_dir,) = tmp_path.iterdir()
    assert code == 0 and any(line.startswith("pgd@1/255 ") for line in out.splitlines())
    assert "PGD" not in out and json.loads((run_dir / "config.json").read_text())["objective"] == "pgd@1/255"
    code, out, err = _run(capsys, "search", "--resume", str(run_dir), "-O", "pgd@1/255", "--budget", "6")
    assert code == 0, err


def test_run_folders_are_taken_atomically_and_a_failure_removes_only_its_own(tmp_path) -> None:
    """Two searches started in the same second with one --out chose one folder name: one was
    refused and removed the folder (and --out) while the other was writing its run there."""
    from robnas.cli.outputs import run_folder

    out = tmp_path / "runs" / "here"
    with run_folder(out, "r") as first:
        with pytest.raises(RuntimeError), run_folder(out, "r") as second:
            assert (first.name, second.name) == ("r", "r-2") and second.is_dir()
            raise RuntimeError("the second run fails before its first trial")
        assert first.is_dir() and not second.exists() and out.is_dir()  # the first's is left alone
    with pytest.raises(RuntimeError), run_folder(tmp_path / "new" / "deeper", "r"):
        raise RuntimeError("fails")
    assert not (tmp_path / "new").exists()  # what this command made, and nothing else


def test_two_searches_started_together_into_one_out_both_run(release_root, tmp_path) -> None:
    argv = [sys.executable, "-m", "robnas", "search", "-O", "pgd@1/255", "--budget", "30", "--seed", "0",
            "--out", str(tmp_path / "same"), "--data", str(release_root)]
    processes = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], errors
    runs = sorted((tmp_path / "same").iterdir())
    assert len(runs) == 2 and all(len((r / "trials.jsonl").read_text().splitlines()) == 30 for r in runs)
