"""Several hundred generated bad inputs, across every command: one line, exit code 2, nothing written.

Each case starts from a command line that works (or would, given live weights) and spoils one
thing: an empty string, a negative or huge number, a non-number, non-ASCII digits, an unknown
name, a folder or a read-only place where a file is written, a searcher parameter that makes no
sense, ... Every case runs in-process through :func:`robnas.cli.main.main` and must end with
exit code 2, exactly one ``robnas: error:`` line on stderr (and nothing else there), no
traceback, no file created in its working folder, and the shared run record left byte-identical.

Placeholders in the generated argv: ``{data}`` the real release (``ROBNAS_TEST_DATA``),
``{tmp}`` the case's empty working folder, ``{file}`` an existing file there, ``{dir}`` an
existing empty folder there, ``{missing}`` a path that does not exist, ``{ro}`` a folder
nobody may write to (a ``chmod 555`` folder, or ``/sys/fs`` when the tests run as root, for
whom permission bits do not apply), ``{run}`` a finished run record shared by the session.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from robnas.cli.main import main

# -- value pools ---------------------------------------------------------------------------------
NOT_INTEGERS = ["", " ", "abc", "1.5", "1e3", "nan", "inf", "-inf", "0x10", "10 10", "١٠", "１０", "٣"]
"""Texts that are not a whole number written in ASCII digits."""
NOT_NUMBERS = ["", " ", "abc", "nan", "inf", "-inf", "0,5", "٠.٥", "１"]
HUGE = ["99999999999999999999999", "1" + "0" * 40]
NEGATIVE = ["-1", "-100"]

BAD_OBJECTIVES = [
    "", " ", "@", "@@", "xyz", "pgd", "pgd@", "pgd@/255", "pgd@1/", "pgd@1/254", "pgd@7/255",
    "pgd@-1/255", "pgd@nan/255", "pgd@inf/255", "pgd@1e400/255", "pgd@٣/255", "pgd@１/255",
    "pgd@mean@mean", "pgd@1/255@1", "clean@1/255", "clean@mean", "clean@3", "fog@0", "fog@6",
    "fog@1.5", "fog@٣", "fog@abc", "adversarial@1/255", "corruption@3", "mean@pgd",
    "pgd@Linf", "fgsm@mean/255", "square@1/255/255", "pgd@1_0/255", "fog@-1",
]
BAD_DATASETS = ["", " ", "mnist", "cifar", "cifar١٠", "imagenet32", "cifar100"]
"""``cifar100`` is a valid name, but the test release does not hold it: the error names it."""
BAD_DATA = ["", "{missing}", "{file}", "{dir}"]
BAD_FILE_OUTPUTS = ["", "{dir}", "{tmp}/", "{ro}/out.csv", "{missing}/out.csv", "{file}/out.csv"]
BAD_DIR_OUTPUTS = ["", "{file}", "{ro}", "{ro}/sub", "{file}/sub"]
BAD_ARCHS = [
    "", " ", "-1", "15625", "99999999999999999999", "1.5", "abc", "١٢", "0x10",
    "|bad~0|", "|nor_conv_3x3~0|", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~3|",
]

BAD_PARAMS: dict[str, list[str]] = {
    "random": ["foo=1", "population_size=3"],
    "re": [
        "population_size=0", "population_size=-1", "population_size=1e9", "population_size=abc",
        "population_size=1.5", "population_size=nan", "population_size=inf", "population_size=true",
        "population_size=", "population_size=99999999999999999999", "population_size=١٠",
        "sample_size=0", "sample_size=31", "sample_size=-2", "sample_size=abc", "sample_size=2.0",
        "variant=first",
    ],
    "ls": [
        "num_init=0", "num_init=-1", "num_init=abc", "num_init=1.5", "num_init=1e9", "num_init=none",
        "num_init=99999", "variant=middle", "variant=", "variant=1", "variant=BEST", "sampler=tpe",
    ],
    "bo": [
        "n_startup_trials=-3", "n_startup_trials=abc", "n_startup_trials=1.5", "n_startup_trials=1e9",
        "max_repeats=-1", "max_repeats=0", "max_repeats=abc", "max_repeats=2.5", "sampler=cmaes",
        "sampler=", "sampler=1", "sampler=none", "num_init=3", "storage=", "storage=nosuchdb://x",
        "storage=sqlite:///{missing}/optuna.db", "study_name=",
    ],
    "predictor": [
        "surrogate=svm", "surrogate=", "surrogate=1", "acquisition=pi", "acquisition=none",
        "n_estimators=0", "n_estimators=-1", "n_estimators=2.5", "n_estimators=1001", "n_estimators=abc",
        "num_init=0", "num_init=1e9", "num_init=99999", "refit_every=0", "refit_every=1.5",
        "refit_every=abc", "kappa=-1", "kappa=nan", "kappa=inf", "kappa=abc", "kappa=true",
        "prior=", "prior=nope", "prior=3", "prior=synflow", "prior={missing}.csv", "prior={file}",
        "prior={dir}", "warmup=params", "variant=first", "local=-1", "local=6", "local=abc",
        "local_top=0", "features=paths", "features=", "explore=-1", "explore=6", "late_from=-1",
        "late_from=abc", "late_local=6", "late_explore=-1", "late_explore=1.5", "refit_every=1"
    ],
}
WARMUP_PARAMS = ["warmup=", "warmup=nope", "warmup=3", "warmup={missing}.csv", "warmup={file}",
                 "warmup={dir}", "prior=params"]
"""Bad warm starts of evolution and local search (the prior is the predictor's)."""
BAD_STORAGES = ["", " ", "nosuchdb://x", "abc", "sqlite:///{missing}/optuna.db"]
MULTI_BAD_PARAMS: dict[str, list[str]] = {
    "pls": ["num_init=0", "num_init=1.5", "variant=best", "variant=", "foo=1"],
    "parego": ["ridge=0", "ridge=-1", "ridge=nan", "explore=1.5", "explore=abc", "rho=-1", "rho=inf",
               "num_init=0"],
    "nsga2": ["population_size=1", "population_size=1.5", "population_size=1e9", "sampler=gp",
              "max_repeats=0"],
    "motpe": ["n_startup_trials=-1", "max_repeats=abc", "sampler=cmaes", "multivariate=maybe"],
    "hvi": ["surrogate=svm", "ucb=1", "features=quad", "acquisition=ei", "candidates=", "n_estimators=0",
            "refit_every=1.5", "explore=2", "margin=-1", "margin=nan", "ridge=0", "num_init=0", "prior=params"],
    "random": ["foo=1"],
}
"""Bad ``--param`` values of the multi-objective searchers (given with two objectives)."""
MALFORMED_PARAMS = ["", "=", "=1", "novalue", "seed=3", "population_size=30=1"]
BAD_SEARCHER_SPECS = ["", " ", ":", "xyz", "RE", "re:", "re:=1", "re:novalue", "re:seed=3",
                      "re:population_size=30=1", "re:population_size=20,population_size=30",
                      "re:population_size=20,", "re;warmup=params", "xyz:warmup=params",
                      "pls:num_init=3", "re:warmup=params,sample_size=99"]
"""Malformed ``compare --searcher NAME:KEY=VALUE,...`` specs."""

# -- the commands, each from a line that is valid up to live weights ------------------------------
BASES: dict[str, list[str]] = {
    "measures": ["measures", "compute", "-m", "jacov", "--archs", "representatives", "--images", "{dir}",
                 "--data", "{data}", "--store", "{tmp}/m.sqlite", "-o", "{tmp}/m.csv"],
    "space": ["space", "--format", "csv", "-o", "{tmp}/space.csv", "--data", "{data}"],
    "query": ["query", "13433", "-O", "pgd@1/255", "--data", "{data}"],
    "table": ["table", "-O", "clean", "--format", "csv", "-o", "{tmp}/t.csv", "--data", "{data}"],
    "search": ["search", "-O", "pgd@1/255", "--searcher", "re", "--budget", "5", "--seed", "0",
               "--out", "{tmp}/runs", "--data", "{data}"],
    "compare": ["compare", "-O", "pgd@1/255", "--searchers", "random", "--seeds", "1", "--budget", "5",
                "--jobs", "1", "--out", "{tmp}/cmp", "--data", "{data}", "-q"],
    "search-multi": ["search", "-O", "pgd@1/255", "-O", "clean", "--searcher", "pls", "--budget", "5",
                     "--seed", "0", "--out", "{tmp}/runs", "--data", "{data}"],
    "compare-multi": ["compare", "-O", "pgd@1/255,params", "--searchers", "pls", "--seeds", "1",
                      "--budget", "5", "--jobs", "1", "--out", "{tmp}/cmp", "--data", "{data}", "-q"],
    "verify": ["verify", "--arch", "13433", "-O", "pgd@1/255", "--weights", "{dir}", "--images", "{dir}",
               "--n-images", "10", "--data", "{data}"],
    "download": ["data", "download", "--datasets", "cifar10", "--base-url", "http://127.0.0.1:9/",
                 "--retries", "1", "--dest", "{tmp}/data", "--no-progress"],
    "import": ["data", "import", "{missing}", "--dest", "{tmp}/data"],
    "info": ["data", "info", "--data", "{data}"],
    "analyze": ["analyze", "-O", "clean", "--out", "{tmp}/analysis", "--data", "{data}"],
}


def _with(base: list[str], option: str, value: str) -> list[str]:
    """``base`` with ``option``'s value replaced by ``value`` (appended when absent)."""
    argv = list(base)
    if option in argv:
        argv[argv.index(option) + 1] = value
        return argv
    return [*argv, option, value]


def _without(base: list[str], option: str) -> list[str]:
    argv = list(base)
    if option in argv:
        at = argv.index(option)
        del argv[at : at + 2]
    return argv


def _option_cases() -> Iterator[tuple[str, list[str]]]:
    """(command, option, bad value) for every option of every command."""
    integers = NOT_INTEGERS + NEGATIVE + HUGE + ["0"]
    plan: dict[str, dict[str, list[str]]] = {
        "space": {"-o": BAD_FILE_OUTPUTS, "--data": BAD_DATA},
        "query": {"-O": BAD_OBJECTIVES, "--dataset": BAD_DATASETS, "--data": BAD_DATA},
        "table": {"-O": BAD_OBJECTIVES, "--dataset": BAD_DATASETS, "--data": BAD_DATA,
                  "-o": BAD_FILE_OUTPUTS},
        "search": {
            "-O": BAD_OBJECTIVES, "--dataset": BAD_DATASETS, "--data": BAD_DATA,
            "--budget": [*integers, "6467"], "--seed": NOT_INTEGERS + NEGATIVE + HUGE + ["4294967296"],
            "--searcher": ["", " ", "xyz", "RE", "re,ls", "random search"],
            "--min-clean": [*NOT_NUMBERS, "-0.1", "1.5", "0.99", "1e400"],
            "--mode": ["", "xyz", "LIVE", "table"], "--out": BAD_DIR_OUTPUTS,
            "--resume": ["", "{missing}", "{file}", "{dir}"],
            "--max-params": [*NOT_NUMBERS, "0", "-1", "1e400"], "--max-flops": [*NOT_NUMBERS, "0", "-1"],
            "--workers": [*integers, "1025"],
        },
        "compare": {
            "-O": BAD_OBJECTIVES, "--dataset": BAD_DATASETS, "--data": BAD_DATA,
            "--budget": [*integers, "6467"], "--seeds": [*integers, "100000000000"],
            "--searchers": ["", ",", " , ", "xyz", "random,xyz", "RE", "random;re"],
            "--jobs": integers, "--out": BAD_DIR_OUTPUTS,
            "--formats": ["", ",", "gif", "png,gif", "PNG;pdf"],
            "--checkpoints": ["", ",", "0", "-1", "abc", "10,abc", "1.5", "١٠", HUGE[0]],
            "--metric": ["", "regrets", "best"],
        },
        "verify": {
            "-O": BAD_OBJECTIVES, "--dataset": BAD_DATASETS, "--data": BAD_DATA,
            "--top": integers, "--n-images": integers, "--batch-size": integers,
            "--pgd-steps": integers, "--arch": BAD_ARCHS, "--weights": ["", "{missing}", "{file}"],
            "--images": ["", "{missing}", "{file}"], "--device": ["", "gpu7", "xyz", "cuda:abc"],
        },
        "download": {
            "--datasets": ["", ",", "mnist", "cifar10,mnist", "cifar١٠"],
            "--measures": ["", ",", "xyz", "accuracy,xyz"],
            "--retries": integers, "--dest": ["", "{file}", "{ro}", "{file}/sub"],
            "--base-url": ["", "not a url", "ftp://127.0.0.1/", "http://"],
        },
        "import": {"--dest": ["", "{file}", "{ro}", "{file}/sub"]},
        "analyze": {
            "-O": BAD_OBJECTIVES, "--dataset": BAD_DATASETS, "--data": BAD_DATA, "--out": BAD_DIR_OUTPUTS,
            "--top-percent": [*NOT_NUMBERS, "0", "-1", "101", "1e400"],
            "--formats": ["", ",", "gif", "png,gif", "PNG;pdf"],
        },
        "measures": {
            "-m": ["", " ", "xyz", "JACOV", "no_module:fn", "os:sep"], "--archs": ["", "{missing}", "{dir}"],
            "--batch-size": integers, "--seed": NOT_INTEGERS + NEGATIVE + HUGE, "--jobs": integers,
            "--images": ["", "{missing}", "{file}"], "--weights": ["", "{missing}", "{file}"],
            "--dataset": BAD_DATASETS, "--data": BAD_DATA, "-o": BAD_FILE_OUTPUTS,
            "--hessian-iterations": integers, "--hessian-tolerance": [*NOT_NUMBERS, "-1", "2"],
        },
        "info": {"--data": ["", "{missing}", "{file}"]},
    }
    for command, options in plan.items():
        for option, values in options.items():
            for value in values:
                yield command, _with(BASES[command], option, value)


def _param_cases() -> Iterator[tuple[str, list[str]]]:
    for name, params in BAD_PARAMS.items():
        extra = WARMUP_PARAMS if name in ("re", "ls") else []
        for param in params + extra + MALFORMED_PARAMS:
            yield "search", [*_with(BASES["search"], "--searcher", name), "--param", param]
    compare = BASES["compare"]
    for name, params in BAD_PARAMS.items():  # the same values as compare --searcher specs
        extra = WARMUP_PARAMS if name in ("re", "ls") else []
        for param in params + extra:
            yield "compare", [*compare, "--searcher", f"{name}:{param}"]
    for spec in BAD_SEARCHER_SPECS:
        yield "compare", [*compare, "-s", spec]
    bo = _with(BASES["search"], "--searcher", "bo")
    for storage in BAD_STORAGES:
        yield "search", [*bo, "--storage", storage]
    yield "search", [*BASES["search"], "--storage", "sqlite:///{tmp}/optuna.db"]  # not bo


def _multi_cases() -> Iterator[tuple[str, list[str]]]:
    """Multi-objective search and compare (several -O, objective groups, their searchers)."""
    search, compare = BASES["search-multi"], BASES["compare-multi"]
    for name, params in MULTI_BAD_PARAMS.items():
        for param in params:
            yield "search", [*_with(search, "--searcher", name), "--param", param]
    for objective in [*BAD_OBJECTIVES[:12], "clean:best", "params:up", "pgd@1/255", "clean,"]:
        yield "search", [*search, "-O", objective]  # a third objective that is wrong
        yield "compare", _with(compare, "-O", f"pgd@1/255,{objective}")
    for option, values in {"--budget": ["0", "abc", "6467"], "--seed": ["-1", "1.5"],
                           "--searcher": ["re", "bo", "xyz"], "--out": BAD_DIR_OUTPUTS,
                           "--dataset": ["mnist", "cifar100"], "--min-clean": ["0.5", "abc"]}.items():
        for value in values:
            yield "search", _with(search, option, value)
    yield from [
        ("search", [*search, "-O", "flops", "-O", "params"]),  # four objectives
        ("search", _with(search, "-O", "clean")),  # clean twice
        ("search", _with(search, "-O", "params:max,params")),
        ("search", [*_with(search, "-O", "fog@2"), "--dataset", "ImageNet16-120"]),
        ("search", ["search", "-O", "pgd@1/255,", "--searcher", "pls", "--data", "{data}"]),
        ("search", ["search", "-O", "clean", "--searcher", "parego", "--data", "{data}"]),
        ("search", [*search, "--storage", "sqlite:///{tmp}/optuna.db"]),  # bo's single-objective study
        ("search", ["search", "--resume", "{run}", "-O", "pgd@1/255", "-O", "clean"]),
        ("compare", [*compare, "-O", "clean"]),  # a group and a single objective
        ("compare", _with(compare, "--searchers", "re")),
        ("compare", _with(compare, "--searchers", "pls,xyz")),
        ("compare", [*_with(compare, "-O", "pgd@1/255"), "--multi"]),  # one objective
        ("compare", [*_with(compare, "-O", "pgd@1/255"), "-O", "clean", "-O", "flops", "-O", "params",
                     "--multi"]),
        ("compare", [*_with(compare, "-O", "pgd@1/255,fog@2"), "--dataset", "ImageNet16-120"]),
        ("compare", ["compare", "--from", "{dir}", "--multi"]),
    ]


def _whole_line_cases() -> Iterator[tuple[str, list[str]]]:
    """Spoilt command lines that no single option substitution gives."""
    search, compare = BASES["search"], BASES["compare"]
    yield from [
        ("space", ["space", "-o", "{tmp}/space.txt", "--data", "{data}"]),
        ("space", ["space", "-o", "{tmp}/space", "--data", "{data}"]),
        ("space", ["space", "--format", "parquet", "--data", "{data}"]),
        ("space", ["space", "--format", "xml"]),
        ("space", ["space", "--format", "parquet", "-o", "{tmp}/space.csv", "--data", "{data}"]),
        ("query", ["query", "-O", "clean", "--data", "{data}"]),
        ("query", ["query", "1", "--data", "{data}"]),
        ("query", ["query", "1", "2", "-O", "clean", "--data", "{data}"]),
        ("query", ["query", "1", "-O", "fog@2", "--dataset", "ImageNet16-120", "--data", "{data}"]),
        ("query", ["query", "1", "-O", "clean", "-O", "fog@9", "--data", "{data}"]),  # one of several -O off the grid
        ("query", ["query", "1", "-O", "clean", "--bogus", "--data", "{data}"]),
        ("table", ["table", "--data", "{data}"]),
        ("table", ["table", "-O", "clean", "--format", "parquet", "--data", "{data}"]),
        ("table", ["table", "-O", "clean", "--format", "xls", "--data", "{data}"]),
        ("table", ["table", "-O", "clean", "-O", "fog@9", "-o", "{tmp}/t.csv", "--data", "{data}"]),
        ("table", ["table", "-O", "clean", "--format", "csv", "-o", "{tmp}/t.parquet", "--data", "{data}"]),
        ("search", _without(search, "-O")),
        ("search", [*search, "--resume", "{run}"]),
        ("search", ["search", "--resume", "{run}", "--budget", "2"]),
        ("search", ["search", "--resume", "{run}", "--budget", "0"]),
        ("search", ["search", "--resume", "{run}", "--seed", "5"]),
        ("search", ["search", "--resume", "{run}", "--seed", "-1"]),
        ("search", ["search", "--resume", "{run}", "--searcher", "ls"]),
        ("search", ["search", "--resume", "{run}", "-O", "clean"]),
        ("search", ["search", "--resume", "{run}", "--param", "population_size=4"]),
        ("search", ["search", "--resume", "{run}", "--param", "population_size=abc"]),
        ("search", ["search", "--resume", "{run}", "--dataset", "mnist"]),
        ("search", ["search", "--resume", "{run}", "--min-clean", "abc"]),
        ("search", [*search, "--mode", "live"]),
        ("search", [*search, "--mode", "live", "--weights", "{missing}", "--images", "{missing}"]),
        ("search", [*_with(search, "-O", "clean"), "--min-clean", "0.99"]),
        ("search", [*_with(search, "-O", "pgd@8/255"), "--min-clean", "0.96"]),
        ("search", [*search, "--seed", "1"]),
        ("search", ["search", "--resume", "{run}", "--workers", "3"]),  # the run has 1 worker
        ("search", [*search, "--workers", "2", "--executor", "ray"]),  # tabular: nothing to execute
        ("search", [*search, "--workers", "2", "--ray-address", "auto"]),
        ("search", [*search, "--workers", "2", "--gpus-per-task", "0.5"]),
        ("search", [*search, "--executor", "dask"]),
        ("compare", _without(compare, "-O")),
        ("compare", [*compare, "--from", "{tmp}/cmp"]),
        ("compare", ["compare", "--from", "{missing}"]),
        ("compare", ["compare", "--from", "{file}"]),
        ("compare", ["compare", "--from", "{dir}"]),
        ("compare", ["compare", "--from", ""]),
        ("compare", [*compare, "--dataset", "cifar10", "--dataset", "mnist"]),
        ("compare", [*compare, "-O", "fog@2", "--dataset", "ImageNet16-120"]),
        ("verify", ["verify", "--weights", "{dir}", "--images", "{dir}", "--data", "{data}"]),
        ("verify", ["verify", "{missing}", "--weights", "{dir}", "--images", "{dir}", "--data", "{data}"]),
        ("verify", ["verify", "{file}", "--weights", "{dir}", "--images", "{dir}", "--data", "{data}"]),
        ("verify", ["verify", "{dir}", "--weights", "{dir}", "--images", "{dir}", "--data", "{data}"]),
        ("verify", ["verify", "{run}", "--arch", "1", "--weights", "{dir}", "--images", "{dir}"]),
        ("verify", ["verify", "{run}", "--top", "0", "--weights", "{dir}", "--images", "{dir}"]),
        ("verify", ["verify", "{run}", "-O", "fog@9", "--weights", "{dir}", "--images", "{dir}"]),
        ("verify", ["verify", "--arch", "1", "--weights", "{dir}", "--images", "{dir}", "--data", "{data}"]),
        ("measures", ["measures"]),
        ("measures", ["measures", "frobnicate"]),
        ("measures", ["measures", "compute", "-m", "synflow", "--archs", "{file}", "--data", "{data}"]),
        ("measures", ["measures", "correlate", "--scores", "{missing}", "--data", "{data}"]),
        ("measures", ["measures", "correlate", "--scores", "{file}", "--data", "{data}"]),
        ("measures", ["measures", "correlate", "--scores", "{dir}", "--data", "{data}"]),
        ("measures", ["measures", "correlate", "-m", "synflow", "--data", "{data}", "--store", "{tmp}/m.sqlite",
                      "--bootstrap", "-1"]),
        ("measures", ["measures", "correlate", "-m", "synflow", "-O", "fog@9", "--data", "{data}"]),
        ("measures", ["measures", "correlate", "-m", "synflow", "--data", "{data}", "--out", "{file}"]),
        ("measures", ["measures", "predict", "-m", "synflow", "--data", "{data}", "--seeds", "0"]),
        ("measures", ["measures", "predict", "-m", "synflow", "--data", "{data}", "--trees", "abc"]),
        ("data", ["data"]),
        ("data", ["data", "frobnicate"]),
        ("import", ["data", "import", "", "--dest", "{tmp}/data"]),
        ("import", ["data", "import", "{file}", "--dest", "{tmp}/data"]),
        ("import", ["data", "import", "{dir}", "--dest", "{tmp}/data"]),
        ("robnas", ["frobnicate"]),
        ("robnas", ["--bogus"]),
        ("robnas", []),
    ]


def generated_cases() -> list[tuple[str, list[str]]]:
    """Every generated case as ``(command, argv with placeholders)``, without duplicates."""
    seen: set[tuple[str, ...]] = set()
    cases = []
    for command, argv in (*_option_cases(), *_param_cases(), *_multi_cases(), *_whole_line_cases()):
        if tuple(argv) not in seen:
            seen.add(tuple(argv))
            cases.append((command, argv))
    return cases


CASES = generated_cases()


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(release_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real finished run record (re, budget 3) for the --resume and verify cases."""
    out = tmp_path_factory.mktemp("bad-input-runs")
    code = main(["search", "-O", "pgd@1/255", "--searcher", "re", "--budget", "3", "--seed", "0",
                 "--out", str(out), "--data", str(release_root), "--json"])
    assert code == 0
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


@pytest.fixture(scope="module")
def read_only_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder no file can be created in, for this user."""
    if os.geteuid() == 0:  # root ignores permission bits; sysfs refuses new files even to root
        yield Path("/sys/fs")
        return
    folder = tmp_path_factory.mktemp("read-only")
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def _tree(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` (folders as ``<dir>``)."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        found[relative] = "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


HANG_SECONDS = 60
"""A liveness guard, not a speed target: a bad input must be refused, never retried forever."""


def _hung(_signum: int, _frame: object) -> None:
    raise AssertionError(f"no answer after {HANG_SECONDS} s: the input was not refused")


def _id(case: tuple[str, list[str]]) -> str:
    command, argv = case
    shown = " ".join(a if a else "''" for a in argv[1:] if a not in ("{data}", "--data"))
    return f"{command}: {shown}"[:120]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case, release_root, finished_run, read_only_dir, tmp_path, capsys, monkeypatch
) -> None:
    _command, template = case
    work = tmp_path / "work"
    work.mkdir()
    (work / "existing.txt").write_text("keep me\n")
    (work / "folder").mkdir()
    places = {
        "{data}": str(release_root), "{tmp}": str(work), "{file}": str(work / "existing.txt"),
        "{dir}": str(work / "folder"), "{missing}": str(tmp_path / "no-such-place"),
        "{ro}": str(read_only_dir), "{run}": str(finished_run),
    }
    argv = []
    for arg in template:
        for placeholder, value in places.items():
            arg = arg.replace(placeholder, value)
        argv.append(arg)
    monkeypatch.chdir(work)
    before, run_before = _tree(work), _tree(finished_run)
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(HANG_SECONDS)
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's own exits
        code = exit_info.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    _out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, f"exit {code}; stderr: {err!r}"
    assert "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("robnas: error: "), f"stderr: {err!r}"
    assert len(lines[0]) > len("robnas: error: ") + 10, f"too terse: {lines[0]!r}"
    assert _tree(work) == before, "a file was created or changed"
    assert _tree(finished_run) == run_before, "the run record was changed"
    assert not (tmp_path / "no-such-place").exists()


def test_the_generator_covers_every_command_with_several_hundred_inputs() -> None:
    from robnas.cli.main import COMMAND_MODULES

    commands = {c for c, _ in CASES}
    every = {m.rsplit(".", 1)[1].removesuffix("_cmd") for m in COMMAND_MODULES}
    assert every - {"data"} <= commands and {"download", "import", "info"} <= commands
    assert len(CASES) >= 400
