from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from robnas.cli.main import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_prints_value_rank_and_optimum(release_root, capsys) -> None:
    code, out, _ = _run(capsys, "query", "13433", "--objective", "pgd@1/255", "--data", str(release_root))
    assert code == 0
    assert "pgd@1/255       0.336" in out
    assert "clean           0.893" in out
    assert "table optimum   0.588" in out


def test_query_json_by_string_and_isomorph(release_root, capsys) -> None:
    from robnas.benchmark import TabularOracle

    oracle = TabularOracle(data=release_root)
    member = int(next(i for i in range(15625) if oracle.meta.representative[i] != i))
    text = oracle.parse_arch(member).to_string()
    code, out, _ = _run(capsys, "query", text, "-O", "clean", "--data", str(release_root), "--json")
    payload = json.loads(out)
    assert code == 0
    assert payload["index"] == member
    assert payload["representative"] == int(oracle.meta.representative[member])
    assert payload["value"] == oracle.value(payload["representative"], "clean")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "13433", "-O", "pgd@7/255"], "valid choices: pgd@0.1/255"),
        (["query", "99999", "-O", "clean"], "NB201 index must be in 0..15624"),
        (["query", "|bad~0|", "-O", "clean"], "not an NB201 string"),
        (["query", "1", "-O", "clean", "--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["query", "1", "-O", "fog@2", "--dataset", "ImageNet16-120"], "ImageNet16-120 has no corruption results"),
        (["table", "-O", "clean", "--format", "parquet"], "needs -o FILE"),
        (["query", "1", "-O", "params:min"],
         "'params:min': a direction (:min) belongs to a multi-objective search (-O twice); give 'params'"),
        (["search", "-O", "pgd@1/255:min", "--budget", "3"],
         "'pgd@1/255:min': a direction (:min) belongs to a multi-objective search (-O twice); give 'pgd@1/255'"),
        (["query", "1", "-O", "fog@3:MAX"], "'fog@3:MAX': a direction (:max) belongs to a multi-objective"),
        (["query", "1", "-O", "clean", "-O", "CLEAN"], "objective clean is given twice; give it once"),
        (["table", "-O", "pgd@1/255", "-O", "PGD@1/255"], "objective pgd@1/255 is given twice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(release_root, capsys, argv, message) -> None:
    code, _out, err = _run(capsys, *argv, "--data", str(release_root))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "command", [["verify", "--arch", "1", "--weights", "w", "--images", "i"]]
)
def test_a_single_objective_option_given_twice_is_refused(command, capsys) -> None:
    assert main([*command, "-O", "clean", "--objective", "pgd@1/255"]) == 2
    assert "argument --objective/-O: given twice ('clean' and 'pgd@1/255')" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "option"), [
    (["table", "-O", "clean", "-o", "a.csv", "-o", "b.csv"], "-o/--output"),
    (["space", "-o", "a.csv", "--output", "b.csv"], "-o/--output"),
    (["compare", "-O", "clean", "--seeds", "2", "--seeds", "3"], "--seeds"),
    (["compare", "-O", "clean", "--out", "a", "--out", "b"], "--out"),
    (["analyze", "--dataset", "cifar10", "--dataset", "ImageNet16-120"], "--dataset"),  # the default first
    (["search", "-O", "clean", "--budget", "5", "--budget", "6"], "--budget"),
    # a flag and its --no- form: the last one silently won
    (["analyze", "--exclude-degenerate", "--no-exclude-degenerate"], "--exclude-degenerate/--no-exclude-degenerate"),
    (["data", "download", "--no-progress", "--progress", "--dest", "d"], "--progress/--no-progress"),
])
def test_every_one_value_option_given_twice_is_refused(argv, option, capsys, tmp_path, monkeypatch) -> None:
    """In every command (argparse's default action is StoreOnce), even where the first value
    equals the default: the last one silently winning would run something else than was read."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: given twice" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_no_data_says_how_to_get_it(capsys, tmp_path) -> None:
    code, _, err = _run(capsys, "query", "1", "-O", "clean")
    assert code == 2
    assert "robnas data download" in err


def test_table_parquet_and_csv(release_root, capsys, tmp_path) -> None:
    target = tmp_path / "t.parquet"
    code, _, _ = _run(capsys, "table", "-O", "clean", "-O", "pgd@mean", "--format", "parquet",
                      "-o", str(target), "--data", str(release_root))
    assert code == 0
    frame = pd.read_parquet(target)
    plain = tmp_path / "plain"  # a file written with -o gets the mode any new file gets here
    plain.write_text("")
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    assert frame.shape == (15625, 5)
    assert frame["nb201_index"].tolist() == list(range(15625))
    assert frame.loc[13433, "clean"] == 0.893
    code, out, _ = _run(capsys, "table", "-O", "fgsm@0.5/255", "--dataset", "ImageNet16-120",
                        "--data", str(release_root))
    assert code == 0 and out.splitlines()[0] == "nb201_index,arch,representative,fgsm@0.5/255"
    assert len(out.splitlines()) == 15626


def test_table_output_through_a_link_or_into_a_pipe_is_written_not_replaced(release_root, capsys,
                                                                          tmp_path) -> None:
    """-o writes atomically (a temporary renamed over the file): through a symbolic link the
    link's target is written and the link stays; a named pipe is written into, so a reader gets
    the rows and the pipe is still a pipe (a rename over it would turn both into plain files)."""
    import os
    import stat
    import threading

    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    code, _, _ = _run(capsys, "table", "-O", "clean", "-o", str(link), "--data", str(release_root))
    assert code == 0 and link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().splitlines()[0] == "nb201_index,arch,representative,clean"
    assert len(target.read_text().splitlines()) == 15626

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    code, _, _ = _run(capsys, "table", "-O", "clean", "-o", str(fifo), "--data", str(release_root))
    reader.join(timeout=60)
    assert code == 0 and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert len(received[0].splitlines()) == 15626
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "pipe.csv", "real.csv"]


def test_space_facts_and_export(release_root, capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, "space")
    assert code == 0 and "6466" in out and "15625" in out
    target = tmp_path / "space.csv"
    code, _, _ = _run(capsys, "space", "--format", "csv", "-o", str(target), "--data", str(release_root))
    frame = pd.read_csv(target)
    assert len(frame) == 15625 and list(frame.columns)[:2] == ["nb201_index", "arch"]
    assert (frame["representative"] == frame["robnas_representative"]).all()
    assert frame["is_representative"].sum() == 6466


@pytest.mark.parametrize("command", [["query"], ["table"], ["space"], ["search"], ["compare"], ["data"],
                                     ["verify"], ["analyze"], ["table", "build"], ["measures"],
                                     ["measures", "compute"]])
def test_help_text_is_wrapped(command: list[str], capsys, monkeypatch) -> None:
    # the raw formatter kept a description typed as one string on one line of 130-400 characters
    monkeypatch.setenv("COLUMNS", "90")
    code, out, _ = _run(capsys, *command, "--help")
    assert code == 0
    prose, _, examples = out.partition("example")  # an example command may be long
    assert len(prose.splitlines()) > 3 and max(len(line) for line in prose.splitlines()) <= 90
    if command != ["measures", "compute"]:  # which has none
        assert examples.splitlines()[1].startswith("  robnas ")  # examples kept as typed, one a line


def test_python_dash_m_and_help_stay_light() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['robnas', '--help']\n"
        "try:\n    runpy.run_module('robnas', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('NUMPY', 'numpy' in sys.modules)\n"
        "import robnas.execution, robnas.compare.pool\n"
        "heavy = [m for m in ('torch', 'pandas', 'optuna', 'torchattacks', 'matplotlib', 'scipy', 'ray')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "usage: robnas" in out
    assert "HEAVY []" in out
    assert "NUMPY False" in out  # --help imported NumPy (and the loop) for one constant: 0.14 s of 0.28


def test_query_path_does_not_import_pandas(release_root) -> None:
    code = (
        "import sys\nfrom robnas.cli.main import main\n"
        f"main(['query', '13433', '-O', 'pgd@1/255', '--data', {str(release_root)!r}])\n"
        "print('HEAVY', [m for m in ('torch', 'pandas', 'pyarrow', 'optuna') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_space_json_states_the_facts(capsys) -> None:
    import itertools
    import json

    from robnas.arch import NUM_OPS, Arch
    from robnas.isomorphism import class_code

    assert main(["space", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    every = [Arch(ops) for ops in itertools.product(range(NUM_OPS), repeat=6)]
    assert facts["cells"] == len(every) and facts["classes"] == len({class_code(a) for a in every})
    assert facts["neighbours_per_cell"] == len(every[0].neighbours()) and len(facts["edges"]) == 6
    assert main(["space", "--json", "-o", "x.csv"]) == 2


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("argv", [["table", "-O", "clean"], ["query", "0", "-O", "clean", "--json"]])
def test_output_to_a_full_disk_is_one_line_not_a_traceback(release_root, argv) -> None:
    """stdout on a full device (/dev/full: every write fails with ENOSPC), the large output
    failing while written and the small one only when flushed at exit: both one line, exit 1."""
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "robnas", *argv, "--data", str(release_root)],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["robnas: error: cannot write the output: No space left on device"]


@pytest.mark.parametrize(("word", "hinted"), [("pgd@1/255", True), ("params", True), ("gaussian_noise@3", True),
                                              ("bild", False), ("pgd@7/256", False)])
def test_table_with_an_objective_where_the_action_goes_says_to_name_it_with_dash_o(word, hinted, capsys) -> None:
    # `robnas table pgd@1/255` said only "invalid choice: 'pgd@1/255' (choose from 'build')"
    code, out, err = _run(capsys, "table", word)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert (f"; to export it: robnas table -O {word} " in err) is hinted


def test_help_prose_is_refilled_as_paragraphs_and_words_are_not_split_at_hyphens(capsys, monkeypatch) -> None:
    # lines wrapped by hand longer than the terminal came out ragged (a word or two a line), and
    # "NAS-Bench-201" was split at its hyphen
    monkeypatch.setenv("COLUMNS", "60")
    code, out, _ = _run(capsys, "query", "--help")
    prose = out.split("\n\n")[1]  # the description, after the usage
    lines = prose.splitlines()
    assert code == 0 and all(len(line) >= 40 for line in lines[:-1]) and max(map(len, lines)) <= 60
    assert "NAS-Bench-201" in prose.replace("\n", " ")
