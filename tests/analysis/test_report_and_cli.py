"""Figures, the report folder and ``robnas analyze``."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from robnas import analysis as an
from robnas.cli.main import main

from .conftest import OBJECTIVES


def test_plots_return_figures_without_touching_pyplot(frame) -> None:
    import matplotlib
    from matplotlib.figure import Figure

    backend = matplotlib.get_backend()
    effects = an.operation_effects(frame, OBJECTIVES)
    figures = [
        an.plot_distributions(an.distributions(frame, OBJECTIVES)),
        an.plot_correlations(an.correlation_matrix(an.correlations(frame, OBJECTIVES))),
        an.plot_equal_cost(frame, OBJECTIVES, "flops"),
        an.plot_operations(effects, OBJECTIVES),
        an.plot_operation_counts(an.operation_counts(frame, OBJECTIVES), OBJECTIVES),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert [len(f.axes) for f in figures[2:]] == [4, 5, 4]  # a panel per objective (+ the colour bar)
    assert matplotlib.get_backend() == backend


def test_analysis_import_stays_light() -> None:
    code = ("import sys\nimport robnas.analysis\nfrom robnas.cli.main import build_parser\nbuild_parser()\n"
            "print('HEAVY', [m for m in ('pandas', 'matplotlib', 'scipy', 'torch') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_writes_every_section(release_root, capsys, tmp_path, raw_cifar10) -> None:
    out = tmp_path / "report"
    code, printed, _ = _cli(capsys, "analyze", "-O", "clean", "-O", "pgd@1/255", "-O", "adversarial@mean",
                            "--top-percent", "10", "--out", str(out), "--data", str(release_root),
                            "--formats", "png,svg")
    assert code == 0
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for stem in ("distributions", "correlations", "equal-cost-params", "operations", "operation-counts",
                 "dataset-correlations"):
        assert f"figures/{stem}.png" in names and f"figures/{stem}.svg" in names
    for table in ("degenerate.csv", "distributions.csv", "correlations.csv", "datasets.csv",
                  "equal-cost-params.csv", "equal-cost-flops.csv", "equal-cost-findings-params.md",
                  "equal-cost-findings-flops.md", "operations.csv",
                  "operation-counts.csv", "operation-enrichment.md", "top-pgd-1-255.csv", "summary.md",
                  "summary.json"):
        assert table in names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classes"] == 6466 and summary["degenerate"] == 5 and summary["top_percent"] == 10
    assert summary["headline"] == ["clean", "pgd@1/255", "adversarial@mean"]
    assert "## Kendall's tau with clean accuracy\n\n- pgd@1/255: " in (out / "summary.md").read_text()
    assert "Design analysis: cifar10" in printed and "range in adversarial@mean from" in printed
    top = pd.read_csv(out / "top-pgd-1-255.csv", index_col=0)
    assert list(top["pgd@1/255"]) == list(raw_cifar10["pgd@1/255"].sort_values(ascending=False).head(20))
    degenerate = pd.read_csv(out / "degenerate.csv", index_col=0)
    assert list(degenerate.index) == list(raw_cifar10.index[raw_cifar10["clean"] <= 0.105])
    # the degenerate cells are out of equal cost by default, in with --no-exclude-degenerate
    groups = pd.read_csv(out / "equal-cost-params.csv")
    assert groups.loc[groups["objective"] == "clean", "n"].sum() == 6461
    code, printed, _ = _cli(capsys, "analyze", "-O", "clean", "--no-exclude-degenerate", "--json",
                            "--out", str(out), "--data", str(release_root))
    assert code == 0 and json.loads(printed)["exclude_degenerate"] is False
    assert "Kendall's tau with clean" not in (out / "summary.md").read_text()  # no empty section
    assert pd.read_csv(out / "equal-cost-params.csv")["n"].sum() == 6466


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--top-percent", "0"], "--top-percent needs a number > 0 and <= 100, got 0"),
        (["--top-percent", "101"], "--top-percent needs a number > 0 and <= 100, got 101"),
        (["--top-percent", "x"], "--top-percent needs a number > 0 and <= 100, got 'x'"),
        (["--formats", "bmp"], "--formats: unknown figure format 'bmp'; choose from png, svg, pdf"),
        (["-O", "params"], "params is always a column of the analysis"),
        (["-O", "pgd@7/255"], "pgd@7/255 is not on the grid"),
        (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(release_root, capsys, tmp_path, argv, message) -> None:
    out = tmp_path / "never"
    code, _, err = _cli(capsys, "analyze", *argv, "--out", str(out), "--data", str(release_root))
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_new_report_removes_what_an_earlier_one_there_wrote_and_it_does_not(release_root, capsys,
                                                                               tmp_path) -> None:
    out = tmp_path / "report"
    assert _cli(capsys, "analyze", "-O", "clean", "-O", "pgd@1/255", "--out", str(out),
                "--data", str(release_root))[0] == 0
    assert (out / "top-pgd-1-255.csv").is_file()
    (out / "notes.txt").write_text("mine")  # not the report's: kept
    assert _cli(capsys, "analyze", "-O", "clean", "--out", str(out), "--data", str(release_root))[0] == 0
    listed = set(json.loads((out / "summary.json").read_text())["files"])
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert on_disk == listed | {"notes.txt"} and not (out / "top-pgd-1-255.csv").exists()


def test_an_out_folder_holding_other_files_is_refused(release_root, capsys, tmp_path) -> None:
    """A run record's (or any other) files are never overwritten by a report: refused, untouched."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text('{"best_value": 0.5}\n')
    code, _, err = _cli(capsys, "analyze", "-O", "clean", "--out", str(out), "--data", str(release_root))
    assert code == 2 and err.count("\n") == 1
    assert f"--out {out} holds other files (not an earlier analysis)" in err
    assert [p.name for p in out.iterdir()] == ["summary.json"]
    assert (out / "summary.json").read_text() == '{"best_value": 0.5}\n'


