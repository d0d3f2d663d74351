"""compute_measures: the store (cache, resume), seeds, workers, weights, load_measures.

Data-dependent measures read fixture test sets written in CIFAR-10's real on-disk format
(``dataset_fixtures.write_cifar10``): no CIFAR images are needed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.meta import SpaceMeta
from robnas.evaluation.datasets import load_test_set
from robnas.evaluation.measures import (
    MEASURES,
    Measure,
    MeasureError,
    MeasureRequest,
    MeasureStore,
    compute_measures,
    get_measure,
    load_batch,
    load_measures,
)
from robnas.evaluation.network import build_network
from tests.evaluation.dataset_fixtures import write_cifar10
from tests.evaluation.nats_fixture import write_nats_archive

CELLS = [13433, 0, 9930]


@pytest.fixture(scope="module")
def meta(release_root: Path, tmp_path_factory: pytest.TempPathFactory) -> SpaceMeta:
    return SpaceMeta.load(release_root / "meta.json", ArrayCache(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    write_cifar10(root, n=20)
    return root


def _request(images: Path | None, *names: str, **kw: object) -> MeasureRequest:
    return MeasureRequest(tuple(get_measure(n) for n in names), "cifar10", images=images,
                          batch_size=kw.pop("batch_size", 4), **kw)  # type: ignore[arg-type]


def test_values_equal_a_direct_computation_and_the_store_answers_repeats(meta, images, tmp_path) -> None:
    store = MeasureStore(tmp_path / "s.sqlite")
    request = _request(images, "l2_norm", "nwot")
    state = torch.random.get_rng_state()
    first = compute_measures(request, CELLS, meta, store=store)
    assert torch.equal(state, torch.random.get_rng_state())
    assert (first.computed, first.cached) == (6, 0)
    frame = first.frame
    assert frame.index.name == "nb201_index"
    assert list(frame.columns) == ["arch", "representative", "l2_norm", "nwot",
                                   "l2_norm_seconds", "nwot_seconds"]
    assert list(frame.index) == CELLS and (frame["l2_norm_seconds"] >= 0).all()
    # independently: the seeded default initialisation and the seeded draw of 4 test images
    test = load_test_set("cifar10", images)
    rows = np.sort(np.random.default_rng(0).choice(len(test.labels), size=4, replace=False))
    batch = load_batch("cifar10", images, 4, 0)
    assert torch.equal(batch.images, test.images[rows]) and torch.equal(batch.labels, test.labels[rows])
    for index, l2, nw in zip(CELLS, frame["l2_norm"], frame["nwot"], strict=True):
        torch.manual_seed(0)
        net = build_network(meta.arch_at(index), "cifar10")
        torch.random.set_rng_state(state)
        assert l2 == pytest.approx(MEASURES["l2_norm"](net, batch), rel=1e-12)
        assert nw == pytest.approx(MEASURES["nwot"](net, batch), rel=1e-12)
    again = compute_measures(request, CELLS, meta, store=store)
    assert (again.computed, again.cached) == (0, 6)
    assert again.frame.equals(first.frame)


def test_another_seed_or_batch_size_is_another_fingerprint(meta, images, tmp_path) -> None:
    store = MeasureStore(tmp_path / "s.sqlite")
    base = compute_measures(_request(images, "l2_norm"), CELLS[:1], meta, store=store)
    other = compute_measures(_request(images, "l2_norm", seed=1), CELLS[:1], meta, store=store)
    assert other.computed == 1 and other.frame["l2_norm"].iloc[0] != base.frame["l2_norm"].iloc[0]
    assert compute_measures(_request(images, "l2_norm", batch_size=5), CELLS[:1], meta, store=store).computed == 1


def flaky(network, batch) -> float:
    """A user's measure that fails while a marker file exists (to simulate a killed run)."""
    import os

    if os.path.exists(os.environ["ROBNAS_TEST_FAIL_MARKER"]) and "none" not in network.arch.to_string():
        raise RuntimeError("boom")
    return float(sum(p.numel() for p in network.parameters()))


