"""``robnas table build``: live evaluations written in the release's layout, resumable, on Ray."""

from __future__ import annotations

import hashlib
import json

import pytest

import robnas
from robnas.arch import Arch
from robnas.benchmark import TabularOracle
from robnas.cli.main import main
from robnas.errors import DataFormatError, TableBuildError
from robnas.evaluation.cell_tasks import LiveSettings
from robnas.evaluation.live_oracle import LiveOracle
from robnas.evaluation.store import ResultStore
from robnas.evaluation.table_build import build_table, parse_attack
from robnas.execution import LocalExecutor
from tests.evaluation.dataset_fixtures import write_cifar10
from tests.evaluation.live_helpers import FAST
from tests.evaluation.nats_fixture import write_nats_archive
from tests.evaluation.table_fixture import REPRESENTATIVES, write_coarse_meta
from tests.evaluation.table_fixture import run_table_build as _build

N_IMAGES = 6
ATTACK = "fgsm@0.5,1,2"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    base = tmp_path_factory.mktemp("build")
    data = write_coarse_meta(base / "data")
    write_nats_archive(base / "weights", {r: Arch.from_code(r) for r in REPRESENTATIVES},
                       datasets=("cifar10",), epochs=(200,), seeds=(777,))
    write_cifar10(base / "images", n=N_IMAGES)
    # the expected values, measured by the live oracle itself (not the builder), rounded as
    # the release rounds
    oracle = LiveOracle("cifar10", weights=base / "weights", images=base / "images", data=data,
                        n_images=N_IMAGES, protocol=FAST, device="cpu", store=base / "expected.sqlite")
    expected = {}
    for rep in REPRESENTATIVES:
        arch = oracle.meta.arch_at(rep)
        expected[rep] = [round(oracle.value(arch, objective), 3)
                         for objective in ("clean", "fgsm@0.5/255", "fgsm@1/255", "fgsm@2/255")]
    options = ["--dataset", "cifar10", "--weights", str(base / "weights"), "--images", str(base / "images"),
               "--data", str(data), "--n-images", str(N_IMAGES), "--device", "cpu", "--pgd-steps", "5",
               "--apgd-steps", "5", "--square-queries", "10", "-q", "--json"]
    return {"base": base, "data": data, "expected": expected, "options": options}


def _files(root):
    fgsm = json.loads((root / "cifar10" / "fgsm@Linf_accuracy.json").read_text())["cifar10"]["fgsm@Linf"]["accuracy"]
    clean = json.loads((root / "cifar10" / "clean_accuracy.json").read_text())["cifar10"]["clean"]["accuracy"]
    return clean, fgsm


