"""robnas.priors: measure names -> per-cell scores, handed to searchers by the loop."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from robnas.arch import NUM_CELLS, Arch
from robnas.cli.main import main
from robnas.isomorphism import class_code_array
from robnas.loop import run_search
from robnas.priors import PriorError, cell_scores, provide_scores
from robnas.searchers import LocalSearch, OptunaSearch, PredictorSearch, RegularizedEvolution


def _reps() -> np.ndarray:
    return np.unique(class_code_array())


def test_arch_file_scores_every_isomorph_of_a_listed_class(cifar10_oracle, tmp_path: Path) -> None:
    reps = _reps()
    path = tmp_path / "scores.csv"
    pd.DataFrame({"arch": [Arch.from_code(int(c)).to_string() for c in reps],
                  "synflow": reps * 0.5}).to_csv(path, index=False)
    scores = cell_scores(str(path), cifar10_oracle)  # the only numeric column is the score
    assert scores.shape == (NUM_CELLS,)
    np.testing.assert_array_equal(scores, class_code_array() * 0.5)


def test_index_file_maps_nb201_indices(release_root, cifar10_oracle, tmp_path: Path) -> None:
    ids = json.loads((release_root / "meta.json").read_text())["ids"]
    # score = the representative index of each cell, as the release's meta.json states it
    frame = pd.DataFrame({"index": [int(i) for i in ids],
                          "score": [float(entry["isomorph"]) for entry in ids.values()]})
    path = tmp_path / "scores.parquet"
    frame.to_parquet(path)
    scores = cell_scores(str(path), cifar10_oracle)
    for code in (0, 1, 777, 12345, NUM_CELLS - 1):
        arch = Arch.from_code(code)
        assert scores[code] == cifar10_oracle.representative_index(arch)


def test_a_measures_compute_table_is_a_scores_file(release_root, cifar10_oracle, tmp_path) -> None:
    """The layout `robnas measures compute -o` writes: nb201_index, arch, representative, the
    measure and its timing column; only the measure is the score."""
    ids = json.loads((release_root / "meta.json").read_text())["ids"]
    indices = [int(i) for i in ids]
    representative = [int(entry["isomorph"]) for entry in ids.values()]
    frame = pd.DataFrame({"nb201_index": indices,
                          "arch": [entry["nb201-string"] for entry in ids.values()],
                          "representative": representative,
                          "synflow": [2.0 * r + 1 for r in representative],
                          "synflow_seconds": [0.5] * len(indices)})
    path = tmp_path / "measures.parquet"
    frame.to_parquet(path)
    scores = cell_scores(str(path), cifar10_oracle)
    for index in (0, 1, 777, 13433, 15624):
        arch = cifar10_oracle.parse_arch(index)
        assert scores[arch.code] == 2.0 * cifar10_oracle.representative_index(arch) + 1


def test_missing_classes_unknown_measures_and_bad_files(cifar10_oracle, tmp_path: Path) -> None:
    reps = _reps()
    path = tmp_path / "partial.csv"
    pd.DataFrame({"arch": [Arch.from_code(int(c)).to_string() for c in reps[:-3]],
                  "score": 1.0}).to_csv(path, index=False)
    with pytest.raises(PriorError, match="no score for 3 of 6466 classes"):
        cell_scores(str(path), cifar10_oracle)
    with pytest.raises(PriorError, match=r"unknown measure 'synflo'; valid: params, flops, a measure "
                                         r"computed by robnas measures compute \(synflow, snip"):
        cell_scores("synflo", cifar10_oracle)
    with pytest.raises(PriorError, match="cannot read scores file"):
        cell_scores(str(tmp_path / "absent.csv"), cifar10_oracle)
    (tmp_path / "two.csv").write_text("arch,a,b\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1,2\n")
    with pytest.raises(PriorError, match="needs a 'score' column"):
        cell_scores(str(tmp_path / "two.csv"), cifar10_oracle)


def _clean_scores_file(oracle, path: Path) -> Path:
    reps = [Arch.from_code(int(c)) for c in _reps()]
    pd.DataFrame({"arch": [a.to_string() for a in reps],
                  "score": oracle.evaluate(reps, "clean").values}).to_csv(path, index=False)
    return path


def test_a_fractional_index_is_refused_not_truncated(cifar10_oracle, tmp_path) -> None:
    """0.9 read by int() would be cell 0: a scores file written with a float index column
    carries its rounding errors into the scores of other cells."""
    ids = [cifar10_oracle.representative_index(Arch.from_code(int(c))) for c in _reps()]
    frame = pd.DataFrame({"index": np.asarray(ids, dtype=float), "score": 1.0})
    path = tmp_path / "float-index.csv"
    frame.to_csv(path, index=False)
    assert (cell_scores(str(path), cifar10_oracle) == 1.0).all()  # whole floats are indices
    frame.loc[3, "index"] = ids[3] + 0.9
    frame.to_csv(path, index=False)
    with pytest.raises(PriorError, match=re.escape(f"{path}: index {ids[3] + 0.9!r} (row 4) is not a whole number")):
        cell_scores(str(path), cifar10_oracle)


def test_an_index_column_that_contradicts_the_arch_or_nb201_index_is_refused(cifar10_oracle, tmp_path) -> None:
    """A file with several cell columns: each row's must name one cell. A frame saved after
    reset_index() has row numbers as 'index', and every score went to the cell of its row
    number, not to its arch or nb201_index."""
    cells = [Arch.from_code(code) for code in range(NUM_CELLS)]  # every cell, score = its code
    frame = pd.DataFrame({"arch": [a.to_string() for a in cells], "score": np.arange(NUM_CELLS, dtype=float)})
    path = tmp_path / "scores.csv"
    frame.reset_index().to_csv(path, index=False)  # index (0..15624: every index once), arch, score
    first = cifar10_oracle.parse_arch(0).to_string()
    with pytest.raises(PriorError, match=re.escape(f"{path}: row 1: index names {first}, its arch "
                                                   f"{cells[0].to_string()}")):
        cell_scores(str(path), cifar10_oracle)
    frame.insert(0, "nb201_index", [cifar10_oracle.index_of(a) for a in cells])  # agreeing: read
    frame.to_csv(path, index=False)
    np.testing.assert_array_equal(cell_scores(str(path), cifar10_oracle), np.arange(NUM_CELLS))
    frame.drop(columns="arch").reset_index().to_csv(path, index=False)  # index, nb201_index, score
    with pytest.raises(PriorError, match=re.escape(f"{path}: row 1: index names {first}, its nb201_index "
                                                   f"{cells[0].to_string()}")):
        cell_scores(str(path), cifar10_oracle)


@pytest.mark.parametrize("column", ["arch", "index"])
def test_a_cell_listed_twice_is_refused_naming_both_rows(cifar10_oracle, tmp_path, column) -> None:
    """Two scores for one cell (by NB201 string or index) are refused, not last-wins."""
    reps = [Arch.from_code(int(c)) for c in _reps()]
    keys = [a.to_string() for a in reps] if column == "arch" else \
        [cifar10_oracle.index_of(a) for a in reps]
    frame = pd.DataFrame({column: keys, "score": np.arange(len(reps), dtype=float)})
    twice = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)  # row 6 again as the last row
    path = tmp_path / "twice.csv"
    twice.to_csv(path, index=False)
    expected = f"{reps[5].to_string()} is listed twice (rows 6 and {len(reps) + 1})"
    with pytest.raises(PriorError, match=re.escape(expected)):
        cell_scores(str(path), cifar10_oracle)
    frame.to_csv(path, index=False)  # once each: read
    assert cell_scores(str(path), cifar10_oracle)[reps[5].code] == 5.0


@pytest.mark.parametrize("make", [
    lambda path: RegularizedEvolution(warmup=path, population_size=10, seed=0),
    lambda path: LocalSearch(warmup=path, num_init=10, seed=0),
    lambda path: PredictorSearch(prior=path, num_init=10, seed=0),
    lambda path: OptunaSearch(warmup=path, seed=0),  # n_startup_trials=10 enqueued trials
])
def test_loop_hands_the_scores_over_and_the_start_is_warm(cifar10_oracle, tmp_path, make) -> None:
    # A (user-made) scores file with each class's clean accuracy: a warm start proposes the
    # best-scored of a 1,000-cell pool first, so the first cell ranks in the top 2% on clean
    # (a random first cell does with probability 0.02), and the start beats a cold one.
    path = str(_clean_scores_file(cifar10_oracle, tmp_path / "clean.csv"))
    warm = run_search(make(path), cifar10_oracle, "clean", 10)
    assert cifar10_oracle.rank(Arch.from_string(warm.trials[0]["arch"]), "clean") <= 130
    values = [t["value"] for t in warm.trials]
    assert values == sorted(values, reverse=True)  # best-scored first, and score == value here


def test_provide_scores_leaves_searchers_without_a_measure_alone(cifar10_oracle) -> None:
    searcher = RegularizedEvolution(seed=0)
    provide_scores(searcher, cifar10_oracle)
    assert searcher._scores is None


def test_cli_warmup_and_bad_prior(release_root, cifar10_oracle, tmp_path: Path, capsys) -> None:
    path = _clean_scores_file(cifar10_oracle, tmp_path / "clean.csv")
    out = tmp_path / "runs"
    assert main(["search", "-O", "clean", "--searcher", "re", "--param", f"warmup={path}",
                 "--budget", "40", "--seed", "0", "--out", str(out), "--data", str(release_root)]) == 0
    (run_dir,) = out.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["searcher"]["params"]["warmup"] == str(path)
    capsys.readouterr()
    code = main(["search", "-O", "clean", "--searcher", "predictor", "--param", "prior=nope",
                 "--budget", "5", "--out", str(tmp_path / "bad"), "--data", str(release_root)])
    err = capsys.readouterr().err
    assert code == 2 and "unknown measure 'nope'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
    text = tmp_path / "text.csv"  # a score that is not a number: one line, no traceback
    text.write_text(path.read_text().replace(",0.", ",a0.", 1))
    code = main(["search", "-O", "clean", "--searcher", "re", "--param", f"warmup={text}",
                 "--budget", "5", "--out", str(tmp_path / "bad"), "--data", str(release_root)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{text}: score 'a0." in err and "(row 1) is not a number" in err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("measure", ["params", "flops"])
def test_cost_measures_come_from_robnas_cost(cifar10_oracle, measure) -> None:
    from robnas import cost

    scores = cell_scores(measure, cifar10_oracle)
    for code in (0, 100, 9999, NUM_CELLS - 1):
        assert scores[code] == pytest.approx(cost.value(measure, Arch.from_code(code), "cifar10"))


def test_a_measure_by_name_is_read_from_the_results_store(release_root, cifar10_oracle, tmp_path,
                                                          monkeypatch, capsys) -> None:
    """`prior=synflow` reads what `robnas measures compute -m synflow` cached in the store."""
    from robnas.evaluation.measures._compute import MeasureRequest
    from robnas.evaluation.measures._registry import get_measure
    from robnas.evaluation.measures._store import MeasureStore

    monkeypatch.setenv("ROBNAS_CACHE_DIR", str(tmp_path / "cache"))
    hint = "robnas measures compute -m synflow --archs all --dataset cifar10"
    with pytest.raises(PriorError, match="no results store") as info:
        cell_scores("synflow", cifar10_oracle)
    assert hint in str(info.value) and not (tmp_path / "cache").exists()  # reading created nothing

    # the real command computes a few cells into the real (SQLite) store: not enough classes yet
    (tmp_path / "cells.txt").write_text("0\n13433\n777\n")
    assert main(["measures", "compute", "-m", "synflow", "--archs", str(tmp_path / "cells.txt"),
                 "--data", str(release_root), "-o", str(tmp_path / "few.csv"), "--jobs", "1", "-q"]) == 0
    computed = pd.read_csv(tmp_path / "few.csv").set_index("nb201_index")["synflow"]
    with pytest.raises(PriorError, match=r"no score for \d+ of 6466 classes") as info:
        cell_scores("synflow", cifar10_oracle)
    assert hint in str(info.value) and len(str(info.value).splitlines()) == 1

    # every other cell, stored under the settings that command used (defaults: batch 64, seed 0)
    request = MeasureRequest((get_measure("synflow"),), "cifar10", images=Path("."), batch_size=64,
                             seed=0, weights=None, epochs=200, weights_seed=None)
    others = [i for i in range(NUM_CELLS) if i not in computed.index]
    MeasureStore().put_many(request.settings(get_measure("synflow")),
                            [(i, 1000.0 + i, 0.0, "cpu") for i in others])
    scores = cell_scores("synflow", cifar10_oracle)
    for index in (0, 13433, 777, 1, 15624):
        expected = computed[index] if index in computed.index else 1000.0 + index
        assert scores[cifar10_oracle.parse_arch(index).code] == pytest.approx(expected)

    out = tmp_path / "runs"  # and the searchers take it by name
    assert main(["search", "-O", "clean", "--searcher", "predictor", "--param", "prior=synflow",
                 "--budget", "12", "--seed", "0", "--out", str(out), "--data", str(release_root)]) == 0
    capsys.readouterr()
    searcher = RegularizedEvolution(warmup="synflow", seed=0)
    provide_scores(searcher, cifar10_oracle)
    assert searcher._scores is not None and searcher._scores[cifar10_oracle.parse_arch(5).code] == 1005.0



def test_a_stored_measure_prior_is_checksummed_and_a_changed_one_refused_on_resume(
        cifar10_oracle, tmp_path, monkeypatch) -> None:
    """A measure read from the results store has no file to hash: the record keeps the SHA-256
    of its scores, and a resume after the stored values changed (recomputed elsewhere) is
    refused as a changed scores file is (it was accepted, and the replay diverged at trial 1)."""
    from robnas.errors import RunRecordError
    from robnas.evaluation.measures._compute import MeasureRequest
    from robnas.evaluation.measures._registry import get_measure
    from robnas.evaluation.measures._store import MeasureStore

    monkeypatch.setenv("ROBNAS_CACHE_DIR", str(tmp_path / "cache"))
    settings = MeasureRequest((get_measure("synflow"),), "cifar10", images=Path("."), batch_size=64, seed=0,
                              weights=None, epochs=200, weights_seed=None).settings(get_measure("synflow"))
    first = np.random.default_rng(0).normal(size=NUM_CELLS)
    MeasureStore().put_many(settings, [(i, float(first[i]), 0.0, "cpu") for i in range(NUM_CELLS)])
    run_dir = tmp_path / "run"
    run_search(PredictorSearch(prior="synflow", seed=0), cifar10_oracle, "pgd@1/255", 12, record_dir=run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["prior"]["measure"] == "synflow" and len(config["prior"]["scores_sha256"]) == 64
    resumed = run_search(PredictorSearch(prior="synflow", seed=0), cifar10_oracle, "pgd@1/255", 14,
                         record_dir=run_dir, resume=True)
    assert resumed.replay == {"trials": 12, "diverged_at": None}

    recorded = (run_dir / "config.json").read_text()
    config = json.loads(recorded)  # as an older robnas recorded it: nothing to compare, resumed
    del config["prior"]["scores_sha256"]
    (run_dir / "config.json").write_text(json.dumps(config))
    run_search(PredictorSearch(prior="synflow", seed=0), cifar10_oracle, "pgd@1/255", 15,
               record_dir=run_dir, resume=True)

    (run_dir / "config.json").write_text(recorded)
    other = first + np.random.default_rng(1).normal(size=NUM_CELLS)
    MeasureStore().put_many(settings, [(i, float(other[i]), 0.0, "cpu") for i in range(NUM_CELLS)])
    with pytest.raises(RunRecordError, match=r"prior scores changed since the run was recorded \('synflow'"):
        run_search(PredictorSearch(prior="synflow", seed=0), cifar10_oracle, "pgd@1/255", 16,
                   record_dir=run_dir, resume=True)
    assert len((run_dir / "trials.jsonl").read_text().splitlines()) == 15


# -- another table of the release as the prior (transfer) --------------------------------------
def test_a_dataset_names_the_searched_objective_on_that_table(release_root, cifar10_oracle) -> None:
    """`prior=imagenet16-120` on a CIFAR-10 pgd@1/255 search: ImageNet16-120's released
    pgd@1/255 accuracy of each cell's class (read straight from the JSON file here)."""
    from tests.release_json import released, representative

    expected = released(release_root, "ImageNet16-120", "pgd@Linf", 1.0)
    scores = cell_scores("imagenet16-120", cifar10_oracle, "pgd@1/255")
    assert scores.shape == (NUM_CELLS,)
    for index in (0, 1, 777, 8865, 13433, NUM_CELLS - 1):
        arch = cifar10_oracle.parse_arch(index)
        assert scores[arch.code] == pytest.approx(expected[representative(release_root, index)])
    # an explicit objective wins over the searched one
    clean = released(release_root, "ImageNet16-120", "clean")
    explicit = cell_scores("ImageNet16-120/clean", cifar10_oracle, "pgd@1/255")
    arch = cifar10_oracle.parse_arch(777)
    assert explicit[arch.code] == pytest.approx(clean[representative(release_root, 777)])


