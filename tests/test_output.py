"""What the commands print: progress bars only on a terminal, values rounded like the release,
ranks among the cells that count, and no logging from libraries in the output.

Expected values are computed here from the released JSON, not taken from robnas.
"""

from __future__ import annotations

import json
import logging
import os
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from robnas.cli.main import main
from tests.terminal import run_into_log, run_on_terminal


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _released(root: Path, key: str) -> dict[str, object]:
    """Representative id -> released value(s) of ``cifar10/<key>_accuracy.json``."""
    payload = json.loads((root / "cifar10" / f"{key}_accuracy.json").read_text())
    return payload["cifar10"][key]["accuracy"]


def _pgd_means(root: Path) -> dict[str, float]:
    """Representative id -> the mean of its PGD accuracies (what ``pgd@mean`` is): of the
    decimals the release writes, exactly, then rounded once to a float."""
    text = (root / "cifar10" / "pgd@Linf_accuracy.json").read_text()
    released = json.loads(text, parse_float=Decimal)["cifar10"]["pgd@Linf"]["accuracy"]
    return {rep: float(Fraction(sum(values, Decimal(0))) / len(values)) for rep, values in released.items()}


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "ROBNAS_DATA": str(root)}


# -- query ----------------------------------------------------------------------------------------

def test_query_clean_prints_clean_once(release_root, capsys) -> None:
    code, out, _ = _run(capsys, "query", "13433", "-O", "clean", "--data", str(release_root))
    assert code == 0
    clean = _released(release_root, "clean")["13433"]
    assert [line for line in out.splitlines() if line.startswith("clean")] == [f"clean           {clean}"]


def test_query_on_a_table_without_clean_prints_no_nan(tmp_path, capsys) -> None:
    # a table built with only an attack (robnas table build --attack pgd) has no clean accuracy:
    # the text printed 'clean           nan'; --json says null
    from tests.release_fixture import representatives, synthetic_value, write_release

    root = write_release(tmp_path / "built", keys=("pgd@Linf",))
    code, out, _ = _run(capsys, "query", "5", "-O", "pgd@1/255", "--data", str(root))
    assert code == 0 and "nan" not in out
    assert f"pgd@1/255       {synthetic_value(int(representatives()[5]), 2):g}\n" in out
    assert not [line for line in out.splitlines() if line.startswith("clean")]
    code, out, _ = _run(capsys, "query", "5", "-O", "pgd@1/255", "--data", str(root), "--json")
    assert json.loads(out)["clean"] is None


def test_aggregates_print_rounded_and_json_keeps_full_precision(release_root, capsys) -> None:
    means = _pgd_means(release_root)
    value, optimum = means["13433"], max(means.values())
    assert round(optimum, 3) != optimum  # the case that printed 0.387429
    code, out, _ = _run(capsys, "query", "13433", "-O", "pgd@mean", "--data", str(release_root))
    assert code == 0
    assert f"pgd@mean        {round(value, 3):g}\n" in out
    assert f"table optimum   {round(optimum, 3):g} (index " in out
    assert not re.search(r"\d\.\d{4,}", out)  # nowhere more than three decimals
    code, out, _ = _run(capsys, "query", "13433", "-O", "pgd@mean", "--data", str(release_root),
                        "--json")
    payload = json.loads(out)
    assert (payload["value"], payload["optimum"]) == (value, optimum)


# -- search ---------------------------------------------------------------------------------------

def test_search_text_is_rounded_and_min_clean_ranks_among_feasible_cells(release_root, capsys,
                                                                         tmp_path) -> None:
    argv = ["search", "-O", "pgd@mean", "--min-clean", "0.9", "--budget", "40", "--seed", "3",
            "--data", str(release_root)]
    code, out, _ = _run(capsys, *argv, "--out", str(tmp_path / "a"), "--json")
    payload = json.loads(out)
    clean = _released(release_root, "clean")
    feasible = {rep: v for rep, v in _pgd_means(release_root).items() if clean[rep] >= 0.9}
    assert payload["optimum"] == max(feasible.values())
    assert payload["ranked_classes"] == len(feasible) < 6466
    assert payload["rank"] == 1 + sum(v > payload["best_value"] for v in feasible.values())
    unconstrained = 1 + sum(v > payload["best_value"] for v in _pgd_means(release_root).values())
    assert payload["rank"] < unconstrained  # the old, unconstrained rank would differ

    code, out, _ = _run(capsys, *argv, "--out", str(tmp_path / "b"))
    assert code == 0
    assert f"rank            {payload['rank']} of {len(feasible)} feasible classes (clean >= 0.9)" in out
    assert f"pgd@mean        {round(payload['best_value'], 3):g}\n" in out
    assert (f"regret          {round(payload['regret'], 3):g} (to the feasible optimum "
            f"{round(payload['optimum'], 3):g})") in out
    assert not re.search(r"\d\.\d{4,}", out)


