from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from robnas.arch import NUM_CELLS, Arch
from robnas.benchmark import TabularOracle
from robnas.errors import DataFormatError, DataNotFoundError, InvalidArchError, InvalidObjectiveError
from robnas.objective import Objective
from robnas.oracle import Oracle
from tests.release_fixture import synthetic_value, write_release


def test_official_example_values(cifar10_oracle: TabularOracle) -> None:
    assert cifar10_oracle.value(13433, "clean") == 0.893
    assert cifar10_oracle.value(13433, "pgd@1/255") == 0.336
    assert isinstance(cifar10_oracle, Oracle)


def test_every_value_equals_the_released_json_exactly(cifar10_oracle: TabularOracle, release_root) -> None:
    meta = json.loads((release_root / "meta.json").read_text())["ids"]
    released = json.loads((release_root / "cifar10" / "fgsm@Linf_accuracy.json").read_text())
    released = released["cifar10"]["fgsm@Linf"]["accuracy"]
    epsilons = json.loads((release_root / "meta.json").read_text())["epsilons"]["fgsm@Linf"]
    indices = np.arange(NUM_CELLS)
    for position, eps in enumerate(epsilons):
        ours = cifar10_oracle.values_by_index(indices, f"fgsm@{eps}/255")
        expected = [released[meta[str(i)]["isomorph"]][position] for i in range(NUM_CELLS)]
        assert ours.tolist() == expected  # exact float equality, no rounding drift


def test_isomorphs_resolve_to_their_representative(cifar10_oracle: TabularOracle) -> None:
    meta = cifar10_oracle.meta
    members = np.flatnonzero(meta.representative != np.arange(NUM_CELLS))[:50]
    for index in members:
        arch = cifar10_oracle.parse_arch(int(index))
        rep = int(meta.representative[index])
        assert cifar10_oracle.representative_index(arch) == rep
        assert cifar10_oracle.value(arch, "pgd@0.5/255") == cifar10_oracle.value(rep, "pgd@0.5/255")


def test_vectorised_evaluation_matches_single_lookups(cifar10_oracle: TabularOracle) -> None:
    rng = np.random.default_rng(3)
    archs = [Arch.random(rng) for _ in range(300)]
    result = cifar10_oracle.evaluate(archs, "square@2/255")
    assert len(result) == 300 and (result.cost_seconds == 0).all()
    for arch, value, clean in zip(archs[:30], result.values, result.clean, strict=False):
        assert cifar10_oracle.value(arch, "square@2/255") == value
        assert cifar10_oracle.value(arch, "clean") == clean
    codes = np.array([a.code for a in archs])
    assert cifar10_oracle.values_by_code(codes, "square@2/255").tolist() == result.values.tolist()


def test_optimum_rank_and_the_chance_level_optimum_at_8_over_255(cifar10_oracle: TabularOracle) -> None:
    assert cifar10_oracle.optimum("pgd@1/255") == 0.588
    best = cifar10_oracle.best_indices("pgd@1/255")
    assert cifar10_oracle.rank(cifar10_oracle.parse_arch(best[0]), "pgd@1/255") == 1
    assert cifar10_oracle.rank(cifar10_oracle.parse_arch(13433), "pgd@1/255") > 1
    # at 8/255 the only 0.100 values belong to constant-output networks (clean 0.100)
    assert cifar10_oracle.optimum("pgd@8/255") == 0.1
    for index in cifar10_oracle.best_indices("pgd@8/255"):
        assert cifar10_oracle.value(index, "clean") == 0.1


def test_aggregates_are_means_of_their_columns(cifar10_oracle: TabularOracle) -> None:
    eps = cifar10_oracle.meta.epsilons["pgd@Linf"]
    columns = [cifar10_oracle.value(13433, f"pgd@{e}/255") for e in eps]
    assert cifar10_oracle.value(13433, "pgd@mean") == pytest.approx(np.mean(columns), abs=1e-15)
    severities = [cifar10_oracle.value(13433, f"fog@{s}") for s in range(1, 6)]
    assert cifar10_oracle.value(13433, "fog@mean") == pytest.approx(np.mean(severities), abs=1e-15)
    assert 0 < cifar10_oracle.value(13433, "adversarial@mean") < 0.893