def test_the_same_dataset_with_another_objective_is_a_prior(release_root, cifar10_oracle) -> None:
    from tests.release_json import released, representative

    scores = cell_scores("cifar10/clean", cifar10_oracle, "pgd@1/255")
    clean = released(release_root, "cifar10", "clean")
    for index in (5, 9999):
        assert scores[cifar10_oracle.parse_arch(index).code] == pytest.approx(
            clean[representative(release_root, index)])


@pytest.mark.parametrize(("measure", "searched", "message"), [
    ("cifar10", "pgd@1/255", "is the table being searched"),  # the answers themselves
    ("CIFAR-10/pgd@1/255", "pgd@1/255", "is the table being searched"),
    ("imagenet16-120", None, "names a dataset but no objective"),
    ("imagenet16-120/params", "pgd@1/255", "params is a cost; use the measure params"),
    ("imagenet16-120/nope", "pgd@1/255", "unknown objective 'nope'"),
    ("imagenet16-120/gaussian_noise@3", "clean", "ImageNet16-120 has no corruption results"),
    ("cifar100", "clean", "dataset cifar100 is not installed"),
])
def test_bad_table_priors_are_refused_in_one_line(cifar10_oracle, measure, searched, message) -> None:
    with pytest.raises(PriorError, match=message) as info:
        cell_scores(measure, cifar10_oracle, searched)
    assert len(str(info.value).splitlines()) == 1