def test_search_progress_bar_on_a_terminal_shows_trials_of_budget_and_best(release_root,
                                                                          tmp_path) -> None:
    code, out, err = run_on_terminal(["search", "-O", "pgd@1/255", "--budget", "300", "--seed", "0",
                                      "--out", str(tmp_path), "--json"], env=_env(release_root))
    assert code == 0 and err == ""  # --json: no bar
    final = json.loads(out)["best_value"]
    # every update drawn (tqdm reads TQDM_* defaults from the environment): without this a fast
    # run on an idle machine draws only its first frame before the bar is cleared
    every_frame = {**_env(release_root), "TQDM_MININTERVAL": "0", "TQDM_MINITERS": "1"}
    code, out, err = run_on_terminal(["search", "-O", "pgd@1/255", "--budget", "300", "--seed", "0",
                                      "--out", str(tmp_path)], env=every_frame)
    assert code == 0
    frames = [f for f in err.split("\r") if f.startswith("search:")]
    assert frames and all(re.search(r" \d+/300 \[", f) for f in frames)
    bests = [float(b) for b in re.findall(r"best (\d\.\d{3})\]", err)]
    assert bests and bests == sorted(bests) and bests[-1] <= final
    code, _, err = run_on_terminal(["search", "-O", "clean", "--budget", "50", "--seed", "0",
                                    "--out", str(tmp_path), "-q"], env=_env(release_root))
    assert code == 0 and err == ""


def test_search_writes_no_progress_frames_into_a_log_file(release_root, tmp_path) -> None:
    code, out, log = run_into_log(["search", "-O", "pgd@1/255", "--budget", "300", "--seed", "0",
                                   "--out", str(tmp_path / "runs")], tmp_path / "err.log",
                                  env=_env(release_root))
    assert code == 0 and "best arch" in out
    assert b"\r" not in log and b"search:" not in log


def test_search_with_bo_prints_no_optuna_logging(release_root, tmp_path) -> None:
    code, _, log = run_into_log(["search", "-O", "clean", "--searcher", "bo", "--budget", "12",
                                 "--seed", "0", "--out", str(tmp_path / "runs")], tmp_path / "err.log",
                                env=_env(release_root))
    assert code == 0 and log == b""
    code, _, log = run_into_log(["-vv", "search", "-O", "clean", "--searcher", "bo", "--budget", "12",
                                 "--seed", "0", "--out", str(tmp_path / "runs")], tmp_path / "err.log",
                                env=_env(release_root))
    assert code == 0 and b"A new study created" in log  # -vv lets Optuna speak


def test_the_optuna_searcher_leaves_optuna_logging_alone(cifar10_oracle) -> None:
    """A user who turned Optuna's INFO logging on keeps it: the searcher never changes it."""
    import optuna

    from robnas.loop import run_search
    from robnas.searchers import OptunaSearch

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)
            levels.add(optuna.logging.get_verbosity())

    levels: set[int] = set()
    before = optuna.logging.get_verbosity()
    handler = Keep(level=logging.DEBUG)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    logging.getLogger("optuna").addHandler(handler)
    try:
        run_search(OptunaSearch(seed=0), cifar10_oracle, "clean", 15)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        logging.getLogger("optuna").removeHandler(handler)
        optuna.logging.set_verbosity(before)
    assert any("A new study created" in r.getMessage() for r in records)
    assert levels == {optuna.logging.INFO}


# -- compare --------------------------------------------------------------------------------------

def test_compare_progress_bar_on_a_terminal_counts_runs_and_resumed_runs(release_root,
                                                                          tmp_path) -> None:
    argv = ["compare", "-O", "clean", "--searchers", "random,re", "--budget", "5", "--checkpoints",
            "5", "--out", str(tmp_path / "cmp"), "--data", str(release_root), "--jobs", "1"]
    code, _, err = run_on_terminal([*argv, "--seeds", "2"])
    assert code == 0 and "4/4" in err and "\r" in err and "ran 4 runs, 0 already done" in err
    code, _, err = run_on_terminal([*argv, "--seeds", "3"])  # two new runs, four resumed
    assert code == 0 and "6/6" in err and "ran 2 runs, 4 already done" in err


def test_compare_log_file_holds_no_progress_frames_and_no_optuna_logging(release_root,
                                                                        tmp_path) -> None:
    """stderr to a file, Optuna's TPE in two spawned worker processes."""
    argv = ["compare", "-O", "clean", "--searchers", "random,bo", "--seeds", "2", "--budget", "4",
            "--checkpoints", "4", "--out", str(tmp_path / "cmp"), "--data", str(release_root),
            "--jobs", "2"]
    code, stdout, log = run_into_log(argv, tmp_path / "err.log")
    assert code == 0 and "### cifar10 · clean" in stdout
    assert b"ran 4 runs, 0 already done" in log
    assert b"\r" not in log and b"compare:" not in log
    assert b"A new study created" not in log and b"[I " not in log
