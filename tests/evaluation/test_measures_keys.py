"""What a stored measure value is keyed by: the test images (by content), the weights archive
(not its folder's name), a user's function's code; not batch size and seed where a measure
cannot depend on them. Real fixture files in the datasets' formats, real SQLite stores."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.meta import SpaceMeta
from robnas.evaluation.measures import (
    MEASURES,
    MeasureError,
    MeasureRequest,
    MeasureStore,
    compute_measures,
    get_measure,
    load_batch,
    load_measures,
)
from robnas.evaluation.measures._registry import code_digest
from robnas.evaluation.network import build_network
from tests.evaluation.dataset_fixtures import write_cifar10
from tests.evaluation.nats_fixture import write_nats_archive

CELLS = [13433, 0]


@pytest.fixture(scope="module")
def meta(release_root: Path, tmp_path_factory: pytest.TempPathFactory) -> SpaceMeta:
    return SpaceMeta.load(release_root / "meta.json", ArrayCache(tmp_path_factory.mktemp("cache")))


def _request(images: Path | None, *names: str, **kw: object) -> MeasureRequest:
    return MeasureRequest(tuple(get_measure(n) for n in names), "cifar10", images=images,
                          batch_size=kw.pop("batch_size", 4), **kw)  # type: ignore[arg-type]


def test_other_test_images_are_computed_again_and_a_copy_is_not(meta, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # load_measures names no images: no test set in the working folder
    first, other, copy = tmp_path / "first", tmp_path / "other", tmp_path / "copy"
    write_cifar10(first, n=20, seed=0)
    write_cifar10(other, n=20, seed=5)
    shutil.copytree(first, copy)
    store = MeasureStore(tmp_path / "s.sqlite")
    before = compute_measures(_request(first, "nwot"), CELLS, meta, store=store)
    changed = compute_measures(_request(other, "nwot"), CELLS, meta, store=store)
    assert (changed.computed, changed.cached) == (2, 0)
    alone = compute_measures(_request(other, "nwot"), CELLS, meta, store=MeasureStore(tmp_path / "alone.sqlite"))
    assert changed.frame["nwot"].tolist() == alone.frame["nwot"].tolist()
    assert changed.frame["nwot"].tolist() != before.frame["nwot"].tolist()
    again = compute_measures(_request(copy, "nwot"), CELLS, meta, store=store)  # equal files elsewhere
    assert (again.computed, again.cached) == (0, 2)
    assert again.frame["nwot"].tolist() == before.frame["nwot"].tolist()
    # a lookup that names no images: the values of the one test set, refused among several
    loaded = load_measures(tmp_path / "alone.sqlite", ["nwot"], batch_size=4)
    assert loaded["nwot"].tolist() == alone.frame.loc[sorted(CELLS), "nwot"].tolist()
    with pytest.raises(MeasureError, match=r"holds nwot values for cifar10 under these settings on 2 test sets"
                                           r".*name the images they were computed on: --images DIR"):
        load_measures(store.path, ["nwot"], batch_size=4)
    # naming them picks that set's values among several (a copy of the files as well)
    for images, expected in ((other, changed), (copy, before)):
        named = load_measures(store.path, ["nwot"], batch_size=4, images=images)
        assert named["nwot"].tolist() == expected.frame.loc[sorted(CELLS), "nwot"].tolist()
    from robnas.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="cifar10 test set not found"):
        load_measures(store.path, ["nwot"], batch_size=4, images=tmp_path / "nowhere")
    with pytest.raises(MeasureError, match=r"no nwot values for cifar10 with batch_size=5"):
        load_measures(store.path, ["nwot"], batch_size=5)


def test_a_missing_test_set_is_refused_before_the_store_answers(meta, tmp_path) -> None:
    from robnas.errors import DataNotFoundError

    images = tmp_path / "images"
    write_cifar10(images, n=20)
    store = MeasureStore(tmp_path / "s.sqlite")
    compute_measures(_request(images, "nwot"), CELLS, meta, store=store)
    shutil.rmtree(images)
    with pytest.raises(DataNotFoundError, match="cifar10 test set not found"):
        compute_measures(_request(images, "nwot"), CELLS, meta, store=store)


def test_trained_weights_are_keyed_by_the_archive_not_its_folders_name(meta, tmp_path, monkeypatch) -> None:
    index = CELLS[0]
    images = tmp_path / "images"
    write_cifar10(images, n=20)
    written = {}
    for place, seed in (("one", 777), ("two", 778)):  # two archives in folders named alike
        written[place] = write_nats_archive(tmp_path / place / "nats", {index: meta.arch_at(index)},
                                            datasets=("cifar10",), epochs=(200,), seeds=(seed,))
    store = MeasureStore(tmp_path / "s.sqlite")
    one = compute_measures(_request(images, "jacobian_norm", weights=tmp_path / "one" / "nats"), [index], meta,
                           store=store)
    two = compute_measures(_request(images, "jacobian_norm", weights=tmp_path / "two" / "nats"), [index], meta,
                           store=store)
    assert (two.computed, two.cached) == (1, 0)
    net = build_network(meta.arch_at(index), "cifar10", channels=4, cells_per_stage=1)
    net.load_state_dict(written["two"][(index, "cifar10", 200, 778)])
    expected = MEASURES["jacobian_norm"](net.eval(), load_batch("cifar10", images, 4, 0))
    assert two.frame["jacobian_norm"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert two.frame["jacobian_norm"].iloc[0] != one.frame["jacobian_norm"].iloc[0]
    # the same archive by a relative path: the same key
    absolute = _request(images, "jacobian_norm", weights=tmp_path / "one" / "nats")
    monkeypatch.chdir(tmp_path)
    relative = _request(images, "jacobian_norm", weights=Path("one/nats"))
    assert relative.settings(MEASURES["jacobian_norm"]) == absolute.settings(MEASURES["jacobian_norm"])


MODULE = "robnas_test_edited_measure"


def _write_measure(folder: Path, body: str) -> None:
    (folder / f"{MODULE}.py").write_text(
        f"def score(network, batch):\n    return {body}\n\n"
        "score.measure_flags = {'needs_data': False, 'needs_network': False}\n")


def test_editing_a_users_measure_computes_it_again(meta, tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    store = MeasureStore(tmp_path / "s.sqlite")
    path = f"{MODULE}:score"
    try:
        _write_measure(tmp_path, "1.0")
        first = compute_measures(MeasureRequest((get_measure(path),), "cifar10"), CELLS, meta, store=store)
        assert first.frame["score"].tolist() == [1.0, 1.0]
        _write_measure(tmp_path, "float(len(network.arch.to_string()))")  # edited
        importlib.invalidate_caches()
        importlib.reload(sys.modules[MODULE])
        edited = compute_measures(MeasureRequest((get_measure(path),), "cifar10"), CELLS, meta, store=store)
        assert (edited.computed, edited.cached) == (2, 0)
        assert edited.frame["score"].tolist() == [float(len(meta.arch_at(i).to_string())) for i in CELLS]
        again = compute_measures(MeasureRequest((get_measure(path),), "cifar10"), CELLS, meta, store=store)
        assert (again.computed, again.cached) == (0, 2)
        loaded = load_measures(store.path, [path])  # reading back keys by the same code hash
        assert loaded["score"].tolist() == edited.frame.loc[sorted(CELLS), "score"].tolist()
        # built-in measures are versioned with robnas: no code hash
        assert MeasureRequest((MEASURES["synflow"],), "cifar10").settings(MEASURES["synflow"]).code is None
    finally:
        sys.modules.pop(MODULE, None)


def test_code_digest_without_source_hashes_bytecode_constants_and_names() -> None:
    def made(source: str):
        namespace: dict = {}
        exec(source, namespace)  # no source file: inspect.getsource cannot read it
        return namespace["f"]

    one = made("def f(network, batch):\n    return 1.0\n")
    assert code_digest(one) == code_digest(made("def f(network, batch):\n    return 1.0\n"))
    assert code_digest(one) != code_digest(made("def f(network, batch):\n    return 2.0\n"))
    assert code_digest(made("def f(n, b):\n    return abs(-1.0)\n")) != \
        code_digest(made("def f(n, b):\n    return len(-1.0)\n"))
    nested = "def f(n, b):\n    def g():\n        return {}\n    return g()\n"
    assert code_digest(made(nested.format(1))) != code_digest(made(nested.format(2)))


def test_measures_that_read_only_the_cell_are_keyed_without_batch_size_and_seed(meta, tmp_path) -> None:
    store = MeasureStore(tmp_path / "s.sqlite")
    first = compute_measures(_request(None, "params", "flops"), CELLS, meta, store=store)
    again = compute_measures(_request(None, "params", "flops", batch_size=32, seed=3), CELLS, meta, store=store)
    assert (first.computed, again.computed, again.cached) == (4, 0, 4)
    loaded = load_measures(store.path, ["params", "flops"], batch_size=32, seed=3)
    assert np.array_equal(loaded.to_numpy(), first.frame.loc[sorted(CELLS), ["params", "flops"]].to_numpy())
    settings = _request(None, "params", seed=3).settings(MEASURES["params"])
    assert (settings.batch_size, settings.seed) == (None, None)
    # a measure with a network still depends on both
    compute_measures(_request(None, "l2_norm"), CELLS, meta, store=store)
    assert compute_measures(_request(None, "l2_norm", seed=3), CELLS, meta, store=store).computed == 2
    with pytest.raises(MeasureError, match="no l2_norm values for cifar10 with batch_size=32"):
        load_measures(store.path, ["l2_norm"], batch_size=32)


def test_a_data_free_built_in_keeps_the_fingerprint_it_had() -> None:
    # values of synflow computed before the images and code entered the settings still match
    settings = _request(None, "synflow").settings(MEASURES["synflow"])
    assert (settings.images, settings.code) == (None, None)
    before = {"function": "robnas.evaluation.measures._gradient:synflow", "params": {}, "batch_size": 4,
              "seed": 0, "weights": "init", "real_images": False}
    assert settings.fingerprint() == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]


def test_a_revised_built_in_no_longer_finds_the_values_of_its_earlier_definition(meta, tmp_path) -> None:
    # fisher's definition changed (revision 2: each channel counted once per weight): a store
    # holding values of the first definition must not serve them as fisher's
    images = tmp_path / "images"
    write_cifar10(images, n=20)
    request = _request(images, "fisher")
    settings = request.settings(MEASURES["fisher"])
    assert settings.revision == MEASURES["fisher"].revision == 2
    store = MeasureStore(tmp_path / "s.sqlite")
    store.put_many(dataclasses.replace(settings, revision=None), [(i, 123.0, 0.1, "cpu") for i in CELLS])
    result = compute_measures(request, CELLS, meta, store=store)
    assert (result.computed, result.cached) == (2, 0)
    assert 123.0 not in result.frame["fisher"].tolist()
    assert compute_measures(request, CELLS, meta, store=store).cached == 2  # the new values are kept
    # measures never revised keep their fingerprint (the revision is left out while None)
    assert request.settings(MEASURES["snip"]).revision is None
    # what the README says is revised
    assert {n: m.revision for n, m in MEASURES.items() if m.revision} == {"fisher": 2, "jacov": 2, "epe_nas": 2}


def test_correlate_and_predict_find_params_whatever_the_batch_size_and_seed(cifar10_oracle, tmp_path, capsys):
    from robnas.cli.main import main

    cells = tmp_path / "cells.txt"
    cells.write_text("".join(f"{int(i)}\n" for i in cifar10_oracle.meta.representatives[:30]))
    common = ["--store", str(tmp_path / "s.sqlite"), "--data", str(cifar10_oracle.root)]
    assert main(["measures", "compute", "-m", "params", "--archs", str(cells), *common]) == 0  # batch 64, seed 0
    capsys.readouterr()
    code = main(["measures", "correlate", "-m", "params", "--batch-size", "32", "--seed", "3", "-O", "clean",
                 "--bootstrap", "0", "--json", *common])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [row["cells"] for row in json.loads(captured.out)["correlations"]] == [30]
    code = main(["measures", "predict", "-m", "params", "--batch-size", "32", "-O", "clean", "--seeds", "2",
                 "--trees", "5", *common])
    assert code == 0, capsys.readouterr().err
