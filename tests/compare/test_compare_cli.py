from __future__ import annotations

import struct

import pytest

from robnas.cli.main import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _png_width(path) -> int:
    return struct.unpack(">I", path.read_bytes()[16:20])[0]


def test_compare_runs_prints_the_summary_and_redraws_from_the_folder(release_root, capsys,
                                                                     tmp_path) -> None:
    out = tmp_path / "cmp"
    code, stdout, _ = _run(capsys, "compare", "-O", "pgd@1/255", "-O", "clean",
                           "--searchers", "random,bo", "--seeds", "3", "--budget", "12",
                           "--checkpoints", "5,10", "--out", str(out), "--data", str(release_root),
                           "--jobs", "2", "--formats", "png,svg", "-q")
    assert code == 0
    assert "### cifar10 · pgd@1/255 (optimum 0.588; 3 runs per searcher)" in stdout
    assert "### cifar10 · clean" in stdout and "Friedman test: not run" in stdout
    assert "| bo | 12 |" in stdout and "Holm" in stdout
    assert f"files in {out}:" in stdout and "figures/anytime-all.png" in stdout
    assert len(list((out / "runs").iterdir())) == 12
    single = _png_width(out / "figures" / "anytime-cifar10-clean.png")
    assert _png_width(out / "figures" / "anytime-all.png") == 2 * single
    assert (out / "figures" / "anytime-cifar10-clean.svg").is_file()

    runs_before = sorted(p.stat().st_mtime_ns for p in (out / "runs").rglob("trials.jsonl"))
    code, stdout, _ = _run(capsys, "compare", "--from", str(out), "--metric", "regret", "--log-x")
    assert code == 0 and "### cifar10 · clean" in stdout
    # redrawn as PNG only: the SVGs of the former drawing (value, linear x) are gone with it
    assert not list((out / "figures").glob("*.svg")) and (out / "figures" / "anytime-all.png").is_file()
    assert sorted(p.stat().st_mtime_ns for p in (out / "runs").rglob("trials.jsonl")) == runs_before
    code, _, err = _run(capsys, "compare", "-O", "clean", "--searchers", "random", "--seeds", "1",
                        "--budget", "10", "--out", str(out), "--data", str(release_root), "-q")
    assert code == 2 and err.count("\n") == 1 and "was run with budget 12, not 10" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-O", "pgd@1/255", "--searchers", "random,sa"], "unknown searcher 'sa'"),
        (["-O", "pgd@7/255"], "valid choices: pgd@0.1/255"),
        (["-O", "clean", "--seeds", "0"], "--seeds needs a whole number in 1..10000, got 0"),
        (["-O", "clean", "--budget", "many"], "--budget needs a whole number"),
        (["-O", "clean", "--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["--searchers", "re"], "give at least one --objective"),
        (["--from", "/nonexistent/cmp"], "no such folder"),
        (["-O", "clean", "--formats", "png,jpg", "--seeds", "1", "--budget", "2"],
         "unknown figure format 'jpg'"),
        (["-O", "clean", "-s", "bo:storage=sqlite:///x.db"],  # was dropped: an in-memory study ran
         "bad --searcher for searcher bo: storage is for one search (robnas search --storage URL)"),
        (["-O", "clean", "-s", "re:nope=1"], "bad --searcher for searcher re: searcher re has no parameter 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(release_root, capsys, tmp_path, argv, message) -> None:
    code, _out, err = _run(capsys, "compare", *argv, "--data", str(release_root),
                           "--out", str(tmp_path / "cmp"), "-q")
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("robnas: error:")
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize("option", [["--searchers", "ls"], ["--seeds", "7"], ["--budget", "99"],
                                    ["--executor", "ray"], ["--data", "."], ["--offline"],
                                    ["-O", "clean"], ["--jobs", "2"]])
def test_from_refuses_every_option_of_a_new_comparison(release_root, capsys, tmp_path, option) -> None:
    """--from re-draws what the folder holds: an option that would change the runs is refused,
    not ignored (the report would not be what the command line says)."""
    out = tmp_path / "cmp"
    assert _run(capsys, "compare", "-O", "clean", "-s", "re", "--seeds", "2", "--budget", "5",
                "--out", str(out), "--data", str(release_root), "-q")[0] == 0
    code, _out, err = _run(capsys, "compare", "--from", str(out), *option)
    assert code == 2 and err == (f"robnas: error: --from only re-draws an existing comparison; "
                                 f"{'--objective' if option[0] == '-O' else option[0]} does not apply to it\n")


def test_from_a_folder_without_runs_is_one_line(capsys, tmp_path) -> None:
    code, _out, err = _run(capsys, "compare", "--from", str(tmp_path))
    assert code == 2 and "no finished run records" in err and err.count("\n") == 1


def test_from_a_folder_with_two_runs_of_one_seed_is_refused_not_counted_twice(release_root, capsys,
                                                                              tmp_path) -> None:
    """Two `robnas search` records of re with seed 0 were two runs of re: a mean of one seed
    with a zero-width 95% interval, averaged in the paired tests."""
    search = ["search", "-O", "clean", "--budget", "15", "--seed", "0", "--data", str(release_root),
              "--out", str(tmp_path), "-q"]
    for searcher in ("re", "re", "ls"):
        assert _run(capsys, *search, "--searcher", searcher)[0] == 0
    twice = sorted(p.name for p in tmp_path.iterdir() if "-re-" in p.name)
    assert len(twice) == 2
    code, out, err = _run(capsys, "compare", "--from", str(tmp_path))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"robnas: error: {tmp_path} holds 2 runs of re with seed 0 on cifar10 clean (")
    assert all(name in err for name in twice)
    assert not (tmp_path / "summary.md").exists()
    (tmp_path / twice[1] / "config.json").rename(tmp_path / twice[1] / "config.json.moved")
    code, out, _ = _run(capsys, "compare", "--from", str(tmp_path))
    assert code == 0 and "1 run per searcher" in out


def test_searcher_specs_compare_settings_of_one_searcher_under_their_labels(
        release_root, capsys, tmp_path) -> None:
    from matplotlib.figure import Figure

    from robnas.benchmark import TabularOracle
    from robnas.compare.plots import anytime_curves, draw_panel
    from robnas.compare.trajectories import expand_to_budget, load_trajectories
    from robnas.loop import run_search
    from robnas.searchers import RegularizedEvolution

    out = tmp_path / "cmp"
    # population_size=30 is the default: the same searcher as plain re, refused as given twice
    code, _, stderr = _run(capsys, "compare", "-O", "clean", "-s", "re", "-s", "re:population_size=30",
                           "--seeds", "2", "--budget", "12", "--out", str(out), "--data", str(release_root))
    assert code == 2 and not out.exists()
    assert stderr.strip() == ("robnas: error: searcher re is given twice (parameters at their defaults "
                              "are dropped); give it once")
    code, stdout, _ = _run(capsys, "compare", "-O", "clean", "-s", "re", "-s", "re:warmup=params",
                           "--seeds", "2", "--budget", "12",
                           "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q")
    assert code == 0
    assert "| re:warmup=params | 12 |" in stdout and "| re | 12 |" in stdout
    table = load_trajectories(out)
    assert sorted(table["searcher"].unique()) == ["re", "re:warmup=params"]
    assert len(list((out / "runs").iterdir())) == 4
    oracle = TabularOracle("cifar10", data=release_root)
    for seed in (0, 1):  # the compare run is the warmed-up searcher's own run, not plain re's
        expected = run_search(RegularizedEvolution(warmup="params", seed=seed), oracle, "clean", 12)
        plain = run_search(RegularizedEvolution(seed=seed), oracle, "clean", 12)
        got = table[(table["searcher"] == "re:warmup=params") & (table["seed"] == seed)]
        assert got["value"].tolist() == [t["value"] for t in expected.trials]
        assert got["value"].tolist() != [t["value"] for t in plain.trials]
    fig = Figure()
    ax = fig.add_subplot()
    draw_panel(ax, anytime_curves(expand_to_budget(table)))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Regularized evolution", "Regularized evolution (warmup=params)"]
    ranking = (out / "ranking.md").read_text()
    assert "re:warmup=params" in ranking


def _strict_json(text: str):
    import json

    def refuse(constant: str):
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_the_report_as_strict_json(release_root, capsys, tmp_path) -> None:
    """One seed: every interval is NaN, printed as null (strict JSON has no NaN)."""
    import pandas as pd

    out = tmp_path / "cmp"
    code, stdout, _ = _run(capsys, "compare", "-O", "clean", "-s", "re", "-s", "ls", "--seeds", "1",
                           "--budget", "6", "--out", str(out), "--data", str(release_root), "--json", "-q")
    payload = _strict_json(stdout)
    assert code == 0 and (payload["ran"], payload["already_done"]) == (2, 0)
    summary = pd.read_csv(out / "summary.csv")
    assert len(payload["summary"]) == len(summary) and payload["summary"][0]["best_low"] is None
    assert [r["best_mean"] for r in payload["summary"]] == list(summary["best_mean"])
    assert {"summary.csv", "summary.md", "ranking.csv", "trajectories.parquet"} <= set(payload["files"])
    assert all((out / name).is_file() for name in payload["files"])
    code, stdout, _ = _run(capsys, "compare", "--from", str(out), "--json")
    again = _strict_json(stdout)
    assert code == 0 and "ran" not in again and again["summary"] == payload["summary"]
    assert "fronts" not in payload  # single-objective: no fronts table


def test_json_of_a_multi_objective_comparison_carries_the_fronts_table(release_root, capsys, tmp_path) -> None:
    import pandas as pd

    out = tmp_path / "mo"
    code, stdout, _ = _run(capsys, "compare", "-O", "pgd@1/255,clean", "-s", "random", "-s", "pls", "--seeds", "2",
                           "--budget", "10", "--checkpoints", "5,10", "--out", str(out), "--data", str(release_root),
                           "--json", "-q")
    payload = _strict_json(stdout)
    fronts = pd.read_csv(out / "fronts.csv")
    assert code == 0 and len(payload["fronts"]) == len(fronts) == 4
    assert [r["found_mean"] for r in payload["fronts"]] == list(fronts["found_mean"])


def test_runs_of_another_budget_in_the_folder_are_refused_not_ranked_together(release_root, capsys,
                                                                              tmp_path) -> None:
    """New runs of budget 40 beside runs of 12 were ranked "after 40 evaluations", the shorter
    runs carrying their last best there; --from over such a folder did the same."""
    import shutil

    out = tmp_path / "cmp"
    base = ["compare", "-O", "clean", "--seeds", "1", "--out", str(out), "--data", str(release_root),
            "--jobs", "1", "-q"]
    assert _run(capsys, *base, "-s", "random", "--budget", "12")[0] == 0
    code, _, err = _run(capsys, *base, "-s", "re", "--budget", "40")
    assert code == 2 and err.strip().splitlines() == [
        f"robnas: error: {out} holds runs of budget 12 ({next((out / 'runs').iterdir()).name}), not 40: a "
        "comparison ranks its runs at one budget; give --budget 12, or use another --out folder"]
    assert [p.name for p in (out / "runs").iterdir()] == [next((out / "runs").iterdir()).name]
    other = tmp_path / "other"
    assert _run(capsys, "compare", "-O", "clean", "--seeds", "1", "--out", str(other), "--data", str(release_root),
                "--jobs", "1", "-q", "-s", "re", "--budget", "40")[0] == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(out / "runs", mixed)
    shutil.copytree(other / "runs", mixed, dirs_exist_ok=True)
    code, _, err = _run(capsys, "compare", "--from", str(mixed))
    assert code == 2 and "holds runs of different budgets (12, 40)" in err and err.count("\n") == 1


def _edit_json(path, change) -> None:
    import json

    fields = json.loads(path.read_text())
    change(fields)
    path.write_text(json.dumps(fields))


def _edit_trial(path, line: int, change) -> None:
    import json

    lines = path.read_text().splitlines()
    trial = json.loads(lines[line - 1])
    change(trial)
    lines[line - 1] = json.dumps(trial)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda run: _edit_trial(run / "trials.jsonl", 3, lambda t: t.update(value=0.99)),
     "trials.jsonl line 3: value 0.99 of "),
    (lambda run: _edit_trial(run / "trials.jsonl", 4, lambda t: t.update(best=0.99)),
     "trials.jsonl line 4: best so far 0.99 is not the best recorded value"),
    (lambda run: _edit_json(run / "summary.json", lambda s: s.update(optimum=0.5)),
     "summary.json: optimum 0.5 is not the data's "),
])
def test_a_finished_run_edited_by_hand_is_refused_when_the_comparison_reuses_it(
        release_root, capsys, tmp_path, edit, message) -> None:
    """A comparison folder's finished runs went into the statistics unchecked (an edited best
    or optimum moved the means and ranks); they are checked against the table like a resumed
    record's, before anything runs."""
    out = tmp_path / "cmp"
    argv = ["compare", "-O", "clean", "-s", "random", "-s", "re", "--seeds", "2", "--budget", "8",
            "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q"]
    assert _run(capsys, *argv)[0] == 0
    run = next(p for p in (out / "runs").iterdir() if "-re-s001" in p.name)
    edit(run)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, stdout, err = _run(capsys, *argv)
    assert code == 2 and stdout == ""
    # the only line: the folder is announced once its runs are checked
    assert err.count("\n") == 1 and err.startswith(f"robnas: error: cannot compare: {run}") and message in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    code, _, err = _run(capsys, *argv[:7], "--seeds", "1", *argv[9:])  # the report reads seed 1 too
    assert code == 2 and f"cannot compare: {run}" in err


