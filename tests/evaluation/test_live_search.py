"""The search loop and ``robnas search --mode live`` on LiveOracle: a searcher cannot tell."""

from __future__ import annotations

import json

import pytest

from robnas.arch import Arch
from robnas.benchmark import TabularOracle
from robnas.cli.main import main
from robnas.evaluation.live_oracle import LiveOracle
from robnas.loop import run_search
from robnas.searchers import RandomSearch
from tests.evaluation.dataset_fixtures import write_cifar10
from tests.evaluation.live_helpers import FAST
from tests.evaluation.nats_fixture import write_nats_archive
from tests.release_fixture import write_release

SEED = 3
OBJECTIVE = "pgd@1/255"


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("search")
    data = write_release(base / "data")
    table = TabularOracle("cifar10", data=data, cache_dir=False)
    # random search proposes the same cells whatever the values: find them on the table, and
    # write weights for exactly their classes' representatives
    dry = run_search(RandomSearch(seed=SEED), table, OBJECTIVE, 4)
    archs = [Arch.from_string(t["arch"]) for t in dry.trials]
    representatives = {table.representative_index(a) for a in archs}
    write_nats_archive(base / "weights", {i: table.meta.arch_at(i) for i in representatives},
                       datasets=("cifar10",), epochs=(200,), seeds=(777,))
    write_cifar10(base / "images", n=12)
    return {"base": base, "data": data, "weights": base / "weights", "images": base / "images",
            "archs": archs}


def live(roots, store="store.sqlite") -> LiveOracle:
    return LiveOracle("cifar10", weights=roots["weights"], images=roots["images"], data=roots["data"],
                      protocol=FAST, device="cpu", batch_size=6, store=roots["base"] / store)


def test_the_loop_searches_with_live_values_and_resumes(roots, tmp_path):
    oracle = live(roots)
    result = run_search(RandomSearch(seed=SEED), oracle, OBJECTIVE, 3, record_dir=tmp_path / "run")
    assert [Arch.from_string(t["arch"]) for t in result.trials] == roots["archs"][:3]
    spent = oracle.batches_run
    assert spent == 3 * 2 * 2  # 3 cells x (pgd + clean) x 2 batches of 6
    for trial in result.trials:
        assert trial["value"] == oracle.value(trial["arch"], OBJECTIVE)
        assert trial["clean"] == oracle.value(trial["arch"], "clean")
        assert trial["cost_seconds"] > 0 and trial["index"] == Arch.from_string(trial["arch"]).code
    assert oracle.batches_run == spent  # the checks above were answered by the store
    assert result.optimum is None and result.regret is None and result.rank is None
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["mode"] == "live" and config["oracle"]["protocol"]["fingerprint"] == FAST.fingerprint()

    fresh = live(roots)
    resumed = run_search(RandomSearch(seed=SEED), fresh, OBJECTIVE, 4, record_dir=tmp_path / "run",
                         resume=True)
    assert resumed.n_evaluations == 4 and resumed.trials[:3] == result.trials
    assert fresh.batches_run == 2 * 2  # only the new cell was evaluated


def test_a_resume_keeps_what_the_run_was_measured_with(roots, tmp_path):
    """A resume from Python whose live oracle measures otherwise (another number of images or
    attack protocol) is refused as the CLI refuses it (it was accepted, and config.json then
    named the new settings for every trial); config.json keeps the weights' identities of every
    session's cells (a resumed session's replaced them, so the record named only its own)."""
    from dataclasses import replace

    from robnas.run_record import RunRecordError

    run = tmp_path / "run"
    run_search(RandomSearch(seed=SEED), live(roots), OBJECTIVE, 2, record_dir=run)
    first = json.loads((run / "config.json").read_text())["oracle"]
    assert first["n_images"] is None and len(first["weights"]["files"]) == 2  # every image

    def other(**changed) -> LiveOracle:
        settings = {"weights": roots["weights"], "images": roots["images"], "data": roots["data"], "protocol": FAST,
                    "device": "cpu", "batch_size": 6, "store": roots["base"] / "store.sqlite", **changed}
        return LiveOracle("cifar10", **settings)

    others = [(other(n_images=6), "n_images"),
              (other(protocol=replace(FAST, pgd_steps=FAST.pgd_steps + 1)), "protocol fingerprint")]
    for oracle, what in others:
        with pytest.raises(RunRecordError, match=f"cannot resume {run}: it was measured with {what} "):
            run_search(RandomSearch(seed=SEED), oracle, OBJECTIVE, 3, record_dir=run, resume=True)
    assert len((run / "trials.jsonl").read_text().splitlines()) == 2
    run_search(RandomSearch(seed=SEED), live(roots), OBJECTIVE, 3, record_dir=run, resume=True)
    files = json.loads((run / "config.json").read_text())["oracle"]["weights"]["files"]
    assert first["weights"]["files"].items() < files.items()


