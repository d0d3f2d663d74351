"""Transfer priors for multi-objective search: another dataset's table of the same objectives
(``hvi`` ``prior=DATASET``, ``pls`` ``warmup=DATASET``), resolved by robnas.priors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from robnas.arch import NUM_CELLS, Arch
from robnas.cli.main import main
from robnas.cost import params
from robnas.errors import RunRecordError
from robnas.multi_loop import run_multi_search
from robnas.priors import PriorError, objective_scores, provide_scores
from robnas.searchers import HypervolumeImprovementSearch, ParetoLocalSearch
from tests.release_json import released, representative

GP = {"surrogate": "gp", "features": "edges", "ucb": 1.0}


def _fronts(columns: list[dict[int, float]]) -> list[set[int]]:
    """Non-dominated fronts (sets of representative ids) of released values, all maximised,
    by plain pairwise dominance (no robnas, no Optuna)."""
    ids = sorted(columns[0])
    points = np.array([[column[i] for column in columns] for i in ids])
    left = np.arange(len(ids))
    fronts = []
    while left.size and len(fronts) < 3:
        sub = points[left]
        dominated = np.zeros(len(left), dtype=bool)
        for start in range(0, len(left), 512):
            block = sub[start:start + 512]
            ge = (sub[None, :, :] >= block[:, None, :]).all(axis=2)
            gt = (sub[None, :, :] > block[:, None, :]).any(axis=2)
            dominated[start:start + 512] = (ge & gt).any(axis=1)
        fronts.append({ids[i] for i in left[~dominated]})
        left = left[dominated]
    return fronts


def test_scores_are_the_other_tables_released_values(release_root, cifar10_oracle) -> None:
    """CIFAR-10 search, prior ImageNet16-120: each accuracy column is ImageNet16-120's released
    value of the cell's class, a minimised one negated; a cost column is CIFAR-10's own cost."""
    pgd = released(release_root, "ImageNet16-120", "pgd@Linf", 1.0)
    clean = released(release_root, "ImageNet16-120", "clean")
    scores, _ = objective_scores("imagenet16-120", cifar10_oracle, ["pgd@1/255", "clean"])
    costs, record = objective_scores("ImageNet16-120", cifar10_oracle, ["pgd@1/255:min", "params:min"])
    assert scores.shape == costs.shape == (NUM_CELLS, 2)
    for index in (0, 1, 777, 8865, 13433, NUM_CELLS - 1):
        arch = cifar10_oracle.parse_arch(index)
        rep = representative(release_root, index)
        assert scores[arch.code, 0] == pytest.approx(pgd[rep])
        assert scores[arch.code, 1] == pytest.approx(clean[rep])
        assert costs[arch.code, 0] == pytest.approx(-pgd[rep])
        assert costs[arch.code, 1] == pytest.approx(-params(arch, "cifar10"))
    assert record["costs"] == "robnas.cost on cifar10" and record["dataset"] == "ImageNet16-120"
    assert sorted(record["checksums"]) == ["ImageNet16-120/pgd@Linf_accuracy.json", "meta.json"]


@pytest.mark.parametrize(("measure", "objectives", "message"), [
    ("cifar10", ["pgd@1/255", "clean"], "is the table being searched"),
    ("CIFAR-10", ["pgd@1/255", "params:min"], "is the table being searched"),
    ("imagenet16-120/clean", ["pgd@1/255", "clean"], "names another dataset of the release"),
    ("params", ["pgd@1/255", "clean"], "names another dataset of the release"),
    ("imagenet16-120", ["params:min", "flops:min"], "are all costs"),
    ("cifar100", ["pgd@1/255", "clean"], "dataset cifar100 is not installed"),
])
def test_bad_priors_are_refused_in_one_line(cifar10_oracle, measure, objectives, message) -> None:
    with pytest.raises(PriorError, match=message) as info:
        objective_scores(measure, cifar10_oracle, objectives)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize("make", [
    lambda n: HypervolumeImprovementSearch(prior="imagenet16-120", num_init=n, seed=3, **GP),
    lambda n: ParetoLocalSearch(warmup="imagenet16-120", num_init=n, seed=3),
], ids=["hvi", "pls"])
def test_the_warm_start_proposes_the_sources_fronts_first(release_root, cifar10_oracle, make) -> None:
    """The first cells are ImageNet16-120's own (pgd@1/255, clean) first front, then cells of
    its second front (fronts computed here from the released JSON)."""
    fronts = _fronts([released(release_root, "ImageNet16-120", "pgd@Linf", 1.0),
                      released(release_root, "ImageNet16-120", "clean")])
    size = len(fronts[0])
    result = run_multi_search(make(size + 5), cifar10_oracle, ["pgd@1/255", "clean"], size + 5)
    found = [representative(release_root, t["index"]) for t in result.trials]
    assert set(found[:size]) == fronts[0]
    assert set(found[size:]) <= fronts[1]
    # the first two cells are the front's two ends: best pgd@1/255, then best clean
    pgd, clean = (released(release_root, "ImageNet16-120", k, e) for k, e in (("pgd@Linf", 1.0), ("clean", None)))
    assert found[0] == max(fronts[0], key=lambda i: pgd[i])
    assert found[1] == max(fronts[0], key=lambda i: clean[i])


def test_without_a_prior_nothing_changes(cifar10_oracle) -> None:
    """No prior: no scores are resolved and the run is the plain searcher's."""
    searcher = HypervolumeImprovementSearch(seed=2, **GP)
    assert provide_scores(searcher, cifar10_oracle, ["pgd@1/255", "clean"]) is None
    first = run_multi_search(searcher, cifar10_oracle, ["pgd@1/255", "clean"], 15)
    again = run_multi_search(HypervolumeImprovementSearch(seed=2, **GP), cifar10_oracle,
                             ["pgd@1/255", "clean"], 15)
    assert [t["arch"] for t in first.trials] == [t["arch"] for t in again.trials]


