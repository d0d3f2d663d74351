"""Multi-objective comparisons: objective groups through the comparison pipeline, true-front
classes found (checked against the trial records), the fronts figure and the CLI."""

from __future__ import annotations

import json
import struct

import numpy as np
import pandas as pd
import pytest

from robnas.cli.main import main
from robnas.compare.fronts import load_front_runs, median_run
from robnas.compare.plan import plan_runs
from robnas.compare.trajectories import find_run_dirs
from robnas.errors import ComparisonError


def test_compare_multi_runs_reports_hypervolume_regret_fronts_and_figure(
    release_root, capsys, tmp_path
) -> None:
    out = tmp_path / "cmp"
    code = main(["compare", "-O", "pgd@1/255", "-O", "clean", "--multi", "--searchers",
                 "random,pls", "--seeds", "3", "--budget", "30", "--checkpoints", "10,30",
                 "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q"])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "### cifar10 · pgd@1/255,clean (optimum 1.000; 3 runs per searcher)" in stdout
    assert "Mean share of the true front's classes" in stdout
    assert (out / "figures" / "fronts-cifar10-pgd@1_255_clean.png").is_file()
    png = (out / "figures" / "anytime-cifar10-pgd@1_255_clean.png").read_bytes()
    assert struct.unpack(">I", png[16:20])[0] > 0

    # the summary's hypervolume shares are the records' own, and regret = 1 - share
    summary = pd.read_csv(out / "summary.csv")
    for run_dir in find_run_dirs(out / "runs"):
        trials = [json.loads(line) for line in (run_dir / "trials.jsonl").open()]
        assert trials[-1]["best"] == pytest.approx(
            trials[-1]["hypervolume"] / json.loads((run_dir / "config.json").read_text())["true_hypervolume"])
    at_30 = summary[(summary["evaluations"] == 30)].set_index("searcher")
    assert (at_30["regret_mean"] + at_30["best_mean"]).to_numpy() == pytest.approx(1.0)

    # true-front classes found, recomputed from the trial lines
    found = pd.read_csv(out / "fronts.csv").set_index(["searcher", "evaluations"])
    for searcher in ("random", "pls"):
        shares = []
        for run_dir in sorted((out / "runs").glob(f"*-{searcher}-s*")):
            trials = [json.loads(line) for line in (run_dir / "trials.jsonl").open()]
            shares.append(sum(bool(t["on_front"]) for t in trials[:10]) / 10)  # 10 true-front classes
        assert found.loc[(searcher, 10), "found_mean"] == pytest.approx(np.mean(shares))


def test_two_settings_of_one_searcher_are_reported_apart(release_root, capsys, tmp_path) -> None:
    """The fronts table and figure name runs as the other tables do (name and non-default
    hyperparameters), so two settings of one searcher are not pooled into one row."""
    out = tmp_path / "cmp"
    code = main(["compare", "-O", "pgd@1/255", "-O", "clean", "--multi", "-s", "pls", "-s",
                 "pls:variant=full", "--seeds", "2", "--budget", "20", "--checkpoints", "20",
                 "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q"])
    capsys.readouterr()
    assert code == 0
    found = pd.read_csv(out / "fronts.csv")
    assert sorted(found["searcher"]) == ["pls", "pls:variant=full"]
    assert found["runs"].tolist() == [2, 2]
    assert sorted(pd.read_csv(out / "summary.csv")["searcher"].unique()) == sorted(found["searcher"])
    labels = {r.searcher for r in load_front_runs(find_run_dirs(out / "runs"))}
    assert labels == {"pls", "pls:variant=full"}