def test_search_command_in_live_mode_reports_the_cost(roots, tmp_path, capsys):
    code = main(["search", "--mode", "live", "-O", OBJECTIVE, "--searcher", "random", "--seed", str(SEED),
                 "--budget", "2", "--data", str(roots["data"]), "--weights", str(roots["weights"]),
                 "--images", str(roots["images"]), "--device", "cpu", "--n-images", "6", "--pgd-steps", "2",
                 "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "budget cost" in out and "CPU-seconds of live evaluation over 2 cells (cpu)" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["mode"] == "live" and config["oracle"]["n_images"] == 6
    assert config["oracle"]["protocol"]["pgd_steps"] == 2
    code = main(["search", "--resume", str(run_dir), "--budget", "3", "--n-images", "5"])
    assert code == 2 and "conflicts" in capsys.readouterr().err
    code = main(["search", "--resume", str(run_dir), "--budget", "3", "--pgd-steps", "3"])
    assert code == 2 and "attack protocol" in capsys.readouterr().err
    code = main(["search", "--resume", str(run_dir), "--budget", "3", "--pgd-steps", "0"])
    assert code == 2 and "argument --pgd-steps: needs a whole number >= 1, got 0" in capsys.readouterr().err
    code = main(["search", "--resume", str(run_dir), "--budget", "3", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert code == 0 and report["n_evaluations"] == 3 and report["device"] == "cpu"


@pytest.mark.parametrize("objectives", [[OBJECTIVE], [OBJECTIVE, "clean"]])
def test_a_live_search_that_fails_before_its_first_trial_leaves_nothing(roots, tmp_path, capsys,
                                                                       objectives):
    (tmp_path / "empty").mkdir()  # no weights: the first evaluation fails
    out = tmp_path / "runs" / "deeper"
    code = main(["search", "--mode", "live", *[a for o in objectives for a in ("-O", o)],
                 "--searcher", "random", "--seed", str(SEED), "--budget", "2", "--data", str(roots["data"]),
                 "--weights", str(tmp_path / "empty"), "--images", str(roots["images"]), "--device", "cpu",
                 "--n-images", "6", "--store", str(tmp_path / "s.sqlite"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "no weights" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # the run folder and the folders made for it
    (tmp_path / "runs").mkdir()  # a folder that was there stays
    assert main(["search", "--mode", "live", "-O", OBJECTIVE, "--searcher", "random", "--budget", "2",
                 "--data", str(roots["data"]), "--weights", str(tmp_path / "empty"), "--images",
                 str(roots["images"]), "--device", "cpu", "--n-images", "6", "--store",
                 str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "runs")]) == 2
    assert (tmp_path / "runs").is_dir() and not any((tmp_path / "runs").iterdir())


def test_a_live_search_warm_starts_from_another_table(tmp_path):
    """`--mode live --param warmup=imagenet16-120`: the release's ImageNet16-120 table (in the
    live run's data root) picks the first cells, which are then evaluated live; the record
    names the prior and its files' SHA-256."""
    from robnas.benchmark.cache import sha256_of
    from robnas.searchers import RegularizedEvolution

    data = write_release(tmp_path / "data")
    write_release(data, dataset="ImageNet16-120")
    table = TabularOracle("cifar10", data=data, cache_dir=False)
    dry = run_search(RegularizedEvolution(warmup="imagenet16-120", population_size=2, sample_size=2, seed=SEED),
                     table, OBJECTIVE, 2)
    archs = [Arch.from_string(t["arch"]) for t in dry.trials]
    prior = TabularOracle("ImageNet16-120", data=data, cache_dir=False)
    scores = [prior.value(a, OBJECTIVE) for a in archs]
    assert scores == sorted(scores, reverse=True)  # best-scored first, by the other table
    representatives = {table.representative_index(a) for a in archs}
    write_nats_archive(tmp_path / "weights", {i: table.meta.arch_at(i) for i in representatives},
                       datasets=("cifar10",), epochs=(200,), seeds=(777,))
    write_cifar10(tmp_path / "images", n=12)
    oracle = LiveOracle("cifar10", weights=tmp_path / "weights", images=tmp_path / "images", data=data,
                        protocol=FAST, device="cpu", batch_size=6, store=tmp_path / "store.sqlite")
    result = run_search(RegularizedEvolution(warmup="imagenet16-120", population_size=2, sample_size=2, seed=SEED),
                        oracle, OBJECTIVE, 2, record_dir=tmp_path / "run")
    assert [Arch.from_string(t["arch"]) for t in result.trials] == archs
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["mode"] == "live" and config["prior"]["dataset"] == "ImageNet16-120"
    assert config["prior"]["checksums"]["ImageNet16-120/pgd@Linf_accuracy.json"] == sha256_of(
        data / "ImageNet16-120" / "pgd@Linf_accuracy.json")