def test_a_table_prior_is_recorded_and_checked_on_resume(release_root, tmp_path: Path) -> None:
    """The run record names the prior's table and its files' SHA-256; a resume whose prior
    scores changed is refused, an unchanged one continues like an uninterrupted run."""
    import shutil

    from robnas.benchmark import TabularOracle
    from robnas.errors import RunRecordError

    data = tmp_path / "data"  # a copy of the release, so one of its files can change
    shutil.copytree(release_root, data)
    oracle = TabularOracle("cifar10", data=data, cache_dir=tmp_path / "cache")
    run_dir = tmp_path / "run"
    whole = run_search(PredictorSearch(prior="imagenet16-120", seed=1), oracle, "pgd@1/255", 30)
    run_search(PredictorSearch(prior="imagenet16-120", seed=1), oracle, "pgd@1/255", 20, record_dir=run_dir)
    prior = json.loads((run_dir / "config.json").read_text())["prior"]
    assert prior["dataset"] == "ImageNet16-120" and prior["objective"] == "pgd@1/255"
    from robnas.benchmark.cache import sha256_of

    source = data / "ImageNet16-120" / "pgd@Linf_accuracy.json"
    assert prior["checksums"]["ImageNet16-120/pgd@Linf_accuracy.json"] == sha256_of(source)
    resumed = run_search(PredictorSearch(prior="imagenet16-120", seed=1), oracle, "pgd@1/255", 30,
                         record_dir=run_dir, resume=True)
    assert [t["arch"] for t in resumed.trials] == [t["arch"] for t in whole.trials]

    document = json.loads(source.read_text())  # another value for one cell: other scores
    values = document["ImageNet16-120"]["pgd@Linf"]["accuracy"]
    first = next(iter(values))
    values[first] = [v + 0.01 for v in values[first]]
    source.write_text(json.dumps(document))
    changed = TabularOracle("cifar10", data=data, cache_dir=tmp_path / "cache2")
    with pytest.raises(RunRecordError, match="prior scores changed"):
        run_search(PredictorSearch(prior="imagenet16-120", seed=1), changed, "pgd@1/255", 40,
                   record_dir=run_dir, resume=True)


