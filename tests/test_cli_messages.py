"""What the CLI says about bad input (the wording users act on), where its choices come from, and
the output format inferred from ``-o``. ``tests/test_bad_inputs.py`` checks the shape (one line,
exit 2, nothing written) of several hundred generated inputs; this module checks the words."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from robnas.arch import CLASS_COUNT
from robnas.cli.main import build_parser, main
from robnas.searchers import SEARCHERS
from robnas.vocabulary import Dataset


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _error(capsys, *argv: str) -> str:
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("robnas: error: "), err
    return err.strip()


@pytest.fixture
def search(release_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --out, runs/, would be created here
    return ["search", "-O", "pgd@1/255", "--data", str(release_root)]


def test_a_bad_seed_talks_about_seed_not_param(capsys, search) -> None:
    err = _error(capsys, *search, "--seed", "-1")
    assert err == "robnas: error: --seed needs a whole number in 0..4294967295, got -1"


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("population_size=1e9", "bad --param for searcher re: population_size must be an integer in 1..6466, "
                                "got 1000000000.0 (float)"),
        ("population_size=abc", "population_size must be an integer in 1..6466, got 'abc' (str)"),
        ("sample_size=31", "sample_size must be an integer in 1..30 (population_size), got 31"),
        ("population_size=\u0661\u0660", "population_size must be an integer in 1..6466, got '١٠' (str)"),
    ],
)
def test_searcher_parameters_are_checked_before_any_record(capsys, search, tmp_path, param, message) -> None:
    assert message in _error(capsys, *search, "--param", param)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("searcher", "param", "message"),
    [
        ("ls", "num_init=0", "num_init must be an integer in 1..6466, got 0"),
        ("bo", "n_startup_trials=-3", "n_startup_trials must be an integer in 0..6466, got -3"),
        ("bo", "max_repeats=-1", "max_repeats must be an integer >= 1, got -1"),
        ("random", "population_size=3", "searcher random has no parameter 'population_size'; valid: none"),
    ],
)
def test_each_searchers_parameters(capsys, search, searcher, param, message) -> None:
    assert message in _error(capsys, *search, "--searcher", searcher, "--param", param)


def test_the_same_param_twice_is_refused(capsys, search) -> None:
    err = _error(capsys, *search, "--param", "population_size=5", "--param", "population_size=6")
    assert "--param population_size given twice (5 and 6)" in err
    err = _error(capsys, *search, "--param", "sample_size=3,population_size=5,population_size=6")
    assert "--param population_size given twice (5 and 6)" in err  # joined by commas, as compare -s


def test_an_unreachable_min_clean_is_refused_with_the_best_clean_accuracy(capsys, search, release_root) -> None:
    document = json.loads((release_root / "cifar10" / "clean_accuracy.json").read_text())
    best = max(document["cifar10"]["clean"]["accuracy"].values())
    err = _error(capsys, *search, "--min-clean", "0.99")
    assert err == (f"robnas: error: --min-clean 0.99: no cell of the cifar10 table has clean accuracy >= 0.99 "
                   f"(the best has {best:.4g}); lower --min-clean")
    assert "budget" not in err


@pytest.mark.parametrize("value", ["", "\u0661\u0660", "10.0", "1e2", " 10"])
def test_budget_takes_plain_ascii_whole_numbers(capsys, search, value) -> None:
    err = _error(capsys, *search, "--budget", value)
    assert err == f"robnas: error: --budget needs a whole number in 1..{CLASS_COUNT}, got {value!r}"


def test_empty_values_are_not_silently_defaulted(capsys, search) -> None:
    assert "invalid choice: ''" in _error(capsys, *search, "--searcher", "")
    assert "--out needs a folder, got ''" in _error(capsys, *search, "--out", "")
    assert "empty objective" in _error(capsys, "search", "-O", "", *search[3:])


def test_compare_refuses_absurd_seeds_before_planning(capsys, release_root, tmp_path) -> None:
    err = _error(capsys, "compare", "-O", "clean", "--seeds", "100000000000", "--data", str(release_root),
                 "--out", str(tmp_path / "cmp"))
    assert err == "robnas: error: --seeds needs a whole number in 1..10000, got 100000000000"
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["-O", "pgd@1/255", "-O", "clean", "--multi", "--searchers", "random,re"],
     "searcher 're' takes one objective; with two or three use one of random, nsga2, motpe, pls, parego, hvi"),
    (["-O", "pgd@1/255", "--searcher", "hvi:num_init=3"],
     "searcher 'hvi' takes two or three objectives; with one use one of random, re, ls, bo, predictor"),
    (["-O", "pgd@1/255", "--searchers", "zz"],
     "--searchers: unknown searcher 'zz'; choose from random, re, ls, bo, predictor"),
])
def test_compare_names_a_searcher_of_the_other_kind(capsys, release_root, tmp_path, argv, message) -> None:
    err = _error(capsys, "compare", *argv, "--seeds", "1", "--budget", "3", "--data", str(release_root),
                 "--out", str(tmp_path / "cmp"))
    assert err == f"robnas: error: {message}"
    assert not (tmp_path / "cmp").exists()


def test_compare_checks_its_output_before_printing(capsys, release_root, tmp_path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    err = _error(capsys, "compare", "-O", "clean", "--seeds", "1", "--budget", "2", "--data", str(release_root),
                 "--out", str(target))
    assert err == f"robnas: error: --out {target} is a file, not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into chmod 555 folders; the generated test uses /sys")
def test_a_read_only_output_folder(capsys, release_root, tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        err = _error(capsys, "table", "-O", "clean", "-o", str(folder / "t.csv"), "--data", str(release_root))
    finally:
        folder.chmod(0o755)
    assert "cannot write in" in err and list(folder.iterdir()) == []


# -- output format from the suffix -------------------------------------------------------------------
@pytest.mark.parametrize(("command", "name", "reader"), [
    (["space"], "cells.csv", pd.read_csv),
    (["space"], "cells.parquet", pd.read_parquet),
    (["table", "-O", "clean"], "t.parquet", pd.read_parquet),
    (["table", "-O", "clean"], "t.CSV", pd.read_csv),
])
def test_the_format_follows_the_suffix(capsys, release_root, tmp_path, command, name, reader) -> None:
    target = tmp_path / name
    code, out, _ = _run(capsys, *command, "-o", str(target), "--data", str(release_root))
    assert code == 0 and out == ""
    assert len(reader(target)) == 15625


@pytest.mark.parametrize(("argv", "message"), [
    (["space", "-o", "cells.txt"], "cannot tell the format of -o cells.txt from its suffix"),
    (["space", "--format", "csv", "-o", "cells.parquet"], "--format csv but -o cells.parquet is named like parquet"),
    (["table", "-O", "clean", "--format", "parquet"], "--format parquet needs -o FILE"),
])
def test_a_format_that_cannot_be_told_is_refused(capsys, release_root, tmp_path, monkeypatch, argv, message) -> None:
    monkeypatch.chdir(tmp_path)
    assert message in _error(capsys, *argv, "--data", str(release_root))
    assert list(tmp_path.iterdir()) == []


# -- choices come from the code's vocabularies -----------------------------------------------------------
def _help(command: str) -> str:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return " ".join(subparsers.choices[command].format_help().split())


def test_searcher_and_dataset_choices_come_from_the_registry_and_the_enum() -> None:
    for command in ("search", "compare"):
        text = _help(command)
        assert all(name in text for name in SEARCHERS), command
    assert "random, re, ls, bo" in _help("search")
    for command in ("query", "table", "search", "verify", "compare"):
        assert ", ".join(d.value for d in Dataset) in _help(command), command
    assert f"1..{CLASS_COUNT}" in _help("search")


def test_usage_errors_are_one_line_with_a_pointer_to_help(capsys) -> None:
    assert _error(capsys, "query", "1", "-O", "clean", "--budget", "3") == (
        "robnas: error: query: unrecognized arguments: --budget 3 (see `robnas query --help`)"
    )  # the command's own help, which lists its options, not the top level's
    assert _error(capsys, "measures", "compute", "-m", "params", "--foo") == (
        "robnas: error: measures compute: unrecognized arguments: --foo (see `robnas measures compute --help`)")
    assert _error(capsys, "--foo") == "robnas: error: unrecognized arguments: --foo (see `robnas --help`)"
    assert _error(capsys, "query", "1", "-O", "clean", "--dataset") == (
        "robnas: error: query: argument --dataset: expected one argument (see `robnas query --help`)"
    )
    assert _error(capsys) == (
        "robnas: error: give a command: space, query, table, data, verify, search, compare, analyze, "
        "measures "
        "(see `robnas --help`)"
    )