@pytest.mark.parametrize("objectives", [["clean"], ["clean", "pgd@1/255", "fgsm@1/255", "params"]])
def test_multi_with_one_or_four_objectives_is_refused(release_root, capsys, tmp_path, objectives) -> None:
    argv = [a for o in objectives for a in ("-O", o)]
    code = main(["compare", *argv, "--multi", "-s", "random", "--seeds", "1", "--budget", "5",
                 "--out", str(tmp_path / "cmp"), "--data", str(release_root)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"--multi makes one problem of 2 or 3 objectives; got {len(objectives)}" in err
    assert not (tmp_path / "cmp").exists()


def test_median_run_and_plan_rules(release_root, tmp_path) -> None:
    from robnas.benchmark import TabularOracle
    from robnas.multi_loop import run_multi_search
    from robnas.searchers import RandomSearch

    oracle = TabularOracle("cifar10", data=release_root)
    for seed in range(3):
        run_multi_search(RandomSearch(seed=seed), oracle, "pgd@1/255,clean", 15,
                         record_dir=tmp_path / f"r{seed}")
    runs = load_front_runs(find_run_dirs(tmp_path))
    shares = sorted(r.final_share for r in runs)
    assert median_run(runs).final_share == shares[1]
    specs = plan_runs(["pls"], ["PGD@1/255, params"], ["cifar10"], [0], 10)
    assert specs[0].objective == "pgd@1/255,params:min" and "," not in specs[0].run_id
    with pytest.raises(ComparisonError, match="single- or multi-objective"):
        plan_runs(["random"], ["pgd@1/255,clean", "clean"], ["cifar10"], [0], 10)
    with pytest.raises(ComparisonError, match="'re' takes one objective; with two or three use one of random, nsga2"):
        plan_runs(["re"], ["pgd@1/255,clean"], ["cifar10"], [0], 10)
    with pytest.raises(ComparisonError, match="'hvi' takes two or three objectives; with one use one of random, re"):
        plan_runs(["hvi"], ["pgd@1/255"], ["cifar10"], [0], 10)
    with pytest.raises(ComparisonError, match="unknown multi-objective searcher 'zz'"):
        plan_runs(["zz"], ["pgd@1/255,clean"], ["cifar10"], [0], 10)


def _cut_short(run_dir, keep: int) -> str:
    """Leave ``keep`` trial lines and half of the next (a kill mid-write), no summary."""
    before = (run_dir / "trials.jsonl").read_text()
    lines = before.splitlines(keepends=True)
    (run_dir / "trials.jsonl").write_text("".join(lines[:keep]) + lines[keep][:25])
    (run_dir / "summary.json").unlink()
    return before


def test_a_multi_objective_run_cut_short_continues_in_place(release_root, tmp_path) -> None:
    from robnas.compare import run_comparison
    from robnas.run_record import RunRecord

    specs = plan_runs(["pls", "nsga2"], ["pgd@1/255,clean"], ["cifar10"], range(2), 14)
    out = tmp_path / "cmp"
    assert run_comparison(specs, out, data=release_root, jobs=1).ran == 4
    killed = out / "runs" / specs[1].run_id
    before = _cut_short(killed, 5)
    again = run_comparison(specs, out, data=release_root, jobs=1)
    assert (again.ran, again.skipped) == (1, 3)
    after = (killed / "trials.jsonl").read_text()
    assert after.startswith("".join(before.splitlines(keepends=True)[:5]))  # kept as written
    assert [json.loads(x)["values"] for x in after.splitlines()] \
        == [json.loads(x)["values"] for x in before.splitlines()]
    assert RunRecord(killed).summary()["replay"] == {"trials": 5, "diverged_at": None}


def test_groups_whose_names_hold_a_dot_get_a_figure_each(release_root, capsys, tmp_path) -> None:
    """'fgsm@0.1/255' and 'fgsm@0.5/255' both became 'fgsm@0' (the rest taken for a file
    suffix): one group's figures overwrote the other's."""
    out = tmp_path / "cmp"
    code = main(["compare", "-O", "fgsm@0.1/255,clean", "-O", "fgsm@0.5/255,clean", "--searchers", "random",
                 "--seeds", "1", "--budget", "8", "--out", str(out), "--data", str(release_root), "--jobs", "1",
                 "-q", "--json"])
    listed = json.loads(capsys.readouterr().out)["files"]
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert code == 0 and len(set(listed)) == len(listed)
    for kind in ("anytime", "fronts"):
        for eps in ("0.1", "0.5"):
            assert f"{kind}-cifar10-fgsm@{eps}_255_clean.png" in figures, figures


def test_front_shares_are_clipped_to_0_100_and_one_run_shows_no_interval() -> None:
    from robnas.compare.fronts import front_found_markdown
    from robnas.compare.tables import summary_markdown

    table = pd.DataFrame([
        {"dataset": "cifar10", "objective": "pgd@1/255,clean", "searcher": "random", "evaluations": 10,
         "found_mean": 0.02, "found_low": -0.03, "found_high": 0.06},
        {"dataset": "cifar10", "objective": "pgd@1/255,clean", "searcher": "pls", "evaluations": 10,
         "found_mean": 0.0, "found_low": float("nan"), "found_high": float("nan")}])
    text = front_found_markdown(table)
    assert "| random | 2% [0%, 6%] |" in text and "| pls | 0% |" in text and "nan" not in text
    summary = pd.DataFrame([{"dataset": "cifar10", "objective": "pgd@1/255,clean", "searcher": "random",
                             "evaluations": 10, "runs": 2, "best_mean": 0.5, "best_low": 0.4, "best_high": 0.6,
                             "regret_mean": 0.5, "regret_low": 0.4, "regret_high": 0.6, "found_share": 0.0,
                             "reached": 0, "evals_to_optimum": float("nan")}])
    assert "share of the true front's hypervolume" in summary_markdown(summary)


def test_a_front_of_three_objectives_is_drawn_as_points_two_as_a_staircase() -> None:
    """Seen in the plane of the first two objectives, a three-objective front is no staircase:
    joined by steps its points zigzagged (down to clean 0.67 and back)."""
    from matplotlib.figure import Figure

    from robnas.compare.fronts import draw_front

    values = np.array([[0.5, 0.9, -0.3], [0.55, 0.67, -0.5], [0.6, 0.85, -0.4]])
    ax = Figure().subplots()
    draw_front(ax, values, [True, True, False])
    (three,) = ax.get_lines()
    assert three.get_linestyle() == "None" and len(three.get_xdata()) == 3
    ax = Figure().subplots()
    draw_front(ax, values[:, :2], [True, True])
    (two,) = ax.get_lines()
    assert two.get_linestyle() == "-" and two.get_drawstyle() == "steps-pre"


def test_front_found_summary_clips_its_intervals_to_0_1() -> None:
    """fronts.csv held found_low -0.0057 (1 class of 96 in one run of four): a share's interval
    is clipped to [0, 1] in the table itself, as the summary clips its own."""
    from robnas.compare.fronts import FrontRun, front_found_summary

    def run(objective: str, seed: int, on_front: list[bool], size: int) -> FrontRun:
        return FrontRun(searcher="random", dataset="cifar10", objective=objective,
                        objectives=objective.split(","), seed=seed, values=np.zeros((len(on_front), 2)),
                        on_front=np.asarray(on_front), final_share=0.5, true_front=[], true_front_size=size)

    few = [run("pgd@1/255,clean", s, [s == 0, False], 96) for s in range(4)]  # 1 of 96 in one run
    most = [run("pgd@1/255,params:min", s, [True, s < 3], 2) for s in range(4)]  # 7 of 8
    table = front_found_summary([*few, *most], checkpoints=[2]).set_index("objective")
    low, high = table.loc["pgd@1/255,clean"], table.loc["pgd@1/255,params:min"]
    assert low["found_mean"] == pytest.approx(1 / 384) and low["found_low"] == 0.0
    assert 0 < low["found_high"] < 1
    assert high["found_mean"] == pytest.approx(0.875) and high["found_high"] == 1.0
    assert 0 < high["found_low"] < 0.875


@pytest.fixture(scope="module")
def multi_comparison(release_root, tmp_path_factory):
    """A finished multi-objective comparison (no clean objective: nothing else reads the
    trials' vectors), with its reports written."""
    out = tmp_path_factory.mktemp("multi-cmp") / "cmp"
    code = main(["compare", "-O", "pgd@1/255,params:min", "--searchers", "random", "--seeds", "2",
                 "--budget", "8", "--out", str(out), "--data", str(release_root), "--jobs", "1", "-q"])
    assert code == 0
    return out


def _edit_first_run(out, name, edit) -> str:
    run = sorted((out / "runs").iterdir())[0]
    path = run / name
    if name == "trials.jsonl":
        lines = path.read_text().splitlines()
        trial = json.loads(lines[2])
        edit(trial)
        lines[2] = json.dumps(trial)
        path.write_text("\n".join(lines) + "\n")
    else:
        payload = json.loads(path.read_text())
        edit(payload)
        path.write_text(json.dumps(payload))
    return str(path)


@pytest.mark.parametrize(("name", "edit", "message"), [
    ("trials.jsonl", lambda t: t.update(values=["a", 0.1]), "line 3: values ['a', 0.1] are not 2 numbers"),
    ("trials.jsonl", lambda t: t.update(values=None), "line 3: values None are not 2 numbers"),
    ("trials.jsonl", lambda t: t.pop("values"), "line 3: values None are not 2 numbers"),
    ("trials.jsonl", lambda t: t.update(values=[0.5]), "line 3: values [0.5] are not 2 numbers"),
    ("summary.json", lambda s: s.update(best_value="x"), "best_value 'x' is not a hypervolume share"),
    ("summary.json", lambda s: s.update(best_value=None), "best_value None is not a hypervolume share"),
    ("summary.json", lambda s: s.update(true_front_size="x"), "true_front_size 'x' is not a number"),
    ("summary.json", lambda s: s.update(true_front=[{"x": 1}]), "true_front is not a list of classes"),
    ("config.json", lambda c: c.update(objectives="pgd@1/255,params:min"), "objectives 'pgd@1/255,params:min'"),
])
def test_a_multi_objective_record_edited_by_hand_is_refused_by_from_in_one_line(
        multi_comparison, capsys, tmp_path, name, edit, message) -> None:
    """``compare --from`` (which cannot check records against the data) read the fronts'
    entries unchecked: a ValueError, TypeError or KeyError traceback, after
    trajectories.parquet and the tables had been rewritten."""
    import shutil

    out = tmp_path / "cmp"
    shutil.copytree(multi_comparison, out)
    path = _edit_first_run(out, name, edit)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code = main(["compare", "--from", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"robnas: error: {path}: ") and message in err, err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_the_fronts_figure_fits_its_title_names_units_and_keeps_the_legend_off_the_x_label(
        multi_comparison) -> None:
    """A group of three objectives on ImageNet16-120 had a one-line title wider than the figure
    ('... (first two objective' cut off), axes labelled in CLI syntax ('params:min', no unit),
    and a legend placed at a fixed share of the axes' height, over the x label once the title
    took more room."""
    import dataclasses

    from robnas.compare.fronts import fronts_figure

    run = load_front_runs(find_run_dirs(multi_comparison / "runs"))[0]
    three = dataclasses.replace(  # the first run as if it had a third objective
        run, dataset="ImageNet16-120", objective="pgd@1/255,params:min,clean",
        objectives=["pgd@1/255", "params:min", "clean"], values=np.c_[run.values, run.values[:, :1]],
        true_front=[{**row, "clean": 0.5} for row in run.true_front])
    for runs in ([run], [three]):
        fig = fronts_figure(runs)
        fig.tight_layout()  # as the file is saved
        fig.draw_without_rendering()  # places the axis labels
        (ax,) = fig.axes
        renderer = fig._get_renderer()  # no public one without pyplot or a backend
        title = ax.title.get_window_extent(renderer)
        assert title.x0 >= 0 and title.x1 <= fig.bbox.width and title.y1 <= fig.bbox.height
        assert ax.get_xlabel() == "pgd@1/255 accuracy (higher is better)"
        assert ax.get_ylabel() == "parameters (millions; lower is better)"
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert texts[1] == f"Random search: median run, {run.final_share:.1%} of true HV", texts
        assert texts[0] == f"true front ({len(run.true_front)} classes)"
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.y1 < ax.xaxis.label.get_window_extent(renderer).y0
    assert "clean not shown" in ax.get_title()
    # classes of equal values on the axes drawn are one circle: the legend says so
    twin = dataclasses.replace(run, true_front=[*run.true_front, run.true_front[0]])
    (ax,) = fronts_figure([twin]).axes
    size = len(run.true_front)
    assert ax.get_legend().get_texts()[0].get_text() == \
        f"true front ({size + 1} classes; {size} points: some share their values)"


def test_from_a_folder_of_search_records_plots_the_hypervolume_regret(multi_comparison, capsys, tmp_path) -> None:
    """Multi-objective plots default to the hypervolume regret, but the default was read from
    comparison.json alone: a folder of robnas search records (no plan), or a comparison whose
    plan was unreadable, was plotted as hypervolume shares."""
    import shutil

    records = tmp_path / "records"
    shutil.copytree(multi_comparison / "runs", records)
    cmp = tmp_path / "cmp"
    shutil.copytree(multi_comparison, cmp)
    (cmp / "comparison.json").write_bytes(b"\xff")
    for folder in (records, cmp):
        assert main(["compare", "--from", str(folder), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["metric"] == "regret"
    assert main(["compare", "--from", str(cmp), "--json", "--metric", "value"]) == 0
    assert json.loads(capsys.readouterr().out)["metric"] == "value"