def test_a_finished_multi_objective_run_edited_by_hand_is_refused_when_reused(
        release_root, capsys, tmp_path) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", "--multi", "-O", "pgd@1/255", "-O", "clean", "-s", "random", "--seeds", "1",
            "--budget", "8", "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q"]
    assert _run(capsys, *argv)[0] == 0
    (run,) = (out / "runs").iterdir()
    _edit_json(run / "config.json", lambda c: c.update(true_hypervolume=1.0))
    code, _, err = _run(capsys, *argv)
    assert code == 2 and f"cannot compare: {run / 'config.json'}: true_hypervolume 1.0" in err
    _edit_json(run / "config.json", lambda c: c.pop("true_hypervolume"))
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "true_hypervolume None" in err


@pytest.mark.parametrize(("name", "change", "message"), [
    ("summary.json", lambda s: s.update(true_front_size=5), "summary.json: true_front_size 5 is not the data's 10"),
    ("summary.json", lambda s: s.update(best_value=0.9), "summary.json: best_value 0.9 is not the data's"),
    ("config.json", lambda c: c.update(reference_point=[0.0, 0.0]), "config.json: reference_point [0.0, 0.0]"),
    ("summary.json", lambda s: s["true_front"][0].update(clean=0.99), "summary.json: true_front is not the data's"),
    ("summary.json", lambda s: s["true_front"].pop(), "summary.json: true_front is not the data's (10 classes)"),
])
def test_a_finished_multi_objective_runs_summary_edited_by_hand_is_refused_when_reused(
        release_root, capsys, tmp_path, name, change, message) -> None:
    """The fronts report reads true_front_size (the share of classes found: 5 for 10 doubled it)
    and best_value (which run is the median) from the summary, unchecked when a comparison
    reused the run."""
    out = tmp_path / "cmp"
    argv = ["compare", "--multi", "-O", "pgd@1/255", "-O", "clean", "-s", "random", "--seeds", "1",
            "--budget", "8", "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q"]
    assert _run(capsys, *argv)[0] == 0
    (run,) = (out / "runs").iterdir()
    _edit_json(run / name, change)
    code, _, err = _run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and f"cannot compare: {run / name}" in err and message in err, err