def test_an_interrupted_report_leaves_the_earlier_one_whole(release_root, capsys, tmp_path) -> None:
    """Ctrl-C halfway through left some tables and figures of the new report among the earlier
    one's, with no summary.md; the report is written beside the folder and moved in at the end."""
    import os
    import signal
    import time

    out = tmp_path / "report"
    assert _cli(capsys, "analyze", "-O", "clean", "--out", str(out), "--data", str(release_root))[0] == 0
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    process = subprocess.Popen(  # every objective: seconds of work after the first file, to interrupt
        [sys.executable, "-m", "robnas", "analyze", "--out", str(out), "--data", str(release_root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal: a test
    # run started in the background (nohup, CI) hands its children SIGINT ignored
    deadline = time.monotonic() + 120
    while not any(p.is_file() for stage in tmp_path.glob(".report.partial-*") for p in stage.rglob("*")):
        assert process.poll() is None and time.monotonic() < deadline, "never wrote into a staging folder"
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 130
    after = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and not list(tmp_path.glob(".report.partial-*"))


def test_the_best_cells_leave_out_constant_outputs_unless_asked(release_root, capsys, tmp_path) -> None:
    """At pgd@8/255 on CIFAR-10 the five constant-output networks (0.100, chance) beat every
    real one (at most 0.027): the summary named index 10, a constant classifier, the best cell."""
    out = tmp_path / "report"
    code, printed, _ = _cli(capsys, "analyze", "-O", "pgd@8/255", "--json", "--out", str(out),
                            "--data", str(release_root))
    assert code == 0
    best = json.loads(printed)["best"]["pgd@8/255"]
    top = pd.read_csv(out / "top-pgd-8-255.csv", index_col=0)
    assert not top["degenerate"].any() and top.index[0] == best["index"]
    assert best["value"] == top["pgd@8/255"].max() < 0.1
    degenerate = set(pd.read_csv(out / "degenerate.csv", index_col=0).index)
    assert best["index"] not in degenerate
    code, printed, _ = _cli(capsys, "analyze", "-O", "pgd@8/255", "--no-exclude-degenerate", "--json",
                            "--out", str(out), "--data", str(release_root))
    assert code == 0 and json.loads(printed)["best"]["pgd@8/255"]["index"] in degenerate


def test_other_datasets_are_the_installed_ones_read_as_strictly(release_root, capsys, tmp_path) -> None:
    """An empty folder of another dataset (an interrupted download) stopped the analysis of this
    one ('dataset cifar100 is not installed'); and --strict-data did not reach the other
    datasets, whose changed files the between-datasets section used."""
    root = tmp_path / "data"
    root.mkdir()
    for name in ("meta.json", "cifar10"):
        (root / name).symlink_to(release_root / name)
    (root / "cifar100").mkdir()  # not installed: no accuracy file
    other = root / "ImageNet16-120"
    other.mkdir()
    document = json.loads((release_root / "ImageNet16-120" / "clean_accuracy.json").read_text())
    document["ImageNet16-120"]["clean"]["accuracy"]["0"] += 0.001  # differs from its pin
    (other / "clean_accuracy.json").write_text(json.dumps(document))
    out = tmp_path / "report"
    code, _, err = _cli(capsys, "analyze", "-O", "clean", "--json", "--out", str(out), "--data", str(root))
    assert code == 0, err
    assert set(pd.read_csv(out / "datasets.csv")["dataset_b"]) == {"ImageNet16-120"}
    code, _, err = _cli(capsys, "--strict-data", "analyze", "-O", "clean", "--out", str(tmp_path / "strict"),
                        "--data", str(root))
    assert code == 2 and err.count("\n") == 1
    assert "ImageNet16-120/clean_accuracy.json differs from the released file" in err


def test_a_constant_objective_is_reported_undefined_in_strict_json(capsys, tmp_path) -> None:
    """A table whose pgd@1/255 is the same for every class (a user's own, built on a few
    images): the report stopped with an IndexError; Kendall's tau with clean is NaN, written
    as null in summary.json (was NaN, which strict JSON parsers refuse)."""
    from tests.release_fixture import write_release

    root = write_release(tmp_path / "data", keys=("clean", "pgd@Linf"))
    path = root / "cifar10" / "pgd@Linf_accuracy.json"
    document = json.loads(path.read_text())
    values = document["cifar10"]["pgd@Linf"]["accuracy"]
    for index, row in values.items():  # pgd@1/255 (of 0.1, 1 and 8/255): 0 for every class
        values[index] = [row[0], 0.0, row[2]]
    path.write_text(json.dumps(document))
    out = tmp_path / "report"
    code, printed, err = _cli(capsys, "analyze", "-O", "clean", "-O", "pgd@1/255", "-O", "pgd@mean",
                              "--out", str(out), "--data", str(root))
    assert code == 0, err
    assert "- pgd@1/255: undefined (constant over the classes)" in printed

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    summary = json.loads((out / "summary.json").read_text(), parse_constant=refuse)
    taus = summary["kendall_tau_with_clean"]
    assert taus["pgd@1/255"] is None and -1 <= taus["pgd@mean"] <= 1
    pairs = pd.read_csv(out / "correlations.csv").set_index(["a", "b"])
    assert pairs["spearman_rho"].isna().to_dict() == {("clean", "pgd@1/255"): True, ("clean", "pgd@mean"): False,
                                                      ("pgd@1/255", "pgd@mean"): True}


def test_a_table_of_constant_outputs_only_is_one_line(capsys, tmp_path) -> None:
    """Every class at chance (a table built from networks that never trained): with the
    constant-output classes left out nothing was left, and the operations section stopped with
    an IndexError traceback."""
    from tests.release_fixture import write_release

    root = write_release(tmp_path / "data", keys=("clean", "pgd@Linf"))
    path = root / "cifar10" / "clean_accuracy.json"
    document = json.loads(path.read_text())
    document["cifar10"]["clean"]["accuracy"] = dict.fromkeys(document["cifar10"]["clean"]["accuracy"], 0.1)
    path.write_text(json.dumps(document))
    out = tmp_path / "report"
    code, _, err = _cli(capsys, "analyze", "-O", "pgd@1/255", "--out", str(out), "--data", str(root))
    assert code == 2 and err.count("\n") == 1 and not out.exists()
    assert "every one of the 6466 classes of this cifar10 table is constant-output" in err
    assert "--no-exclude-degenerate" in err
    code, _, err = _cli(capsys, "analyze", "-O", "pgd@1/255", "--no-exclude-degenerate", "--out", str(out),
                        "--data", str(root))
    assert code == 0, err


def test_the_report_records_the_versions_and_the_data_it_read(tmp_path) -> None:
    """summary.json names what reproduces the report: the library versions and the SHA-256 of
    the data files read (it named neither, so a report could not be tied to its data), the
    same whatever the oracle read before it."""
    import hashlib

    import numpy as np
    import scipy

    from robnas import __version__
    from robnas.analysis.report import write_report
    from robnas.benchmark import TabularOracle
    from tests.release_fixture import write_release

    root = write_release(tmp_path / "data", keys=("clean", "pgd@Linf", "fgsm@Linf"))
    oracle = TabularOracle("cifar10", data=root, cache_dir=False)
    oracle.evaluate([0], "fgsm@1/255")  # read before, not by the report: not its data
    write_report(oracle, tmp_path / "report", ["pgd@1/255"], formats=())
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    provenance = summary["provenance"]
    versions = provenance["versions"]
    assert (versions["robnas"], versions["numpy"], versions["scipy"]) == (__version__, np.__version__,
                                                                          scipy.__version__)
    data = provenance["data"]["cifar10"]
    assert data["data_root"] == str(root)
    sha = {name: hashlib.sha256((root / name).read_bytes()).hexdigest()
           for name in ("meta.json", "cifar10/clean_accuracy.json", "cifar10/pgd@Linf_accuracy.json")}
    assert data["checksums"] == sha and next(iter(data["checksums"])) == "meta.json"