def test_dataframe_is_indexed_by_the_nb201_index(cifar10_oracle: TabularOracle, release_root) -> None:
    frame = cifar10_oracle.dataframe(["clean", "pgd@1/255"])
    assert len(frame) == NUM_CELLS and frame.index.name == "nb201_index"
    assert (frame.index.to_numpy() == np.arange(NUM_CELLS)).all()
    assert list(frame.columns) == ["arch", "representative", "clean", "pgd@1/255"]
    # expectations straight from the released JSON
    meta = json.loads((release_root / "meta.json").read_text())["ids"]
    clean = json.loads((release_root / "cifar10" / "clean_accuracy.json").read_text())
    clean = clean["cifar10"]["clean"]["accuracy"]
    for index in (0, 13433, 15624):
        entry = meta[str(index)]
        assert frame.loc[index, "arch"] == entry["nb201-string"]
        assert frame.loc[index, "representative"] == int(entry["isomorph"])
        assert frame.loc[index, "clean"] == clean[str(entry["isomorph"])]


def test_dataframe_takes_one_objective_as_well_as_a_list(cifar10_oracle: TabularOracle) -> None:
    one = cifar10_oracle.dataframe("clean")
    assert list(one.columns) == ["arch", "representative", "clean"]
    assert one.equals(cifar10_oracle.dataframe(["clean"]))
    assert one.equals(cifar10_oracle.dataframe(Objective.parse("clean")))
    with pytest.raises(InvalidObjectiveError):
        cifar10_oracle.dataframe("pgd@7/255")
    # what is neither a name nor a list of names is an unknown objective, not "'int' object is not iterable"
    for bad in (5, 2.5):
        with pytest.raises(InvalidObjectiveError, match=f"unknown objective '{bad}'"):
            cifar10_oracle.dataframe(bad)  # type: ignore[arg-type]