def test_a_failed_run_keeps_finished_cells_and_resumes(meta, images, tmp_path, monkeypatch) -> None:
    marker = tmp_path / "fail"
    marker.touch()
    monkeypatch.setenv("ROBNAS_TEST_FAIL_MARKER", str(marker))
    cells = [i for i in range(40) if "none" in meta.arch_at(i).to_string()][:2]
    cells.append(CELLS[0])  # 13433 has no 'none' op: fails while the marker exists
    store = MeasureStore(tmp_path / "s.sqlite")
    request = MeasureRequest((get_measure("tests.evaluation.test_measures_compute:flaky"),), "cifar10",
                             images=images, batch_size=4)
    with pytest.raises(MeasureError, match=f"flaky failed on NB201 index {CELLS[0]}: RuntimeError: boom"):
        compute_measures(request, cells, meta, store=store)
    marker.unlink()
    resumed = compute_measures(request, cells, meta, store=store)
    assert (resumed.computed, resumed.cached) == (1, 2)
    assert resumed.frame["flaky"].notna().all()


@pytest.mark.slow  # starts two spawned workers (torch import in each)
def test_two_worker_processes_give_the_same_values(meta, tmp_path) -> None:
    request = _request(None, "l2_norm")
    cells = [0, 1, 2, 3, 13433]
    alone = compute_measures(request, cells, meta, store=MeasureStore(tmp_path / "a.sqlite"))
    pooled = compute_measures(request, cells, meta, store=MeasureStore(tmp_path / "b.sqlite"), jobs=2, chunk=2)
    assert pooled.computed == 5
    assert pooled.frame["l2_norm"].tolist() == alone.frame["l2_norm"].tolist()


def test_data_dependent_measures_need_images() -> None:
    with pytest.raises(MeasureError, match="jacov needs test images"):
        MeasureRequest((MEASURES["jacov"], MEASURES["synflow"]), "cifar10")
    with pytest.raises(MeasureError, match="jacov, nwot need test images"):
        MeasureRequest((MEASURES["jacov"], MEASURES["nwot"]), "cifar10")
    with pytest.raises(MeasureError, match="each measure once"):
        MeasureRequest((MEASURES["synflow"], MEASURES["synflow"]), "cifar10")