def test_compare_takes_a_table_prior_per_objective(release_root, tmp_path: Path, capsys) -> None:
    """`robnas compare -s predictor:prior=imagenet16-120` resolves the table for each objective
    compared; the searched table itself is refused before any run is written."""
    out = tmp_path / "cmp"
    assert main(["compare", "-O", "pgd@1/255", "-O", "clean", "-s", "predictor:prior=imagenet16-120",
                 "--seeds", "1", "--budget", "12", "--out", str(out), "--data", str(release_root),
                 "-q"]) == 0
    priors = sorted((json.loads(p.read_text())["objective"], json.loads(p.read_text())["prior"]["objective"])
                    for p in out.rglob("config.json"))
    assert priors == [("clean", "clean"), ("pgd@1/255", "pgd@1/255")]
    capsys.readouterr()
    code = main(["compare", "-O", "clean", "-s", "re:warmup=cifar10", "--seeds", "1", "--budget", "5",
                 "--out", str(tmp_path / "bad"), "--data", str(release_root), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "is the table being searched" in err and not (tmp_path / "bad").exists()


def test_tpe_warm_start_replaces_its_random_trials(cifar10_oracle, tmp_path) -> None:
    """`bo:warmup=...`: the n_startup_trials first cells are the warm start's (best-scored
    first), then TPE; with no random trials to replace, a warm-up is refused."""
    from robnas.errors import InvalidParameterError
    from robnas.searchers import validate_params

    path = str(_clean_scores_file(cifar10_oracle, tmp_path / "clean.csv"))
    searcher = OptunaSearch(warmup=path, n_startup_trials=4, seed=1)
    provide_scores(searcher, cifar10_oracle)
    values = [t["value"] for t in run_search(searcher, cifar10_oracle, "clean", 8).trials]
    assert values[:4] == sorted(values[:4], reverse=True) and min(values[:4]) > 0.9
    assert len(searcher.study.trials) >= 8
    zero = OptunaSearch(warmup=path, n_startup_trials=0, seed=1)
    provide_scores(zero, cifar10_oracle)
    with pytest.raises(InvalidParameterError, match="give n_startup_trials >= 1"):
        validate_params(zero)
