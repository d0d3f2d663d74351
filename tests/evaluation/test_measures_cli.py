"""``robnas measures`` end to end: the real release's table and meta, fixture CIFAR-10 files."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from robnas.cli.main import main
from tests.evaluation.dataset_fixtures import write_cifar10


@pytest.fixture(scope="module")
def setup(cifar10_oracle, tmp_path_factory):
    base = tmp_path_factory.mktemp("measures-cli")
    write_cifar10(base / "images", n=20)
    meta = cifar10_oracle.meta
    cells = base / "cells.txt"
    cells.write_text(f"13433\n# a comment\n{meta.arch_at(0).to_string()}\n\n9930  # trailing comment\n")
    return {"base": base, "oracle": cifar10_oracle, "cells": cells,
            "common": ["--data", str(cifar10_oracle.root), "--store", str(base / "store.sqlite")]}


def run(argv, capsys):
    code = main(["measures", *argv])
    return code, capsys.readouterr()


def test_compute_writes_parquet_and_a_repeat_costs_nothing(setup, capsys):
    out = setup["base"] / "m.parquet"
    argv = ["compute", "-m", "l2_norm", "-m", "nwot", "--archs", str(setup["cells"]), "--images",
            str(setup["base"] / "images"), "--batch-size", "4", "-o", str(out), "--json", *setup["common"]]
    code, captured = run(argv, capsys)
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert (summary["cells"], summary["computed"], summary["cached"]) == (3, 6, 0)
    assert summary["measures"]["nwot"]["settings"]["real_images"] is True
    frame = pd.read_parquet(out)
    assert list(frame["nb201_index"]) == [13433, 0, 9930]
    assert frame["arch"][1] == setup["oracle"].meta.arch_at(0).to_string()
    assert list(frame.columns[3:5]) == ["l2_norm", "nwot"] and frame[["l2_norm", "nwot"]].notna().all().all()
    code, captured = run(argv, capsys)
    again = json.loads(captured.out)
    assert (again["computed"], again["cached"]) == (0, 6)
    code, captured = run(["compute", "-m", "l2_norm", "--archs", str(setup["cells"]), "--batch-size", "4",
                          "-o", str(setup["base"] / "m.csv"), *setup["common"]], capsys)
    assert code == 0 and "3 cells on cifar10: 0 values computed, 3 from the store" in captured.out
    assert np.allclose(pd.read_csv(setup["base"] / "m.csv")["l2_norm"], frame["l2_norm"])


def test_list_names_every_measure(capsys):
    code, captured = run(["list", "--json"], capsys)
    names = [row["name"] for row in json.loads(captured.out)]
    assert code == 0 and {"synflow", "jacov", "nwot", "zen", "jacobian_norm", "hessian_eigenvalue"} <= set(names)


def _scores_file(setup):
    oracle = setup["oracle"]
    reps = oracle.meta.representatives[::10]
    rng = np.random.default_rng(0)
    clean = oracle.dataframe(["clean"]).loc[reps, "clean"].to_numpy()
    path = setup["base"] / "scores.csv"
    pd.DataFrame({"arch": [oracle.meta.arch_at(int(i)).to_string() for i in reps],
                  "good": clean + rng.normal(0, 0.01, len(reps)),
                  "random": rng.normal(size=len(reps))}).to_csv(path, index=False)
    return path, len(reps)


def test_correlate_scores_writes_tables_and_figures(setup, capsys):
    path, n = _scores_file(setup)
    out = setup["base"] / "corr"
    code, captured = run(["correlate", "--scores", str(path), "-O", "clean", "-O", "pgd@1/255",
                          "--bootstrap", "20", "--out", str(out), *setup["common"]], capsys)
    assert code == 0, captured.err
    assert f"| good | clean | {n} | {n} |" in captured.out
    table = pd.read_csv(out / "correlations.csv")
    good = table[(table["score"] == "good") & (table["objective"] == "clean")].iloc[0]
    rand = table[(table["score"] == "random") & (table["objective"] == "clean")].iloc[0]
    assert good["kendall"] > 0.6 and abs(rand["kendall"]) < 0.1
    assert all((out / name).stat().st_size > 0 for name in ("heatmap.png", "scatter.png", "correlations.md"))
    code, captured = run(["correlate", "--scores", str(path), "-O", "clean", "--bootstrap", "0", "--json",
                          *setup["common"]], capsys)
    def strict(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    rows = json.loads(captured.out, parse_constant=strict)["correlations"]
    assert code == 0 and len(rows) == 2 and rows[0]["kendall_low"] is None  # no bootstrap: no interval
    # the bootstrap's seed is a setting of the result: the JSON names it (it did not)
    code, captured = run(["correlate", "--scores", str(path), "-O", "clean", "--bootstrap", "20", "--seed", "7",
                          "--json", *setup["common"]], capsys)
    assert code == 0 and json.loads(captured.out)["seed"] == 7


def test_correlate_reports_scored_isomorphs(setup, capsys):
    meta = setup["oracle"].meta
    members = [i for i in range(2000) if meta.representative_of(i) != i][:5]
    index = members + [meta.representative_of(i) for i in members] + list(meta.representatives[:40])
    index = list(dict.fromkeys(int(i) for i in index))
    path = setup["base"] / "iso.csv"
    pd.DataFrame({"nb201_index": index, "s": np.arange(len(index), dtype=float)}).to_csv(path, index=False)
    code, captured = run(["correlate", "--scores", str(path), "-O", "clean", "--bootstrap", "0",
                          *setup["common"]], capsys)
    classes = {meta.representative_of(i) for i in members}
    assert code == 0 and f"note: s: {len(classes)} classes have several scored isomorphs" in captured.out


def test_predict_reports_r2_tau_and_importances(setup, capsys):
    path, _ = _scores_file(setup)
    code, captured = run(["predict", "--scores", str(path), "-O", "clean", "--seeds", "2", "--trees", "20",
                          "--json", *setup["common"]], capsys)
    assert code == 0, captured.err
    result = json.loads(captured.out)["clean"]
    assert result["summary"]["r2"] > 0.8
    assert result["importances"][0]["feature"] == "good"
    code, captured = run(["predict", "--scores", str(path), "-O", "clean", "--seeds", "1", "--trees", "20",
                          *setup["common"]], capsys)
    first = captured.out.splitlines()[0]
    assert code == 0 and "nan" not in first and " over 1 80/20 split (" in first  # one split: no interval


@pytest.mark.parametrize(("argv", "message"), [
    (["compute", "-m", "nope"], "unknown measure 'nope'; choose from synflow"),
    (["compute", "-m", "jacov"], "jacov needs test images: pass --images DIR"),
    (["compute", "-m", "jacov", "-m", "nwot"], "jacov, nwot need test images: pass --images DIR"),
    (["compute", "-m", "synflow", "-o", "x.txt"],
     "cannot tell the format of -o x.txt from its suffix; name it .csv or .parquet"),
    (["compute", "-m", "synflow", "-o", "x.pq", "--archs", "cells.txt"],  # correlate reads no .pq
     "cannot tell the format of -o x.pq from its suffix"),
    (["compute", "-m", "synflow", "--archs", "missing.txt"], "use all, representatives or a file"),
    (["compute", "-m", "synflow", "--jobs", "0"], "--jobs"),
    (["compute", "-m", "jacov", "--images", "."], "cifar10 test set not found"),
    (["compute", "-m", "synflow", "--seed", "-1"], "--seed"),
    (["compute", "-m", "l2_norm", "--device", "tpu"], "unknown device 'tpu'; use auto, cpu, cuda"),
    (["correlate", "--scores", "s.csv", "--out", "s.csv"], "--out s.csv is a file, not a folder"),
    (["correlate", "-m", "synflow", "--batch-size", "3"], "no synflow values for cifar10 with batch_size=3"),
    (["correlate", "--scores", "missing.csv"], "--scores missing.csv: no such file"),
    (["correlate", "--scores", "."], "--scores . is a folder; give a .csv or .parquet file"),
    (["correlate", "--scores", "s.csv", "--weights", "/nonexistent"],
     "--weights picks values computed before (with -m); --scores gives the values itself: leave --weights out"),
    (["correlate", "--scores", "s.csv", "--batch-size", "32"], "leave --batch-size out"),
    (["predict", "--scores", "s.csv", "--seed", "5"], "leave --seed out"),
    (["correlate", "--scores", "s.csv", "--images", "."], "leave --images out"),
    (["correlate", "--scores", "s.csv", "-O", "pgd@7/255"], "pgd@7/255 is not on the grid"),
])
def test_bad_input_is_one_line_and_exit_2(setup, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(setup["base"])
    pd.DataFrame({"index": [1, 2], "x": [0.1, 0.2]}).to_csv(setup["base"] / "s.csv", index=False)
    code, captured = run([*argv, *setup["common"]], capsys)
    assert code == 2
    assert captured.err.startswith("robnas: error: ") and message in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_measures_without_a_subcommand_is_one_line(capsys):
    code, captured = run([], capsys)
    assert code == 2 and captured.err.strip().splitlines() == [
        "robnas: error: measures: give a subcommand: list, compute, correlate, predict (see `robnas measures --help`)"]


def test_bad_line_in_the_cells_file_names_the_line(setup, capsys):
    bad = setup["base"] / "bad.txt"
    bad.write_text("13433\n|not_an_op~0|\n")
    code, captured = run(["compute", "-m", "synflow", "--archs", str(bad), *setup["common"]], capsys)
    assert code == 2 and f"--archs {bad}, line 2:" in captured.err


def test_a_cells_file_that_is_not_text_or_a_folder_is_one_line(setup, capsys):
    binary = setup["base"] / "cells.bin"
    binary.write_bytes(b"13433\n\xb4\xff\x00\n")
    code, captured = run(["compute", "-m", "params", "--archs", str(binary), *setup["common"]], capsys)
    assert code == 2 and captured.err.strip().splitlines() == [
        f"robnas: error: --archs {binary}: not a text file of cells (byte 6 is not UTF-8)"]
    code, captured = run(["compute", "-m", "params", "--archs", str(setup["base"]), *setup["common"]], capsys)
    assert code == 2 and captured.err.strip().splitlines() == [
        f"robnas: error: --archs {setup['base']}: use all, representatives or a file of cells (a folder)"]


def test_correlate_reads_hessian_values_computed_with_other_iterations(setup, capsys):
    images = ["--images", str(setup["base"] / "images"), "--batch-size", "2"]
    code, captured = run(["compute", "-m", "hessian_eigenvalue", "--hessian-iterations", "2", "--archs",
                          str(setup["cells"]), *images, *setup["common"]], capsys)
    assert code == 0, captured.err
    read = ["correlate", "-m", "hessian_eigenvalue", "-O", "clean", "--bootstrap", "0", *images, *setup["common"]]
    code, captured = run([*read, "--hessian-iterations", "2", "--json"], capsys)
    assert code == 0, captured.err
    assert [row["cells"] for row in json.loads(captured.out)["correlations"]] == [3]
    code, captured = run(read, capsys)  # the default 20 iterations: not these values, and it says why
    assert code == 2 and "with batch_size=2, seed=0, iterations=20, tolerance=0.001" in captured.err
    assert "iterations=2, tolerance=0.001)" in captured.err


def test_a_users_measure_from_the_command_line(setup, capsys, tmp_path, monkeypatch):
    (tmp_path / "my_scores.py").write_text(
        "def weight_sum(network, batch):\n"
        "    return float(sum(p.detach().abs().sum() for p in network.parameters()))\n"
        "weight_sum.measure_flags = {'needs_data': False}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "mine.csv"
    code, captured = run(["compute", "-m", "my_scores:weight_sum", "--archs", str(setup["cells"]),
                          "-o", str(out), *setup["common"]], capsys)
    assert code == 0, captured.err
    frame = pd.read_csv(out)
    assert list(frame.columns[3:]) == ["weight_sum", "weight_sum_seconds"] and (frame["weight_sum"] > 0).all()


def test_bad_input_names_no_option_compute_lacks(setup, capsys, monkeypatch):
    monkeypatch.chdir(setup["base"])
    code, captured = run(["compute", "-m", "synflow", "-o", "x.txt", *setup["common"]], capsys)
    assert code == 2 and "--format" not in captured.err  # compute has no --format


# -- help ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("command", [[], ["list"], ["compute"], ["correlate"], ["predict"]])
def test_help_of_every_measures_command_prints(capsys, command, flag):
    code = main(["measures", *command, flag])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == ""
    assert captured.out.startswith("usage: robnas measures") and "%%" not in captured.out
    if command in ([], ["correlate"]):
        assert "top-10% precision with 95% bootstrap intervals" in " ".join(captured.out.split())


# -- a measure that returns NaN (or infinity) everywhere -------------------------------------------
@pytest.fixture
def odd_measures(tmp_path, monkeypatch):
    """A module ``odd_measures`` with data-free, network-free measures ``nan_everywhere`` and
    ``inf_everywhere``."""
    (tmp_path / "odd_measures.py").write_text(
        "import math\n"
        "FLAGS = {'needs_data': False, 'needs_network': False}\n"
        "def nan_everywhere(network, batch):\n"
        "    return math.nan\n"
        "def inf_everywhere(network, batch):\n"
        "    return math.inf\n"
        "nan_everywhere.measure_flags = inf_everywhere.measure_flags = FLAGS\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_compute_summarises_a_measure_that_is_nan_everywhere(setup, capsys, odd_measures):
    out = odd_measures / "nan.csv"
    argv = ["compute", "-m", "odd_measures:nan_everywhere", "--archs", str(setup["cells"]),
            "--store", str(odd_measures / "s.sqlite"), "--data", str(setup["oracle"].root)]
    code, captured = run([*argv, "-o", str(out)], capsys)
    assert code == 0, captured.err
    line = next(x for x in captured.out.splitlines() if "nan_everywhere" in x)
    assert line.split()[:3] == ["nan_everywhere", "mean", "–"] and line.endswith("(3 NaN)")
    assert pd.read_csv(out)["nan_everywhere"].isna().all()
    code, captured = run([*argv, "--json"], capsys)
    info = json.loads(captured.out)["measures"]["nan_everywhere"]
    assert code == 0 and info["mean"] is None and info["missing"] == 3


def test_compute_json_stays_strict_json_for_an_infinite_mean(setup, capsys, odd_measures):
    argv = ["compute", "-m", "odd_measures:inf_everywhere", "--archs", str(setup["cells"]),
            "--store", str(odd_measures / "s.sqlite"), "--data", str(setup["oracle"].root)]
    code, captured = run([*argv, "--json"], capsys)

    def strict(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    assert code == 0 and json.loads(captured.out, parse_constant=strict)["measures"]["inf_everywhere"]["mean"] is None
    code, captured = run(argv, capsys)
    assert code == 0 and "inf_everywhere      mean inf " in captured.out


# -- --strict-data ---------------------------------------------------------------------------------
def _changed_release(release_root: Path, target: Path) -> Path:
    """A release copy (meta.json and pgd linked) whose cifar10 clean file has one value changed,
    so its SHA-256 differs from the pin."""
    (target / "cifar10").mkdir(parents=True)
    (target / "meta.json").symlink_to(release_root / "meta.json")
    for name in ("pgd@Linf_accuracy.json",):
        (target / "cifar10" / name).symlink_to(release_root / "cifar10" / name)
    document = json.loads((release_root / "cifar10" / "clean_accuracy.json").read_text())
    document["cifar10"]["clean"]["accuracy"]["13433"] = 0.5
    (target / "cifar10" / "clean_accuracy.json").write_text(json.dumps(document))
    return target


@pytest.mark.parametrize("command", ["correlate", "predict"])
@pytest.mark.parametrize("where", ["global", "command"])
def test_correlate_and_predict_honour_strict_data(setup, capsys, caplog, tmp_path, command, where):
    root = _changed_release(setup["oracle"].root, tmp_path / "data")
    path, _ = _scores_file(setup)
    argv = ["measures", command, "--scores", str(path), "-O", "clean", "--data", str(root),
            "--store", str(tmp_path / "s.sqlite")]
    argv += ["--bootstrap", "0"] if command == "correlate" else ["--seeds", "2", "--trees", "5"]
    with caplog.at_level(logging.WARNING, logger="robnas.benchmark.table"):
        code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "differs from the released file" in caplog.text  # without the flag: a warning
    code = main(["--strict-data", *argv] if where == "global" else [*argv, "--strict-data"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("robnas: error: ") and "refused under --strict-data" in captured.err
    assert captured.err.count("\n") == 1


# -- --scores are read strictly --------------------------------------------------------------------
@pytest.mark.parametrize("command", ["correlate", "predict"])
@pytest.mark.parametrize("bad", ["nan", "-inf", "inf", "NaN"])
def test_a_non_finite_score_is_refused_naming_file_and_row(setup, capsys, tmp_path, command, bad):
    reps = [int(i) for i in setup["oracle"].meta.representatives[:30]]
    values = [str(float(i)) for i in range(30)]
    values[4] = bad
    path = tmp_path / "scores.csv"
    path.write_text("nb201_index,s\n" + "".join(f"{i},{v}\n" for i, v in zip(reps, values, strict=True)))
    code, captured = run([command, "--scores", str(path), "-O", "clean", *setup["common"]], capsys)
    assert code == 2 and captured.out == ""
    assert captured.err == (f"robnas: error: --scores {path}, row 5 (line 6): 's' is {float(bad)}; scores must be "
                            "finite numbers (leave the field empty for a cell without that score)\n")


def test_an_empty_score_field_is_a_cell_without_that_score(setup, capsys, tmp_path):
    reps = [int(i) for i in setup["oracle"].meta.representatives[:30]]
    path = tmp_path / "scores.csv"
    path.write_text("nb201_index,s,t\n" + "".join(f"{r},{i},{'' if i == 3 else -i}\n" for i, r in enumerate(reps)))
    code, captured = run(["correlate", "--scores", str(path), "-O", "clean", "--bootstrap", "0", "--json",
                          *setup["common"]], capsys)
    assert code == 0, captured.err
    cells = {row["score"]: row["cells"] for row in json.loads(captured.out)["correlations"]}
    assert cells == {"s": 30, "t": 29}


# -- predict's intervals ---------------------------------------------------------------------------
def test_predict_intervals_stay_within_the_statistics_range(setup, capsys, tmp_path):
    reps = setup["oracle"].meta.representatives[:40]
    path = tmp_path / "noise.csv"
    rng = np.random.default_rng(5)
    pd.DataFrame({"nb201_index": reps, "noise": rng.normal(size=len(reps))}).to_csv(path, index=False)
    argv = ["predict", "--scores", str(path), "-O", "pgd@1/255", "--seeds", "2", "--trees", "5", *setup["common"]]
    code, captured = run([*argv, "--json"], capsys)
    assert code == 0, captured.err
    summary = json.loads(captured.out)["pgd@1/255"]["summary"]
    assert -1 <= summary["kendall_low"] <= summary["kendall"] <= summary["kendall_high"] <= 1
    assert summary["r2_low"] <= summary["r2"] <= summary["r2_high"] <= 1
    assert (summary["kendall_low"], summary["kendall_high"]) == (-1, 1)  # two splits: the widest interval
    code, captured = run(argv, capsys)
    assert code == 0 and "[-1.000, 1.000] over 2 80/20 splits" in captured.out
    assert not math.isnan(summary["r2"])


def test_correlate_refuses_infinite_values_from_the_store_as_from_a_file(setup, capsys, odd_measures):
    """A measure that overflowed: Kendall ranked the infinities highest and Pearson left them out
    while the row counted them; a scores file with the same values was refused, now both are."""
    store = str(odd_measures / "s.sqlite")
    out = odd_measures / "inf.csv"
    code, _ = run(["compute", "-m", "odd_measures:inf_everywhere", "--archs", str(setup["cells"]), "--store",
                   store, "-o", str(out), "--data", str(setup["oracle"].root)], capsys)
    assert code == 0
    code, captured = run(["correlate", "-m", "odd_measures:inf_everywhere", "--store", store, "-O", "clean",
                          "--bootstrap", "0", "--data", str(setup["oracle"].root)], capsys)
    assert code == 2 and len(captured.err.strip().splitlines()) == 1
    assert "'inf_everywhere' is inf for NB201 index" in captured.err and "(3 cells)" in captured.err
    code, captured = run(["correlate", "--scores", str(out), "-O", "clean", "--bootstrap", "0",
                          "--data", str(setup["oracle"].root)], capsys)
    assert code == 2 and "scores must be finite numbers" in captured.err


@pytest.mark.parametrize(("rows", "why"), [
    ("1,0.1\n2,0.1\n3,0.1\n4,0.1\n", "the score (or the objective) is the same for every cell"),
    ("1,0.1\n2,0.2\n", "2 scored cells with the objective, fewer than 3"),
])
def test_correlate_says_why_a_row_has_no_correlation(setup, capsys, rows, why):
    path = setup["base"] / "few.csv"
    path.write_text("index,s\n" + rows)
    code, captured = run(["correlate", "--scores", str(path), "-O", "clean", "--bootstrap", "0",
                          *setup["common"]], capsys)
    assert code == 0 and f"note: s on clean: no correlation: {why}" in captured.out.splitlines()


def test_predict_on_every_cell_splits_over_classes(setup, capsys, tmp_path):
    # a score that only names the class (noise, the same for every isomorph of it): a split
    # with a class's cells on both sides would 'predict' the class's value from its twins
    meta = setup["oracle"].meta
    reps, sizes = np.unique(meta.representative, return_counts=True)
    big = reps[(sizes >= 4) & (sizes <= 6)][:150]  # classes of alike size: no few dominate the cells
    cells = np.flatnonzero(np.isin(meta.representative, big))
    noise = dict(zip(big.tolist(), np.random.default_rng(2).normal(size=len(big)), strict=True))
    path = tmp_path / "class-noise.csv"
    pd.DataFrame({"nb201_index": cells,
                  "class_noise": [noise[int(meta.representative[i])] for i in cells]}).to_csv(path, index=False)
    code, captured = run(["predict", "--scores", str(path), "-O", "pgd@1/255", "--seeds", "4", "--trees", "20",
                          "--isomorphs", "all", "--json", *setup["common"]], capsys)
    assert code == 0, captured.err
    assert abs(json.loads(captured.out)["pgd@1/255"]["summary"]["kendall"]) < 0.3


def test_predict_on_every_cell_of_too_few_classes_is_one_line(setup, capsys, tmp_path):
    # 12 cells of one class: scikit-learn's ValueError traceback (an empty training set)
    meta = setup["oracle"].meta
    reps, sizes = np.unique(meta.representative, return_counts=True)
    cells = np.flatnonzero(meta.representative == reps[np.argmax(sizes)])[:12]
    path = tmp_path / "one-class.csv"
    pd.DataFrame({"nb201_index": cells, "s": np.arange(12.0)}).to_csv(path, index=False)
    code, captured = run(["predict", "--scores", str(path), "-O", "clean", "--isomorphs", "all",
                          *setup["common"]], capsys)
    assert code == 2 and captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("robnas: error: predict holds out whole classes of cells, so it needs "
                                   "at least 10 classes") and "got 1 (12 cells)" in captured.err



def test_correlate_and_predict_out_folders_record_what_they_came_from(setup, capsys):
    # the folders held tables and figures only: no scores file, data checksums, settings or versions
    import hashlib

    path, _ = _scores_file(setup)
    for command, extra, settings in (
            ("correlate", ["--bootstrap", "20", "--seed", "3"], {"bootstrap": 20, "bootstrap_seed": 3}),
            ("predict", ["--seeds", "2", "--trees", "15"], {"seeds": 2, "trees": 15})):
        out = setup["base"] / f"prov-{command}"
        code, captured = run([command, "--scores", str(path), "-O", "clean", "-O", "pgd@1/255", "--out", str(out),
                              *extra, *setup["common"]], capsys)
        assert code == 0, captured.err
        record = json.loads((out / "provenance.json").read_text())
        assert record["command"] == f"robnas measures {command}" and record["dataset"] == "cifar10"
        assert record["objectives"] == ["clean", "pgd@1/255"] and settings.items() <= record.items()
        assert record["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        files = record["data"]["checksums"]
        assert {"meta.json", "cifar10/clean_accuracy.json", "cifar10/pgd@Linf_accuracy.json"} <= set(files)
        meta = Path(record["data"]["data_root"]) / "meta.json"
        assert files["meta.json"] == hashlib.sha256(meta.read_bytes()).hexdigest()
        assert record["versions"]["robnas"] and record["versions"]["scikit-learn"]


def test_correlate_out_from_the_store_records_the_measures_looked_up(setup, capsys, tmp_path):
    # with -m (values from the store) provenance.json held Measure objects: a TypeError traceback
    # after the tables and figures were written
    cells = tmp_path / "cells.txt"
    cells.write_text("\n".join(str(int(i)) for i in setup["oracle"].meta.representatives[:30]) + "\n")
    common = ["--data", str(setup["oracle"].root), "--store", str(tmp_path / "store.sqlite")]
    code, captured = run(["compute", "-m", "params", "--archs", str(cells), *common], capsys)
    assert code == 0, captured.err
    out = tmp_path / "corr"
    code, captured = run(["correlate", "-m", "params", "-O", "clean", "--bootstrap", "10", "--out", str(out),
                          *common], capsys)
    assert code == 0, captured.err
    source = json.loads((out / "provenance.json").read_text())["source"]
    assert source["measures"] == {"params": {}} and source["store"] == str((tmp_path / "store.sqlite").resolve())
