"""``robnas verify`` end to end: the real table, a NATS-format archive and CIFAR-10 files."""

from __future__ import annotations

import json
import math

import pytest
import torch

from robnas.arch import Arch
from robnas.cli.main import main
from tests.evaluation.dataset_fixtures import write_cifar10
from tests.evaluation.nats_fixture import write_nats_archive

N_IMAGES = 20
CONSTANT = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # outputs a constant: ~chance
GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def setup(cifar10_oracle, tmp_path_factory):
    base = tmp_path_factory.mktemp("verify")
    archs = {}
    for text in (CONSTANT, GOOD):
        index = cifar10_oracle.representative_index(Arch.from_string(text))
        archs[index] = cifar10_oracle.meta.arch_at(index)
    write_nats_archive(base / "weights", archs, datasets=("cifar10",), epochs=(200,), seeds=(777,))
    write_cifar10(base / "images", n=N_IMAGES)
    return {"base": base, "data": cifar10_oracle.root, "oracle": cifar10_oracle,
            "options": ["--weights", str(base / "weights"), "--images", str(base / "images"),
                        "--data", str(cifar10_oracle.root), "--device", "cpu",
                        "--store", str(base / "store.sqlite"), "--n-images", str(N_IMAGES)]}


def verify(argv, capsys):
    code = main(["verify", *argv])
    return code, capsys.readouterr()


def test_verify_archs_prints_table_live_and_agreement(setup, capsys):
    oracle = setup["oracle"]
    code, out = verify(["--arch", CONSTANT, "--arch", GOOD, "-O", "clean", "--json", *setup["options"]], capsys)
    report = json.loads(out.out)
    constant, good = report["rows"]
    assert (constant["arch"], good["arch"]) == (CONSTANT, GOOD)
    for row in (constant, good):
        assert row["table"] == oracle.value(row["arch"], "clean")
        assert row["diff"] == pytest.approx(row["live"] - row["table"])
        q = row["table"] + 0.0005 if row["table"] < 0.5 else row["table"] - 0.0005  # its rounding
        assert row["tolerance"] == pytest.approx(0.0005 + 1.96 * math.sqrt(q * (1 - q) / N_IMAGES))
        assert row["n_images"] == N_IMAGES and row["agree"] == (abs(row["diff"]) <= row["tolerance"])
    # random weights on random labels: ~chance, like the constant cell's table value, far from
    # the trained good cell's
    assert good["table"] > 0.9 and not good["agree"]
    assert constant["table"] == pytest.approx(0.1, abs=0.01) and constant["agree"]
    assert code == 1  # not every cell agrees
    assert report["oracle"]["mode"] == "live" and report["n_images"] == N_IMAGES


