"""``robnas table build`` and the test images: a build asking for more images than the test set
holds, or on other test images than the table records, is refused before anything is written."""

from __future__ import annotations

import json

import pytest

from robnas.evaluation.datasets import images_identity
from robnas.evaluation.store import ResultStore
from tests.evaluation.dataset_fixtures import write_cifar10
from tests.evaluation.table_fixture import REPRESENTATIVES, write_build_source
from tests.evaluation.table_fixture import run_table_build as _build

N_IMAGES = 6


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    base = tmp_path_factory.mktemp("build-images")
    data, weights, images = write_build_source(base, N_IMAGES)
    options = ["--dataset", "cifar10", "--weights", str(weights), "--images", str(images), "--data", str(data),
               "--n-images", str(N_IMAGES), "--device", "cpu", "-q", "--json"]
    return {"images": images, "options": options}


def test_more_images_than_the_test_set_holds_are_refused_before_anything_is_written(source, tmp_path, capsys):
    root, store = tmp_path / "table", tmp_path / "store.sqlite"
    argv = ["--attack", "clean", "--archs", "representatives", "--out", str(root), "--store", str(store),
            "-j", "1", *source["options"]]
    argv[argv.index("--n-images") + 1] = "10000"
    code, err = _build(argv, capsys)
    assert code == 2 and err == (f"robnas: error: 10000 test images asked for (--n-images), but the cifar10 "
                                 f"test set under {source['images'].resolve()} holds only {N_IMAGES}\n")
    assert not root.exists() and (not store.exists() or ResultStore(store).count() == 0)


def test_a_build_on_other_test_images_is_refused_and_their_identity_recorded(source, tmp_path, capsys):
    root, store = tmp_path / "table", tmp_path / "store.sqlite"
    cell = tmp_path / "one.txt"
    cell.write_text(f"{REPRESENTATIVES[0]}\n")
    common = ["--attack", "clean", "--archs", str(cell), "--out", str(root), "--store", str(store), "-j", "1"]
    code, built = _build([*common, *source["options"]], capsys)
    assert code == 0 and built["evaluated"] == 1
    recorded = images_identity("cifar10", source["images"])
    assert json.loads((root / "provenance.json").read_text())["cifar10"]["clean"]["images_identity"] == recorded
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    other = tmp_path / "other"
    write_cifar10(other, n=N_IMAGES, seed=3)
    options = list(source["options"])
    options[options.index("--images") + 1] = str(other)
    code, err = _build([*common, *options], capsys)
    assert code == 2 and err == (
        f"robnas: error: {root} holds cifar10 clean built with test images {recorded}, not "
        f"{images_identity('cifar10', other)} (--images): build it with the recorded settings "
        f"({root / 'provenance.json'}), or use another --out\n")
    assert {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert ResultStore(store).count() == 1  # nothing evaluated on the other images