def test_the_prior_informs_the_surrogate(cifar10_oracle) -> None:
    """prior_use=start+model (default) and start differ after the warm start, for the GP (a
    linear prior mean) and for the ridge (extra features); their warm starts are the same."""
    for settings in (GP, {}):
        runs = [run_multi_search(HypervolumeImprovementSearch(prior="imagenet16-120", prior_use=use,
                                                              seed=0, **settings),
                                 cifar10_oracle, ["pgd@1/255", "clean"], 40)
                for use in ("start", "start+model")]
        archs = [[t["arch"] for t in run.trials] for run in runs]
        assert archs[0][:10] == archs[1][:10] and archs[0] != archs[1]


def test_provenance_is_recorded_and_a_changed_prior_refused(release_root, tmp_path: Path) -> None:
    from robnas.benchmark import TabularOracle
    from robnas.benchmark.cache import sha256_of

    data = tmp_path / "data"  # a copy of the release, so one of its files can change
    shutil.copytree(release_root, data)
    oracle = TabularOracle("cifar10", data=data, cache_dir=tmp_path / "cache")
    objectives = ["pgd@1/255", "clean"]
    run_dir = tmp_path / "run"

    def searcher() -> HypervolumeImprovementSearch:
        return HypervolumeImprovementSearch(prior="imagenet16-120", seed=1, **GP)

    whole = run_multi_search(searcher(), oracle, objectives, 30)
    run_multi_search(searcher(), oracle, objectives, 20, record_dir=run_dir)
    prior = json.loads((run_dir / "config.json").read_text())["prior"]
    assert prior["dataset"] == "ImageNet16-120" and prior["objectives"] == objectives
    source = data / "ImageNet16-120" / "clean_accuracy.json"
    assert prior["checksums"]["ImageNet16-120/clean_accuracy.json"] == sha256_of(source)
    resumed = run_multi_search(searcher(), oracle, objectives, 30, record_dir=run_dir, resume=True)
    assert [t["arch"] for t in resumed.trials] == [t["arch"] for t in whole.trials]

    document = json.loads(source.read_text())  # another clean accuracy for one class
    values = document["ImageNet16-120"]["clean"]["accuracy"]
    first = next(iter(values))
    values[first] = values[first] + 0.01 if isinstance(values[first], float) else values[first]
    source.write_text(json.dumps(document))
    changed = TabularOracle("cifar10", data=data, cache_dir=tmp_path / "cache2")
    with pytest.raises(RunRecordError, match="prior scores changed"):
        run_multi_search(searcher(), changed, objectives, 40, record_dir=run_dir, resume=True)
    # a resume without the prior is refused too
    with pytest.raises(RunRecordError):
        run_multi_search(HypervolumeImprovementSearch(seed=1, **GP), changed, objectives, 40,
                         record_dir=run_dir, resume=True)