def test_whole_table_dataframe_gives_no_performance_warning(release_root, tmp_path) -> None:
    import warnings

    import pandas as pd

    oracle = TabularOracle("cifar10", data=release_root, cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        frame = oracle.dataframe()
    assert frame.shape[1] > 100  # every key at every point: the case that fragmented the frame
    frame["mine"] = 0.0  # the frame is the caller's: writable, and not a view of the oracle's data
    frame.loc[13433, ["clean", "representative"]] = 0
    assert oracle.value(13433, "clean") == 0.893 and oracle.meta.representative[13433] != 0


def test_arrays_handed_out_are_read_only(release_root, tmp_path) -> None:
    oracle = TabularOracle("cifar10", data=release_root, cache_dir=tmp_path)
    before = oracle.value(13433, "pgd@1/255")
    for array in (oracle.meta.row_of_index, oracle.meta.index_of_code, oracle.meta.code_of_index,
                  oracle.meta.representative, oracle.meta.representatives,
                  oracle.objective_values("pgd@1/255"), oracle.objective_values("pgd@mean"),
                  oracle.table.key_array("pgd@Linf")):
        with pytest.raises(ValueError, match="read-only"):
            array[:] = 0
    with pytest.raises(TypeError):
        oracle.table.objective_list(oracle.validate("clean"))[0] = 0.0
    assert oracle.value(13433, "pgd@1/255") == before
    assert oracle.values_by_index([13433], "pgd@1/255")[0] == before
    assert oracle.evaluate([oracle.parse_arch(13433)], "pgd@1/255").values[0] == before


def test_repr_names_dataset_root_and_counts(release_root, tmp_path) -> None:
    oracle = TabularOracle("cifar10", data=release_root, cache_dir=tmp_path)
    text = repr(oracle)
    assert text.startswith("TabularOracle(dataset='cifar10', ")
    assert f"data={str(release_root)!r}" in text
    assert "cells=15625" in text and "classes=6466" in text
    keys = len({p.name.split("_accuracy")[0] for p in (release_root / "cifar10").glob("*_accuracy.json")})
    assert f"keys={keys}," in text and "files_read=1)" in text
    oracle.value(0, "pgd@1/255")
    assert "files_read=2)" in repr(oracle)


def test_imagenet_has_attacks_but_no_corruptions(release_root, tmp_path) -> None:
    oracle = TabularOracle("ImageNet16-120", data=release_root, cache_dir=tmp_path)
    assert 0 < oracle.value(13433, "clean") < 1
    # said as a fact of the release, not as 'no gaussian_noise results in this table', which
    # reads like a download that stopped short
    for objective in ("gaussian_noise@1", "fog@mean", "corruption@mean"):
        with pytest.raises(InvalidObjectiveError, match=re.escape(
                f"{objective}: ImageNet16-120 has no corruption results (the release has none for it: "
                "only cifar10 and cifar100 have corruption results); ask for clean, an attack")):
            oracle.validate(objective)
    assert 0 <= oracle.value(13433, "adversarial@mean") <= 1  # its attacks are all there


def test_a_built_table_without_corruptions_lists_what_it_holds(tmp_path) -> None:
    # the release's advice (ask for an attack or adversarial@mean) named objectives this table
    # does not have; its own error lists the keys it does
    from tests.release_fixture import write_release

    oracle = TabularOracle(data=write_release(tmp_path / "built", keys=("clean",)), cache_dir=False)
    for objective, message in (("fog@mean", "no fog results in this table; it has: clean"),
                               ("gaussian_noise@1", "no gaussian_noise results in this table; it has: clean"),
                               ("corruption@mean", "this table holds no corruption results")):
        with pytest.raises(InvalidObjectiveError) as refused:
            oracle.validate(objective)
        assert str(refused.value) == message


def test_cache_dir_false_writes_no_cache_anywhere(tmp_path, monkeypatch) -> None:
    root = write_release(tmp_path / "data")
    monkeypatch.setenv("ROBNAS_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))

    release = {p for p in tmp_path.rglob("*") if p.is_file()}

    def written() -> list[Path]:  # anywhere, the data folder included
        return sorted(p for p in tmp_path.rglob("*") if p.is_file() and p not in release)

    uncached = TabularOracle("cifar10", data=root, cache_dir=False)
    values = uncached.objective_values("pgd@1/255")
    assert uncached.value(5, "clean") == synthetic_value(int(uncached.meta.representative[5]))
    assert written() == []
    cached = TabularOracle("cifar10", data=root)  # the default: the cache dir is used
    assert np.array_equal(cached.objective_values("pgd@1/255"), values)
    assert written() and all(p.is_relative_to(tmp_path / "default-cache") for p in written())


def test_missing_files_are_named(tmp_path) -> None:
    root = write_release(tmp_path / "data", keys=("clean",))
    oracle = TabularOracle("cifar10", data=root, cache_dir=tmp_path / "cache")
    assert oracle.value(5, "clean") == synthetic_value(int(oracle.meta.representative[5]))
    with pytest.raises(InvalidObjectiveError, match="no pgd@Linf results"):
        oracle.validate("pgd@1/255")
    with pytest.raises(DataNotFoundError, match=r"cifar10/pgd@Linf_accuracy.json is not in"):
        oracle.table.key_array("pgd@Linf")
    with pytest.raises(DataNotFoundError, match="no robustness data at"):
        TabularOracle("cifar10", data=tmp_path / "nowhere")


def test_incomplete_and_corrupt_files_are_rejected(tmp_path) -> None:
    root = write_release(tmp_path / "data", drop_ids=3)
    with pytest.raises(DataFormatError, match="3 representative ids have no value"):
        TabularOracle("cifar10", data=root, cache_dir=tmp_path / "c1").value(0, "clean")
    (root / "cifar10" / "clean_accuracy.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="not a readable JSON file"):
        TabularOracle("cifar10", data=root, cache_dir=tmp_path / "c2").value(0, "clean")
    (root / "cifar10" / "clean_accuracy.json").write_text(json.dumps({"cifar10": {"pgd": {}}}))
    with pytest.raises(DataFormatError, match="does not hold cifar10 -> clean -> accuracy"):
        TabularOracle("cifar10", data=root, cache_dir=tmp_path / "c3").value(0, "clean")


def test_objective_parse_is_reused_not_repeated(cifar10_oracle: TabularOracle) -> None:
    objective = Objective.parse("apgd@1/255")
    assert cifar10_oracle.validate(objective) == cifar10_oracle.validate("aa_apgd-ce@Linf@1/255")


@pytest.mark.parametrize("objective", ["pgd@1/255", "adversarial@mean", "corruption@mean", "clean"])
def test_single_and_vectorised_paths_agree_bit_for_bit(cifar10_oracle: TabularOracle, objective: str) -> None:
    indices = np.arange(0, NUM_CELLS, 37)
    vectorised = cifar10_oracle.values_by_index(indices, objective)
    single = [cifar10_oracle.value(int(i), objective) for i in indices]
    assert vectorised.tolist() == single
    column = cifar10_oracle.objective_values(objective)
    best = cifar10_oracle.best_indices(objective)
    assert cifar10_oracle.optimum(objective) == column.max()
    assert all(cifar10_oracle.value(i, objective) == column.max() for i in best)
    assert len(best) == int((column == column.max()).sum())


def test_whole_table_as_one_dataframe(release_root, tmp_path) -> None:
    oracle = TabularOracle("ImageNet16-120", data=release_root, cache_dir=tmp_path)
    frame = oracle.dataframe()
    eps = oracle.meta.epsilons
    assert frame.shape == (15625, 2 + 1 + sum(len(v) for v in eps.values()))
    assert "pgd@8/255" in frame.columns and "fgsm@255/255" in frame.columns
    assert frame.loc[13433, "clean"] == oracle.value(13433, "clean")


def test_confusion_matrices_agree_with_clean_accuracy(cifar10_oracle: TabularOracle) -> None:
    from robnas.vocabulary import Measure

    cms = cifar10_oracle.table.key_array("clean", Measure.CM)
    assert cms.shape == (6466, 10, 10)
    assert (cms.sum(axis=(1, 2)) == 10_000).all()  # counts over the 10,000 test images
    clean = cifar10_oracle.table.key_array("clean")
    from_cm = np.trace(cms, axis1=1, axis2=2) / 10_000
    assert np.abs(from_cm - clean).max() <= 0.0005 + 1e-12  # released accuracies round to 3 decimals


@pytest.mark.parametrize(("indices", "message"), [
    ([-1], "NB201 indices must be in 0..15624, got -1"),  # numpy: cell 15624's value
    ([15625], "NB201 indices must be in 0..15624, got 15625"),
    ([0, 1.5], "NB201 indices must be whole numbers in 0..15624, got 1.5"),  # numpy: cell 1
    (["1"], "got '1'"), ([True], "got True")])
def test_vectorised_lookups_refuse_what_is_no_cell(cifar10_oracle: TabularOracle, indices, message) -> None:
    with pytest.raises(InvalidArchError, match=re.escape(message)):
        cifar10_oracle.values_by_index(indices, "pgd@1/255")
    with pytest.raises(InvalidArchError, match=re.escape(message.replace("NB201 indices", "cell codes"))):
        cifar10_oracle.values_by_code(np.asarray(indices), "clean")
    whole = cifar10_oracle.values_by_index(np.array([13433.0, 0.0]), "pgd@1/255")  # whole floats pass
    assert list(whole) == [cifar10_oracle.value(13433, "pgd@1/255"), cifar10_oracle.value(0, "pgd@1/255")]


def test_every_single_cell_method_takes_an_index_or_a_string(cifar10_oracle: TabularOracle) -> None:
    arch = cifar10_oracle.parse_arch(13433)
    for cell in (13433, arch.to_string(), arch):
        assert cifar10_oracle.index_of(cell) == 13433
        assert cifar10_oracle.representative_index(cell) == cifar10_oracle.representative_index(arch)
        assert cifar10_oracle.rank(cell, "pgd@1/255") == cifar10_oracle.rank(arch, "pgd@1/255")
        assert cifar10_oracle.evaluate([cell], "pgd@1/255").values[0] == cifar10_oracle.value(arch, "pgd@1/255")
    with pytest.raises(InvalidArchError, match=r"NB201 index must be in 0\.\.15624"):
        cifar10_oracle.rank(15625, "clean")


@pytest.mark.parametrize("text", ["1.5", "1e3", "13433.0", "-2.5"])
def test_a_number_that_is_no_index_is_called_one(cifar10_oracle: TabularOracle, text: str) -> None:
    # was "not an NB201 string (expected 3 nodes joined by '+'): '1.5'"
    with pytest.raises(InvalidArchError, match=r"NB201 index must be a whole number in 0\.\.15624, got '"):
        cifar10_oracle.parse_arch(text)


@pytest.mark.parametrize("index", [72, 3, 13433])
def test_a_cost_rank_counts_the_other_classes_cheaper_than_the_cell_itself(cifar10_oracle: TabularOracle,
                                                                           index: int) -> None:
    # a cost is the cell's own; isomorph 72 (params 0.101306) counted its own class, whose
    # representative 3 costs 0.073306, as cheaper than itself: rank 114 instead of 113
    from robnas import cost

    meta = cifar10_oracle.meta
    own = cost.params(meta.arch_at(index), "cifar10")
    others = [int(rep) for rep in np.unique(meta.representatives) if meta.row_of(int(rep)) != meta.row_of(index)]
    expected = 1 + sum(cost.params(meta.arch_at(rep), "cifar10") < own for rep in others)
    assert cifar10_oracle.rank(index, "params") == expected


def test_evaluate_refuses_one_cell_where_it_takes_a_list(cifar10_oracle: TabularOracle) -> None:
    # a string was read as a list of its characters ("not an NB201 string ...: '|'"), an index
    # raised TypeError: 'int' object is not iterable
    arch = cifar10_oracle.parse_arch(13433)
    for cell in (13433, np.int64(13433), arch.to_string(), arch):
        with pytest.raises(InvalidArchError, match=r"^evaluate takes a list of cells, got one: .*; use evaluate\(\["):
            cifar10_oracle.evaluate(cell, "pgd@1/255")  # type: ignore[arg-type]
    assert cifar10_oracle.evaluate(np.array([13433]), "pgd@1/255").values.tolist() == [0.336]
    assert cifar10_oracle.evaluate((c for c in [13433]), "pgd@1/255").values.tolist() == [0.336]