def test_verify_run_dir_reads_the_best_trials(setup, capsys, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"objective": "clean", "dataset": "cifar10"}))
    trials = [{"n": 1, "arch": GOOD, "value": 0.5}, {"n": 2, "arch": CONSTANT, "value": 0.9}]
    (run / "trials.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trials) + '{"n": 3, "ar')
    code, out = verify([str(run), "--top", "1", *setup["options"]], capsys)
    lines = out.out.splitlines()
    assert code == 0, out.err
    assert lines[0].startswith("clean on cifar10") and len(lines) == 4
    assert "yes" in lines[2] and "|none~0|" in lines[2]
    assert "1.96 * sqrt(p (1 - p) / K)" in lines[3]


def test_verify_errors_are_one_line(setup, capsys, tmp_path):
    code, out = verify(["--arch", GOOD, *setup["options"]], capsys)
    assert code == 2 and "needs --objective" in out.err
    code, out = verify([str(tmp_path), "-O", "clean", *setup["options"]], capsys)
    assert code == 2 and "not a run record" in out.err
    code, out = verify(["-O", "pgd@2.5/255", "--arch", GOOD, *setup["options"]], capsys)
    assert code == 2 and "valid choices" in out.err
    empty = tmp_path / "no-images"
    empty.mkdir()
    given = setup["options"]
    at = given.index("--images")
    options = [*given[:at], "--images", str(empty), *given[at + 2:]]  # no test set there
    code, out = verify(["-O", "params", "--arch", GOOD, *options], capsys)
    assert code == 2 and "computed, not measured" in out.err and len(out.err.splitlines()) == 1


@pytest.mark.parametrize("engine", [["--jobs", "2"], ["--executor", "ray"]], ids=["pool", "ray"])
def test_verify_through_worker_processes_equals_in_process(setup, capsys, tmp_path, engine, request):
    from robnas.evaluation.store import ResultStore

    if "ray" in engine:
        request.getfixturevalue("ray_executor")  # this module's local Ray instance (2 CPUs)
    argv = ["--arch", CONSTANT, "--arch", GOOD, "-O", "fgsm@1/255", "--json", "--pgd-steps", "2"]
    options = [o if o != str(setup["base"] / "store.sqlite") else str(tmp_path / "pool.sqlite")
               for o in setup["options"]]
    code, out = verify([*argv, *options, *engine], capsys)
    pooled = json.loads(out.out)["rows"]
    # clean and fgsm@1/255 of both cells, measured in the workers, stored once by this process
    assert ResultStore(tmp_path / "pool.sqlite").count() == 4
    options = [o if o != str(tmp_path / "pool.sqlite") else str(tmp_path / "plain.sqlite") for o in options]
    plain_code, out = verify([*argv, *options], capsys)
    plain = json.loads(out.out)["rows"]
    assert code == plain_code
    assert [(r["arch"], r["live"], r["agree"]) for r in pooled] == [(r["arch"], r["live"], r["agree"]) for r in plain]
    assert all(r["seconds"] > 0 for r in pooled)
    code, out = verify([*argv, *options, "--gpus-per-task", "0.5"], capsys)
    assert code == 2 and "--gpus-per-task needs --executor ray" in out.err


def test_verify_on_ray_reports_a_tasks_error_and_missing_gpus_in_one_line(setup, capsys, tmp_path, ray_executor):
    # A cell task that fails on Ray reaches the user as the local pool reports it: the task's own
    # one-line message, not Ray's coloured "ray::run_task() (pid=..., ip=...)" header.
    import ray

    empty = tmp_path / "no-weights"
    empty.mkdir()
    options = [o if o != str(setup["base"] / "weights") else str(empty) for o in setup["options"]]
    argv = ["--arch", GOOD, "-O", "clean", *options]
    code, local = verify(argv, capsys)
    assert code == 2 and local.err.startswith("robnas: error: no weights for NB201 index ")
    code, out = verify([*argv, "--executor", "ray", "--jobs", "1"], capsys)
    assert code == 2 and out.err == local.err and len(out.err.splitlines()) == 1 and "\x1b" not in out.err
    # GPU tasks on a cluster without a node that has enough GPUs: refused, not left pending forever
    have = int(ray.cluster_resources().get("GPU", 0))
    gpus = "0.25" if have == 0 else str(have + 1)
    code, out = verify([*argv[:4], *setup["options"], "--executor", "ray", "--gpus-per-task", gpus], capsys)
    assert code == 2 and out.err.startswith(f"robnas: error: --gpus-per-task {gpus}: ")
    assert ("the Ray cluster has no GPUs" if have == 0 else "no node of the Ray cluster") in out.err


def _with(options, option, value):
    argv = list(options)
    argv[argv.index(option) + 1] = value
    return argv


def test_verify_refuses_more_images_than_the_test_set_holds_before_any_work(setup, capsys, tmp_path):
    from robnas.evaluation.store import ResultStore

    store = tmp_path / "s.sqlite"
    options = _with(_with(setup["options"], "--store", str(store)), "--n-images", str(N_IMAGES * 5))
    code, out = verify(["--arch", GOOD, "-O", "clean", *options], capsys)
    images = (setup["base"] / "images").resolve()
    assert code == 2 and out.out == ""
    assert out.err == (f"robnas: error: {N_IMAGES * 5} test images asked for (--n-images), but the cifar10 "
                       f"test set under {images} holds only {N_IMAGES}\n")
    assert not store.exists() or ResultStore(store).count() == 0  # nothing cached under the wrong count


def test_verify_with_other_test_images_measures_them(setup, capsys, tmp_path):
    store = str(tmp_path / "s.sqlite")
    argv = ["--arch", GOOD, "--arch", CONSTANT, "-O", "clean", "--json"]
    _, out = verify([*argv, *_with(setup["options"], "--store", store)], capsys)
    before = [row["live"] for row in json.loads(out.out)["rows"]]
    write_cifar10(tmp_path / "other", n=N_IMAGES, seed=11)  # other images, in the same store
    other = _with(_with(setup["options"], "--store", store), "--images", str(tmp_path / "other"))
    _, out = verify([*argv, *other], capsys)
    after = [row["live"] for row in json.loads(out.out)["rows"]]
    _, out = verify([*argv, *_with(other, "--store", str(tmp_path / "fresh.sqlite"))], capsys)
    assert after == [row["live"] for row in json.loads(out.out)["rows"]]  # as measured afresh
    assert after != before


@pytest.mark.parametrize("correct", [1, 10])
def test_a_table_value_of_zero_is_known_to_its_rounding(tmp_path, capsys, correct):
    # The release's accuracies are rounded to 3 decimals: a table value of 0.000 stands for a
    # true rate of up to 0.0005, and one correct image of 500 is then no surprise (it happens
    # one time in five), while 10 of 500 practically never does. A tolerance of 0 at p = 0
    # refused any live value above 0 (so pgd@8/255 cells failed for one image).
    from scipy.stats import binom

    from robnas.benchmark import TabularOracle
    from robnas.evaluation.weights import WeightsArchive, load_network
    from tests.release_fixture import write_release

    k = 500
    assert binom.sf(1 - 1, k, 0.0005) > 0.05 and binom.sf(10 - 1, k, 0.0005) < 1e-9
    data = write_release(tmp_path / "data")  # synthetic: NB201 index = code, values controlled
    nothing = Arch.from_code(0)  # every edge `none`: a constant output
    assert TabularOracle("cifar10", data=data, cache_dir=False).value(nothing, "clean") == 0.0
    write_nats_archive(tmp_path / "weights", {0: nothing}, datasets=("cifar10",), epochs=(200,), seeds=(777,))
    net = load_network(WeightsArchive(tmp_path / "weights"), 0, nothing, "cifar10")
    predicted = int(net(torch.rand(1, 3, 32, 32)).argmax())
    other = (predicted + 1) % 10
    write_cifar10(tmp_path / "images", n=k, labels=[predicted] * correct + [other] * (k - correct))
    code, out = verify(["--arch", "0", "-O", "clean", "--json", "--data", str(data), "--weights",
                        str(tmp_path / "weights"), "--images", str(tmp_path / "images"), "--device", "cpu",
                        "--store", str(tmp_path / "s.sqlite"), "--n-images", str(k)], capsys)
    (row,) = json.loads(out.out)["rows"]
    assert (row["table"], row["live"]) == (0.0, correct / k)
    assert row["agree"] == (correct == 1) and code == (0 if correct == 1 else 1)


@pytest.mark.parametrize(("config", "trials", "message"), [
    (b"\xff{", b"", "config.json is not valid JSON"),
    (b"[]", b"", "config.json is not a run config"),
    (b'{"objective": "clean"}', b'{"n": 1, "arch": "x", "value": 0.5}\n\xff\xfe\n', "not an NB201 string"),
    (b'{"objective": "clean"}', b'[1, 2]\n', "trials.jsonl line 1: not a trial"),
    (b'{"objective": "clean"}', b'{"n": 1, "arch": "%s", "value": "0.9"}\n' % GOOD.encode(),
     "trials.jsonl line 1: not a trial"),
    (b'{"objective": "pgd@1/255,clean", "objectives": ["pgd@1/255", "clean"]}',
     b'{"n": 1, "arch": "%s", "values": [0.5, 0.9]}\n' % GOOD.encode(), "is a multi-objective run"),
], ids=["config-not-utf8", "config-list", "trial-not-utf8", "trial-list", "value-text", "multi"])
def test_a_run_dir_verify_cannot_read_is_refused_in_one_line(setup, capsys, tmp_path, config, trials, message):
    """A config.json or trials.jsonl line that is not UTF-8, a config that is a JSON list, a
    trial that is no object or whose value is text: UnicodeDecodeError, AttributeError or
    ValueError tracebacks. A multi-objective run (trials with vectors) was said to hold 'no
    evaluated (feasible) cells'."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes(config)
    (run / "trials.jsonl").write_bytes(trials)
    code, out = verify([str(run), *setup["options"]], capsys)
    assert code == 2 and out.err.count("\n") == 1 and out.err.startswith("robnas: error: "), out.err
    assert message in out.err, out.err  # a line not UTF-8 is left out as one cut short: 'x' is read
