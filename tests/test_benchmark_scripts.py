"""The scripts in benchmarks/: bad input ends in one line and exit code 2, and a run prints what
reproduces it (command, seeds, versions, the data's checksum) before its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READS_DATA = ("analysis_speed", "async_workers", "compare_speed", "executor_speed", "measures_speed",
              "multi_objective", "predictor_basin", "predictor_speed", "predictor_variants", "query_speed",
              "search_quality", "searcher_defaults")


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, f"benchmarks/{name}.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def _one_line_error(done: subprocess.CompletedProcess[str], name: str, *words: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"{name}.py: error: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("name", READS_DATA)
def test_no_data_is_one_line(name: str, tmp_path: Path) -> None:
    # the conftest fixture unsets $ROBNAS_DATA and points the default data folder at a temp dir
    _one_line_error(_script(name), name, "no robustness data", "ROBNAS_DATA")
    _one_line_error(_script(name, "--data", str(tmp_path)), name, str(tmp_path))


@pytest.mark.parametrize(("name", "args", "words"), [
    ("search_quality", ["--searchers", "random", "nope", "--seeds", "2"], ["unknown searcher 'nope'", "re"]),
    ("search_quality", ["--objective", "pgd@7/255", "--seeds", "2"], ["pgd@7/255", "pgd@8/255"]),
    ("async_workers", ["--searchers", "nope", "--seeds", "2"], ["unknown searcher 'nope'"]),
    ("multi_objective", ["--searchers", "random,nope", "--seeds", "2"], ["'nope'", "hvi"]),
    ("multi_objective", ["--searchers", "random", "--searcher", "hvi:bogus=1"], ["bogus"]),
    ("multi_objective", ["--searchers", "random", "--groups", "pgd@1/255,clean;pgd@7/255,clean"], ["pgd@7/255"]),
    ("multi_objective", ["--searchers", "random", "--datasets", "cifar10,cifar1000"], ["cifar1000"]),
    ("searcher_defaults", ["--searchers", "random", "--seeds", "2"], ["'random'", "predictor"]),
    ("searcher_defaults", ["--searchers", "re", "--only", "nothing-like-this"], ["nothing-like-this"]),
    ("predictor_variants", ["--only", "nope"], ["unknown variant 'nope'", "cost features"]),
    ("predictor_variants", ["--only", "", "--real", "bogus=1"], ["bogus"]),
    ("measures_speed", ["--measures", "nope", "--skip-timing"], ["nope", "synflow"]),
])
def test_bad_input_with_data_is_one_line(release_root: Path, name: str, args: list[str], words: list[str]) -> None:
    _one_line_error(_script(name, "--data", str(release_root), *args), name, *words)


def test_a_run_records_seeds_versions_and_data_checksum(release_root: Path) -> None:
    from robnas import __version__

    done = _script("multi_objective", "--data", str(release_root), "--searchers", "random", "--seeds", "2",
                   "--budget", "5", "--groups", "pgd@1/255,clean")
    assert done.returncode == 0, done.stderr[-2000:]
    header = [line for line in done.stdout.splitlines() if line.startswith("# ")]
    assert header[0].startswith("# command: python benchmarks/multi_objective.py --data ")
    assert "# seeds: 0-1 (2)" in header
    assert f"robnas {__version__}" in done.stdout and "numpy " in done.stdout
    assert f"# data: {release_root}, " in done.stdout
    assert "all match robnas's pinned SHA-256s" in done.stdout
    # the figure's label says after how many cells it is taken (5 here, not the default 100)
    assert "HV regret@5 [95%]" in done.stdout


def test_only_takes_a_variant_name_with_a_comma(release_root: Path) -> None:
    name = "local 3, max_features=0.5"
    done = _script("predictor_variants", "--data", str(release_root), "--seeds", "1", "--only", name)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"  {name} " in done.stdout


def test_predictor_goals_refuses_a_run_in_two_folders_and_follows_the_signed_ranks(release_root: Path,
                                                                                  tmp_path: Path) -> None:
    # two comparisons of one plan read together counted each seed's two runs as one; the verdict
    # took the mean difference's sign, which can disagree with the signed-rank test
    from robnas.cli.main import main

    for name in ("a", "b"):
        argv = ["compare", "-O", "pgd@1/255", "--searchers", "random,re", "--seeds", "2", "--budget", "12",
                "--data", str(release_root), "--jobs", "1", "--out", str(tmp_path / name)]
        assert main(argv) == 0
    _one_line_error(_script("predictor_goals", str(tmp_path / "a"), str(tmp_path / "b"), "--searcher", "re",
                            "--rival", "random"), "predictor_goals", "is in", "give each run once")
    assert _script("predictor_goals", str(tmp_path / "a"), "--searcher", "re", "--rival", "random").returncode == 0
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from predictor_goals import verdict_of
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    row = {"significant": True, "a": "re", "b": "random", "mean_diff": -0.0005, "better": "re"}
    assert verdict_of(row, "re") == "better" and verdict_of(row, "random") == "worse"
    assert verdict_of({**row, "significant": False}, "re") == "n.s."