def test_cli_search_records_the_prior_and_refuses_the_searched_table(release_root, tmp_path, capsys) -> None:
    out = tmp_path / "runs"
    common = ["search", "-O", "pgd@1/255", "-O", "params:min", "--data", str(release_root),
              "--budget", "12", "--seed", "4"]
    assert main([*common, "--searcher", "pls", "--param", "warmup=imagenet16-120", "--out", str(out)]) == 0
    (config,) = out.rglob("config.json")
    prior = json.loads(config.read_text())["prior"]
    assert prior["objectives"] == ["pgd@1/255", "params:min"] and prior["costs"] == "robnas.cost on cifar10"
    capsys.readouterr()
    code = main([*common, "--searcher", "hvi", "--param", "prior=cifar10", "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "is the table being searched" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
    code = main([*common, "--searcher", "hvi", "--param", "prior_use=start", "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err  # what a prior does, without one: a mistake, not a setting
    assert code == 2 and "prior_use=start says what a prior does; give one with prior=DATASET" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()


def test_compare_runs_a_prior_variant(release_root, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", "-O", "pgd@1/255", "-O", "clean", "--multi", "--searchers", "random",
                 "-s", "hvi:prior=imagenet16-120", "--seeds", "1", "--budget", "12", "--out", str(out),
                 "--data", str(release_root), "-q"]) == 0
    configs = [json.loads(p.read_text()) for p in out.rglob("config.json")]
    assert sorted(c["searcher"]["name"] for c in configs) == ["hvi", "random"]
    assert [c["prior"]["dataset"] for c in configs if c["searcher"]["name"] == "hvi"] == ["ImageNet16-120"]
    assert all("prior" not in c for c in configs if c["searcher"]["name"] == "random")
    capsys.readouterr()
    code = main(["compare", "-O", "pgd@1/255", "-O", "clean", "--multi", "-s", "hvi:prior=cifar10",
                 "--seeds", "1", "--budget", "5", "--out", str(tmp_path / "bad"),
                 "--data", str(release_root), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "is the table being searched" in err and not (tmp_path / "bad").exists()


def test_arch_codes_of_the_warm_start_are_cells(cifar10_oracle) -> None:
    """The classes a warm start queues are proposed as valid cells of distinct classes."""
    searcher = HypervolumeImprovementSearch(prior="imagenet16-120", num_init=20, seed=0)
    provide_scores(searcher, cifar10_oracle, "pgd@1/255,clean")
    archs = [searcher.ask() for _ in range(20)]
    assert all(isinstance(a, Arch) for a in archs) and len({a.code for a in archs}) == 20


def test_prior_use_start_is_taken_on_the_cli_and_in_a_comparison(release_root, tmp_path, capsys) -> None:
    """The early check, made before the oracle exists, dropped the prior and then refused
    prior_use=start as "a prior_use without a prior": the option could not be used at all."""
    from robnas.compare.plan import plan_runs

    code = main(["search", "-O", "pgd@1/255", "-O", "clean", "--searcher", "hvi", "--param", "prior=imagenet16-120",
                 "--param", "prior_use=start", "--budget", "12", "--seed", "0", "--out", str(tmp_path),
                 "--data", str(release_root)])
    _, err = capsys.readouterr()
    assert code == 0, err
    (config,) = tmp_path.rglob("config.json")
    assert json.loads(config.read_text())["searcher"]["params"]["prior_use"] == "start"
    specs = plan_runs([("hvi", {"prior": "imagenet16-120", "prior_use": "start"})], ["pgd@1/255,clean"],
                      ["cifar10"], [0], 12)
    assert [dict(spec.params)["prior_use"] for spec in specs] == ["start"]
    code = main(["search", "-O", "pgd@1/255", "-O", "clean", "--searcher", "hvi", "--param", "prior_use=start",
                 "--budget", "12", "--out", str(tmp_path / "no"), "--data", str(release_root)])
    assert code == 2 and "prior_use=start says what a prior does" in capsys.readouterr().err