def test_build_in_pieces_resumes_and_reads_as_a_release(source, tmp_path, capsys):
    root, store = tmp_path / "table", tmp_path / "store.sqlite"
    first_three = tmp_path / "first.txt"
    first_three.write_text("# three of the six classes\n" + "\n".join(str(r) for r in REPRESENTATIVES[:3]) + "\n")
    common = ["--attack", ATTACK, "--out", str(root), "--store", str(store), *source["options"]]

    code, piece = _build([*common, "--archs", str(first_three), "-j", "1", "--batch-size", "2"], capsys)
    assert code == 0 and (piece["asked"], piece["evaluated"], piece["cells"]) == (3, 3, 3)
    clean, fgsm = _files(root)
    assert sorted(map(int, fgsm)) == sorted(REPRESENTATIVES[:3])
    with pytest.raises(DataFormatError, match="3 representative ids have no value"):
        TabularOracle("cifar10", data=root).value(REPRESENTATIVES[0], "clean")

    code, rest = _build([*common, "--archs", "representatives", "-j", "1"], capsys)
    assert code == 0 and (rest["asked"], rest["evaluated"], rest["cells"]) == (6, 3, 6)  # 3 from the store
    clean, fgsm = _files(root)
    for rep, (c, *attacked) in source["expected"].items():
        assert clean[str(rep)] == c and fgsm[str(rep)] == attacked
    meta = json.loads((root / "meta.json").read_text())
    assert meta["epsilons"] == {"fgsm@Linf": [0.5, 1.0, 2.0]} and len(meta["ids"]) == 15625
    provenance = json.loads((root / "provenance.json").read_text())["cifar10"]["fgsm@Linf"]
    assert provenance["protocol"]["fingerprint"] == FAST.fingerprint() and provenance["n_images"] == N_IMAGES
    assert sorted(map(int, provenance["weights"]["sha256"])) == sorted(REPRESENTATIVES)
    # every file with the mode a new file gets here (they were 0600: readable by the builder alone)
    (tmp_path / "reference").write_text("")
    expected_mode = (tmp_path / "reference").stat().st_mode
    assert {name: (root / name).stat().st_mode for name in rest["files"]} == dict.fromkeys(rest["files"], expected_mode)
    for rep, digest in provenance["weights"]["sha256"].items():  # the SHA-256 of each cell's file
        (path,) = (source["base"] / "weights").glob(f"{int(rep):06d}.*")
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (provenance["weights"]["epochs"], provenance["weights"]["seed"]) == (200, None)
    import torch
    import torchattacks

    versions = provenance["versions"]  # torch's build and CUDA too; numpy, Python, ... as a run's config
    assert (versions["torch"], versions["torchattacks"]) == (torch.__version__, torchattacks.__version__)
    assert versions["cuda"] == (torch.version.cuda or "none") and {"numpy", "python", "robnas"} <= versions.keys()
    assert provenance["robnas"] == robnas.__version__
    # one record per build (the fields beside it are the latest's: batch size 256, not the
    # first piece's 2); the first piece's runtimes are the second's too (one machine)
    builds = provenance["builds"]
    assert [(b["batch_size"], b["cells"], b["robnas"]) for b in builds] == [(2, 3, robnas.__version__),
                                                                            (256, 6, robnas.__version__)]
    assert provenance["batch_size"] == 256 and provenance["built"] == builds[-1]["built"]
    assert all(b["evaluated_on"] == provenance["evaluated_on"] for b in builds)
    assert builds[0]["images"] == str(source["base"] / "images")
    assert json.loads((root / "provenance.json").read_text())["cifar10"]["clean"]["builds"] == builds

    # the release's readers take it unchanged
    table = TabularOracle("cifar10", data=root)
    best = max(REPRESENTATIVES, key=lambda r: (source["expected"][r][2], -r))
    assert table.value(REPRESENTATIVES[1], "fgsm@1/255") == source["expected"][REPRESENTATIVES[1]][2]
    assert table.optimum("fgsm@1/255") == source["expected"][best][2]
    assert main(["search", "-O", "fgsm@1/255", "--searcher", "random", "--budget", "6", "--data", str(root),
                 "--seed", "0", "--json", "--out", str(tmp_path / "runs")]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["best_value"] == source["expected"][best][2]
    assert (found["rank"], found["ranked_classes"]) == (1, len(REPRESENTATIVES))  # the table's classes
    assert main(["compare", "-O", "fgsm@1/255", "--searchers", "random,re", "--seeds", "2", "--budget", "6",
                 "--checkpoints", "3,6", "--data", str(root), "--out", str(tmp_path / "cmp"), "--jobs", "1",
                 "-q"]) == 0
    finals = [json.loads(p.read_text()) for p in (tmp_path / "cmp" / "runs").glob("*/summary.json")]
    assert len(finals) == 4 and {f["best_value"] for f in finals} == {source["expected"][best][2]}
    assert main(["analyze", "-O", "fgsm@1/255", "-O", "clean", "--data", str(root), "--out",
                 str(tmp_path / "analysis"), "--json"]) == 0
    capsys.readouterr()
    assert (tmp_path / "analysis" / "summary.md").is_file()

    # nothing left to evaluate; other epsilons on the same key are refused before any write
    before = {p.name: p.read_bytes() for p in (root / "cifar10").iterdir()}
    code, again = _build([*common, "-j", "1"], capsys)
    assert code == 0 and again["evaluated"] == 0
    assert {p.name: p.read_bytes() for p in (root / "cifar10").iterdir()} == before
    code, err = _build(["--attack", "fgsm@4", "--out", str(root), "--store", str(store), *source["options"]], capsys)
    assert code == 2 and "holds fgsm@Linf at epsilons [0.5, 1.0, 2.0], not [4.0]" in err
    assert {p.name: p.read_bytes() for p in (root / "cifar10").iterdir()} == before


def test_build_on_ray_writes_what_the_local_pool_writes(source, ray_executor, tmp_path):
    settings = LiveSettings("cifar10", str(source["base"] / "weights"), str(source["base"] / "images"),
                            str(source["data"]), N_IMAGES, FAST, "cpu", 200, None, 256)
    key, epsilons = parse_attack(ATTACK, {})
    done = build_table(settings, key, epsilons, list(REPRESENTATIVES), tmp_path / "ray",
                       store=ResultStore(tmp_path / "ray.sqlite"), executor=ray_executor)
    assert (done.evaluated, done.cells) == (6, 6) and done.executor["engine"] == "ray"
    clean, fgsm = _files(tmp_path / "ray")
    for rep, (c, *attacked) in source["expected"].items():
        assert clean[str(rep)] == c and fgsm[str(rep)] == attacked
    assert ResultStore(tmp_path / "ray.sqlite").count() == 6 * 4  # each result stored once
    with LocalExecutor(jobs=1) as local:
        again = build_table(settings, key, epsilons, list(REPRESENTATIVES), tmp_path / "ray",
                            store=ResultStore(tmp_path / "ray.sqlite"), executor=local)
    assert again.evaluated == 0


def test_a_build_under_other_settings_is_refused_before_anything_is_evaluated(source, tmp_path, capsys):
    # one key of a table holds one setting: another --n-images, attack protocol setting of its
    # attack (FGSM uses none: one deterministic step) or, through
    # clean accuracy (every build writes it), another key's build under other settings would mix
    # two settings in one file under one provenance
    root, store = tmp_path / "table", tmp_path / "store.sqlite"
    cells = tmp_path / "two.txt"
    cells.write_text(f"{REPRESENTATIVES[0]}\n{REPRESENTATIVES[1]}\n")
    common = ["--out", str(root), "--store", str(store), "--archs", str(cells), "-j", "1", *source["options"]]
    code, built = _build(["--attack", ATTACK, *common], capsys)
    assert code == 0 and built["evaluated"] == 2
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    stored = ResultStore(store).count()

    def refused(argv, expected):
        code, err = _build(argv, capsys)
        assert code == 2 and err == f"robnas: error: {root} {expected}: build it with the recorded settings " \
                                    f"({root / 'provenance.json'}), or use another --out\n"
        assert {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
        assert ResultStore(store).count() == stored  # nothing evaluated either

    def other(*changes: str) -> list[str]:  # common, with options' values changed (option, value, ...)
        argv = list(common)
        for option, value in zip(changes[::2], changes[1::2], strict=True):
            argv[argv.index(option) + 1] = value
        return argv

    refused(["--attack", ATTACK, *other("--n-images", "4", "--pgd-steps", "3")],
            f"holds cifar10 clean built with n_images {N_IMAGES}, not 4 (--n-images)")
    refused(["--attack", "clean", *other("--n-images", "3")],
            f"holds cifar10 clean built with n_images {N_IMAGES}, not 3 (--n-images)")
    refused(["--attack", "pgd@1", *other("--n-images", "3")],
            f"holds cifar10 clean built with n_images {N_IMAGES}, not 3 (--n-images)")
    # the recorded settings are accepted (nothing left to evaluate), the epsilons in any order
    code, again = _build(["--attack", ATTACK, *common], capsys)
    assert code == 0 and again["evaluated"] == 0
    code, again = _build(["--attack", "fgsm@2,1,0.5", *common], capsys)
    assert code == 0 and again["evaluated"] == 0 and again["epsilons"] == [0.5, 1.0, 2.0]
    # an FGSM build does not depend on PGD's steps; a PGD build does
    code, again = _build(["--attack", ATTACK, *other("--pgd-steps", "3")], capsys)
    assert code == 0
    code, _ = _build(["--attack", "pgd@1", *common], capsys)
    assert code == 0
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    stored = ResultStore(store).count()
    refused(["--attack", "pgd@1", *other("--pgd-steps", "3")],
            "holds cifar10 pgd@Linf built with attack protocol pgd_steps 5, not 3 (--pgd-steps)")


def test_provenance_records_absolute_folders_and_each_cell_files_sha256(source, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(source["base"])  # relative --weights and --images
    options = [o if o not in (str(source["base"] / "weights"), str(source["base"] / "images"))
               else o.rsplit("/", 1)[1] for o in source["options"]]
    assert "weights" in options and "images" in options
    cell = tmp_path / "one.txt"
    cell.write_text(f"{REPRESENTATIVES[2]}\n")
    root = tmp_path / "table"
    code, built = _build(["--attack", "clean", "--archs", str(cell), "--out", str(root), "-j", "1",
                          "--store", str(tmp_path / "store.sqlite"), *options], capsys)
    assert code == 0 and built["evaluated"] == 1
    clean = json.loads((root / "provenance.json").read_text())["cifar10"]["clean"]
    assert clean["images"] == str((source["base"] / "images").resolve())
    assert clean["weights"]["root"] == str((source["base"] / "weights").resolve())
    (path,) = (source["base"] / "weights").glob(f"{REPRESENTATIVES[2]:06d}.*")
    assert clean["weights"]["sha256"] == {str(REPRESENTATIVES[2]): hashlib.sha256(path.read_bytes()).hexdigest()}
    # where the cell was evaluated: the worker's device and versions ("versions" are this
    # process's, which wrote the files; on a cluster the two differ), kept by a later build
    from robnas.evaluation.cell_tasks import runtime

    assert clean["evaluated_on"] == [runtime("cpu")] and clean["evaluated_on"][0]["torch"]
    code, again = _build(["--attack", "clean", "--archs", str(cell), "--out", str(root), "-j", "1",
                          "--store", str(tmp_path / "store.sqlite"), *options], capsys)
    assert code == 0 and again["evaluated"] == 0
    assert json.loads((root / "provenance.json").read_text())["cifar10"]["clean"]["evaluated_on"] == [runtime("cpu")]


@pytest.mark.parametrize(("text", "message"), [
    ("fgsm@a", "epsilon 'a' is not a number"),
    ("fgsm@1_0", "epsilon '1_0' is not a number"),  # float() reads it as 10
    ("fgsm@\uff11", "is not a number"),  # a full-width digit one, which float() reads as 1
    ("fgsm@nan", "epsilon 'nan' is not a number"),
    ("fog@1", "unknown attack 'fog'"),
    ("clean@1", "clean has no epsilons"),
    ("clean@", "clean has no epsilons"),
    ("pgd@1,1", "given twice"),
    ("fgsm@", "no epsilons after '@'"),
    ("fgsm@Linf@", "no epsilons after '@'"),
])
def test_bad_attacks_are_refused(text, message):
    with pytest.raises(TableBuildError, match=message):
        parse_attack(text, {"fgsm@Linf": [0.5, 1.0], "pgd@Linf": [1.0]})


def test_an_empty_epsilon_list_is_refused_in_one_line(source, tmp_path, capsys):
    # without '@' the release's epsilons are meant; with '@' and nothing after it, a mistake
    release = {"fgsm@Linf": [0.5, 1.0]}
    assert parse_attack("fgsm", release) == parse_attack("fgsm@Linf", release) == ("fgsm@Linf", (0.5, 1.0))
    code, err = _build(["--attack", "fgsm@", "--out", str(tmp_path / "t"), *source["options"]], capsys)
    assert code == 2 and err == ("robnas: error: --attack 'fgsm@': no epsilons after '@' (units of 1/255, "
                                 "e.g. fgsm@0.5,1,2; leave out '@' for the release's)\n")
    assert not (tmp_path / "t").exists()


def test_an_out_that_is_a_file_is_refused_before_any_cell_is_evaluated(source, tmp_path, capsys):
    """It crashed with FileExistsError after the whole evaluation; now one line, nothing stored."""
    target = tmp_path / "cells.txt"
    target.write_text("not a folder\n")
    store = tmp_path / "store.sqlite"
    code, err = _build(["--attack", ATTACK, "--out", str(target), "--store", str(store), *source["options"]],
                       capsys)
    assert code == 2 and err == f"robnas: error: --out {target} is a file, not a folder\n"
    assert target.read_text() == "not a folder\n"
    assert not store.exists() or ResultStore(store).count() == 0


def test_a_table_file_that_is_no_table_is_refused_before_any_cell_is_evaluated(source, tmp_path, capsys):
    """A broken results file in ROOT was found once every cell was evaluated (on the real
    space: hours in), after clean_accuracy.json had been rewritten with the new cells."""
    root, store = tmp_path / "table", tmp_path / "store.sqlite"
    (root / "cifar10").mkdir(parents=True)
    clean = root / "cifar10" / "clean_accuracy.json"
    clean.write_text(json.dumps({"cifar10": {"clean": {"accuracy": {str(REPRESENTATIVES[0]): 0.5}}}}))
    broken = root / "cifar10" / "fgsm@Linf_accuracy.json"
    broken.write_text(json.dumps({"cifar10": {"fgsm@Linf": [0.5, 0.4]}}))
    cell = tmp_path / "cell.txt"
    cell.write_text(f"{REPRESENTATIVES[1]}\n")
    before = clean.read_text()
    code, err = _build(["--attack", ATTACK, "--archs", str(cell), "--out", str(root), "--store", str(store),
                        "-j", "1", *source["options"]], capsys)
    assert code == 2 and err.startswith(f"robnas: error: {broken} is not a results file of cifar10/fgsm@Linf")
    assert len(err.splitlines()) == 1
    assert clean.read_text() == before and not (root / "meta.json").exists()
    assert not store.exists() or ResultStore(store).count() == 0


@pytest.mark.parametrize(("name", "content", "message"), [
    ("meta.json", {}, "is not a table's meta.json"),
    ("meta.json", [1], "is not a table's meta.json"),
    ("meta.json", {"ids": {}, "epsilons": []}, "is not a table's meta.json"),
    ("provenance.json", [], "not a JSON object"),
    ("provenance.json", {"cifar10": {"clean": []}}, "is not a table's provenance"),
], ids=["meta-empty", "meta-list", "meta-epsilons-list", "provenance-list", "provenance-entry-list"])
def test_a_table_record_of_another_shape_is_refused_in_one_line(source, tmp_path, capsys, name, content, message):
    """A meta.json or provenance.json in OUT that is JSON of another shape was a traceback
    (KeyError, TypeError, AttributeError)."""
    root, store = tmp_path / "table", tmp_path / "store.sqlite"
    root.mkdir()
    (root / name).write_text(json.dumps(content))
    code, err = _build(["--attack", ATTACK, "--out", str(root), "--store", str(store), *source["options"]], capsys)
    assert code == 2 and err.startswith(f"robnas: error: {root / name}") and message in err
    assert len(err.splitlines()) == 1 and sorted(p.name for p in root.iterdir()) == [name]
    assert not store.exists() or ResultStore(store).count() == 0


def test_an_archive_lacking_cells_is_refused_before_any_cell_is_evaluated(source, tmp_path, capsys):
    """A gap in the weights archive stopped the build at that cell, after the ones before it
    were evaluated (on the real space: hours in); now it is found first."""
    import shutil

    weights = tmp_path / "weights"
    shutil.copytree(source["base"] / "weights", weights)
    (gap,) = [p for p in weights.iterdir() if p.name.startswith(f"{REPRESENTATIVES[3]:06d}")]
    gap.unlink()
    options = list(source["options"])
    options[options.index("--weights") + 1] = str(weights)
    root, store = tmp_path / "table", tmp_path / "store.sqlite"
    code, err = _build(["--attack", ATTACK, "--out", str(root), "--store", str(store), *options], capsys)
    assert code == 2 and err.startswith(
        f"robnas: error: --weights {weights}: 1 of the {len(REPRESENTATIVES)} cells to build have no weights "
        f"file (the first: NB201 index {REPRESENTATIVES[3]}, {gap.name}); nothing was evaluated")
    assert not root.exists() and (not store.exists() or ResultStore(store).count() == 0)


def test_an_archs_file_that_is_not_utf8_is_refused_in_one_line(source, tmp_path, capsys):
    """A list of cells with a byte that is not UTF-8 (a Latin-1 'é') was a UnicodeDecodeError
    traceback; measures compute --archs said it in one line."""
    cells = tmp_path / "cells.txt"
    cells.write_bytes(f"{REPRESENTATIVES[0]}\n\xe9\n".encode("latin-1"))
    root = tmp_path / "table"
    code, err = _build(["--attack", ATTACK, "--archs", str(cells), "--out", str(root), *source["options"]], capsys)
    assert code == 2 and err == (f"robnas: error: --archs {cells}: not a text file of cells (byte "
                                 f"{len(str(REPRESENTATIVES[0])) + 1} is not UTF-8)\n")
    assert not root.exists()