def test_a_finished_run_of_a_dataset_not_installed_is_reported_unchecked(release_root, capsys, tmp_path) -> None:
    """The check of reused runs needs their table: a run of a dataset the data root lacks (the
    test release has no cifar100) is reported as before rather than stopping the comparison."""
    import shutil

    out = tmp_path / "cmp"
    argv = ["compare", "-O", "clean", "-s", "random", "--seeds", "1", "--budget", "8",
            "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q"]
    assert _run(capsys, *argv)[0] == 0
    (run,) = (out / "runs").iterdir()
    other = out / "runs" / run.name.replace("cifar10", "cifar100")
    shutil.copytree(run, other)
    _edit_json(other / "config.json", lambda c: c.update(dataset="cifar100", run_id=other.name))
    code, stdout, err = _run(capsys, *argv)
    assert code == 0, err
    assert "cifar100" in stdout


@pytest.mark.parametrize(("plan", "objective", "message"), [
    (b"\xff", "clean", "comparison.json is not a comparison plan"),
    (b"[]", "clean", "comparison.json is not a comparison plan"),
    (None, "pgd@1/255,clean", "holds a single-objective comparison (clean); a comparison is single- or "
                              "multi-objective: compare pgd@1/255,clean in another --out folder"),
])
def test_a_folder_that_cannot_take_the_runs_is_refused_in_one_line_before_it_is_announced(
        release_root, capsys, tmp_path, plan, objective, message) -> None:
    """An unreadable comparison.json was refused after 'comparison folder: ...' (two lines), and
    a multi-objective group run into a single-objective comparison's folder (or the other way
    round) mixed the two kinds: hypervolume shares and accuracies in one report, all plotted as
    the multi-objective default, the regret."""
    out = tmp_path / "cmp"
    argv = ["compare", "-O", "clean", "-s", "random", "--seeds", "1", "--budget", "5", "--out", str(out),
            "--data", str(release_root), "--jobs", "1", "-q"]
    assert _run(capsys, *argv)[0] == 0
    if plan is not None:
        (out / "comparison.json").write_bytes(plan)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, stdout, err = _run(capsys, *[objective if a == "clean" else a for a in argv])
    assert code == 2 and stdout == "" and err.count("\n") == 1, err
    assert err.startswith("robnas: error: ") and message in err, err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