def test_robustness_measures_use_released_weights_when_given(meta, images, tmp_path) -> None:
    index = CELLS[0]
    written = write_nats_archive(tmp_path / "nats", {index: meta.arch_at(index)}, datasets=("cifar10",),
                                 epochs=(200,), seeds=(777,), channels=4, cells=1)
    store = MeasureStore(tmp_path / "s.sqlite")
    request = _request(images, "jacobian_norm", "l2_norm", weights=tmp_path / "nats")
    assert request.settings(MEASURES["jacobian_norm"]).weights == f"nats:{(tmp_path / 'nats').resolve()}:e200:sdefault"
    assert request.settings(MEASURES["l2_norm"]).weights == "init"  # zero-cost proxies stay at init
    frame = compute_measures(request, [index], meta, store=store).frame
    net = build_network(meta.arch_at(index), "cifar10", channels=4, cells_per_stage=1)
    net.load_state_dict(written[(index, "cifar10", 200, 777)])
    expected = MEASURES["jacobian_norm"](net.eval(), load_batch("cifar10", images, 4, 0))
    assert frame["jacobian_norm"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_load_measures_reads_the_store_and_files(meta, images, tmp_path) -> None:
    store_path = tmp_path / "s.sqlite"
    result = compute_measures(_request(None, "l2_norm", "synflow"), CELLS, meta, store=MeasureStore(store_path))
    loaded = load_measures(store_path, ["l2_norm", "synflow"], batch_size=4)
    assert loaded.index.name == "nb201_index" and list(loaded.index) == sorted(CELLS)
    expected = result.frame.loc[sorted(CELLS), ["l2_norm", "synflow"]]
    assert np.array_equal(loaded.to_numpy(), expected.to_numpy())
    result.frame.reset_index().to_parquet(tmp_path / "m.parquet", index=False)
    from_file = load_measures(tmp_path / "m.parquet")
    assert list(from_file.columns) == ["l2_norm", "synflow"]
    assert np.array_equal(from_file.to_numpy(), expected.to_numpy())
    with pytest.raises(MeasureError, match=r"no l2_norm values .* batch_size=64.*it holds: 3 cells with batch_size=4"):
        load_measures(store_path, ["l2_norm"])
    for bad in ({"seed": "x"}, {"seed": -1}, {"batch_size": 0}, {"batch_size": 2.5}):
        with pytest.raises(MeasureError, match=r"must be a whole number >= \d, got"):
            load_measures(store_path, ["l2_norm"], **bad)
    for source in (store_path, tmp_path / "m.parquet"):  # one name is a list of one, not of letters
        with pytest.raises(ValueError, match=r"measures must be a list \(e.g. \['l2_norm'\]\)"):
            load_measures(source, "l2_norm", batch_size=4)


def test_a_users_function_is_a_measure() -> None:
    def ones(network, batch) -> float:
        """Always one."""
        return 1.0

    measure = Measure.from_function(ones, needs_data=False)
    assert (measure.name, measure.summary, measure.identity().endswith("ones")) == ("ones", "Always one.", True)
    assert math.isclose(measure(None, None), 1.0)
    with pytest.raises(MeasureError, match="unknown measure 'nope'"):
        get_measure("nope")
    with pytest.raises(MeasureError, match="cannot import"):
        get_measure("no_such_module:thing")


def weight_total(network, batch) -> float:
    """Sum of the absolute weights (data-free, as its flags say)."""
    return float(sum(p.abs().sum() for p in network.parameters()))


weight_total.measure_flags = {"needs_data": False, "uses_trained_weights": False}


def test_a_functions_declared_flags_count_whether_given_itself_or_by_path() -> None:
    by_path = get_measure("tests.evaluation.test_measures_compute:weight_total")
    itself = get_measure(weight_total)
    for measure in (itself, by_path):
        assert (measure.name, measure.needs_data, measure.uses_trained_weights) == ("weight_total", False, False)
    MeasureRequest((itself,), "cifar10")  # data-free: no --images needed

    def plain(network, batch) -> float:
        return 0.0

    assert get_measure(plain).needs_data is True  # no flags: taken to need test images
    plain.measure_flags = {"needs_dat": False}  # type: ignore[attr-defined]
    with pytest.raises(MeasureError, match=r"plain\.measure_flags: unknown 'needs_dat'; known: needs_data"):
        get_measure(plain)
    plain.measure_flags = ["needs_data"]  # type: ignore[attr-defined]
    with pytest.raises(MeasureError, match="must be a dict, got list"):
        get_measure(plain)


def test_measures_share_the_live_results_file_with_its_own_table(tmp_path) -> None:
    from robnas.evaluation.store import ResultKey, ResultStore

    path = tmp_path / "live.sqlite"
    ResultStore(path).put(ResultKey("cifar10", "1", "clean", None, "none", "w", 10), correct=5, n=10, seconds=1.0)
    settings = _request(None, "synflow").settings(MEASURES["synflow"])
    MeasureStore(path).put_many(settings, [(1, float("nan"), 0.5, "cpu")])
    assert ResultStore(path).count() == 1
    value, seconds = MeasureStore(path).values(settings)[1]
    assert math.isnan(value) and seconds == 0.5


def test_params_and_flops_come_from_the_cost_metrics_without_a_network(meta, tmp_path, monkeypatch) -> None:
    from robnas import cost
    from robnas.evaluation.measures._compute import CellContext

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("params/flops must not build a network")

    monkeypatch.setattr(CellContext, "network", no_network)
    frame = compute_measures(_request(None, "params", "flops"), CELLS, meta,
                             store=MeasureStore(tmp_path / "s.sqlite")).frame
    for index, p, f in zip(CELLS, frame["params"], frame["flops"], strict=True):
        net = build_network(meta.arch_at(index), "cifar10")  # independent: count the real network's weights
        assert p == pytest.approx(sum(t.numel() for t in net.parameters()) / 1e6)
        assert f == cost.flops(meta.arch_at(index), "cifar10")


def _forward_mean(network, batch):
    """A user's measure that runs the network as it is given (training mode at initialisation)."""
    return float(network(batch.images).mean().detach())


def test_a_users_measure_cannot_change_the_network_the_next_measure_sees(meta, images, tmp_path) -> None:
    # the cell's network is built once for all its measures: a user's forward pass in training
    # mode moved its batch-norm statistics, and jacobian_norm (evaluation mode) changed with it
    alone = compute_measures(_request(images, "jacobian_norm"), CELLS[:2], meta,
                             store=MeasureStore(tmp_path / "alone.sqlite"))
    mine = Measure.from_function(_forward_mean, needs_data=True)
    request = MeasureRequest((mine, MEASURES["jacobian_norm"]), "cifar10", images=images, batch_size=4)
    together = compute_measures(request, CELLS[:2], meta, store=MeasureStore(tmp_path / "together.sqlite"))
    assert together.frame["jacobian_norm"].tolist() == alone.frame["jacobian_norm"].tolist()
    assert together.frame["_forward_mean"].notna().all()
