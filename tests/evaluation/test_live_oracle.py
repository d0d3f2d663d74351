"""LiveOracle on a NATS-format weights archive, CIFAR-10 files and a release meta, all written here."""

from __future__ import annotations

import shutil

import pytest
import torch

from robnas.arch import Arch
from robnas.errors import DataNotFoundError, InvalidArchError, InvalidObjectiveError, InvalidParameterError
from robnas.evaluation.attacks import count_correct, evaluate_batches
from robnas.evaluation.datasets import load_test_set
from robnas.evaluation.live_oracle import LiveOracle
from robnas.evaluation.store import ResultStore
from robnas.evaluation.weights import WeightsArchive, load_network
from robnas.isomorphism import class_code
from robnas.oracle import Evaluations, Oracle
from tests.evaluation.dataset_fixtures import write_cifar10, write_cifar_c
from tests.evaluation.live_helpers import CELL, FAST
from tests.evaluation.nats_fixture import write_nats_archive
from tests.release_fixture import write_release

N_IMAGES = 20


def _isomorphic_pair() -> tuple[Arch, Arch]:
    """A cell that is not its class's representative, and the representative."""
    arch = next(a for a in map(Arch.from_code, range(0, 15625, 7))
                if class_code(a) != a.code and a.ops.count(0) == 1)
    return arch, Arch.from_code(class_code(arch))


ISOMORPH, REPRESENTATIVE = _isomorphic_pair()
OTHER = Arch.from_string(CELL)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    data = write_release(base / "data")  # synthetic meta: NB201 index = Arch.code
    archs = {a.code: a for a in (REPRESENTATIVE, OTHER)}
    write_nats_archive(base / "weights", archs, datasets=("cifar10",), epochs=(200,), seeds=(777, 888))
    write_cifar10(base / "images", n=N_IMAGES)
    write_cifar_c(base / "images", "fog", n_per_severity=8)
    return {"data": data, "weights": base / "weights", "images": base / "images", "base": base}


def make(roots, store_name="store.sqlite", **kwargs) -> LiveOracle:
    options = {"protocol": FAST, "device": "cpu", "batch_size": 8, "images": roots["images"],
               "store": roots["base"] / store_name, **kwargs}
    return LiveOracle("cifar10", weights=roots["weights"], data=roots["data"], **options)


def test_is_an_oracle_like_the_tabular_one(roots):
    oracle = make(roots)
    assert isinstance(oracle, Oracle)
    assert oracle.optimum("pgd@1/255") is None and oracle.rank(OTHER, "pgd@1/255") is None
    with pytest.raises(InvalidObjectiveError, match="valid choices"):
        oracle.validate("pgd@2/255")  # the synthetic release's pgd grid is 0.1, 1, 8
    assert [t.point for t in oracle.validate("pgd@mean")] == [0.1, 1.0, 8.0]
    with pytest.raises(InvalidObjectiveError, match="params is computed, not measured"):
        oracle.validate("params")
    with pytest.raises(InvalidArchError, match="evaluate takes a list of cells, got one"):
        oracle.evaluate(OTHER, "clean")  # not read as a list of characters or digits
    provenance = oracle.provenance()
    assert provenance["mode"] == "live" and provenance["protocol"]["fingerprint"] == FAST.fingerprint()
    assert {"weights", "images", "device", "torch", "torchattacks", "checksums"} <= provenance.keys()
    weights, images = str(roots["weights"].resolve()), str(roots["images"].resolve())
    assert repr(oracle) == (
        f"LiveOracle(dataset='cifar10', weights={weights!r}, images={images!r}, n_images='all', "
        f"device='cpu', store={str(roots['base'] / 'store.sqlite')!r}, batches_run=0)")


def test_values_are_the_networks_real_accuracies(roots):
    oracle = make(roots, "real.sqlite")
    result = oracle.evaluate([OTHER], "pgd@8/255")
    assert isinstance(result, Evaluations) and len(result) == 1
    net = load_network(WeightsArchive(roots["weights"]), OTHER.code, OTHER, "cifar10")
    test = load_test_set("cifar10", roots["images"])
    assert result.clean[0] == count_correct(net, test.images, test.labels) / N_IMAGES
    correct, n = evaluate_batches(net, test.images, test.labels, key="pgd@Linf", epsilon=8.0,
                                  protocol=FAST, batch_size=8)
    assert result.values[0] == correct / n
    assert result.cost_seconds[0] > 0


def test_corruption_objectives_use_the_corrupted_images(roots):
    oracle = make(roots, "fog.sqlite")
    value = oracle.evaluate([OTHER], "fog@3").values[0]
    net = load_network(WeightsArchive(roots["weights"]), OTHER.code, OTHER, "cifar10")
    fog = load_test_set("cifar10", roots["images"], corruption="fog", severity=3)
    assert value == count_correct(net, fog.images, fog.labels) / len(fog.labels)


def test_a_repeated_question_costs_nothing(roots):
    oracle = make(roots, "repeat.sqlite")
    first = oracle.evaluate([OTHER], "pgd@mean")
    ran = oracle.batches_run
    assert ran == 4 * 3  # 3 epsilons + clean, 20 images in batches of 8
    again = oracle.evaluate([OTHER], "pgd@mean")
    assert oracle.batches_run == ran and again.cost_seconds[0] == 0
    assert (again.values == first.values).all() and (again.clean == first.clean).all()
    fresh = make(roots, "repeat.sqlite")  # another process would see the same store
    assert fresh.evaluate([OTHER], "pgd@1/255").values[0] == oracle.value(OTHER, "pgd@1/255")
    assert fresh.batches_run == 0


def test_mean_objective_is_the_mean_of_its_terms(roots):
    oracle = make(roots, "mean.sqlite")
    mean = oracle.value(OTHER, "pgd@mean")
    terms = [oracle.value(OTHER, f"pgd@{eps}/255") for eps in ("0.1", "1", "8")]
    assert mean == pytest.approx(sum(terms) / 3)


def test_isomorphs_use_the_representatives_weights(roots):
    oracle = make(roots, "iso.sqlite")
    rep = oracle.evaluate([REPRESENTATIVE], "fgsm@1/255")
    ran = oracle.batches_run
    iso = oracle.evaluate([ISOMORPH], "fgsm@1/255")
    assert (iso.values == rep.values).all() and oracle.batches_run == ran
    assert oracle.index_of(ISOMORPH) == ISOMORPH.code  # the synthetic meta's index order


def test_images_seed_and_weights_are_part_of_the_cache_key(roots):
    store = ResultStore(roots["base"] / "keys.sqlite")
    make(roots, store=store).evaluate([OTHER], "clean")
    assert store.count() == 1
    fewer = make(roots, store=store, n_images=5)
    fewer.evaluate([OTHER], "clean")
    assert fewer.batches_run == 1 and store.count() == 2
    other_seed = make(roots, store=store, seed=888)
    other_seed.evaluate([OTHER], "clean")
    assert other_seed.batches_run == 3 and store.count() == 3


def test_missing_weights_raise_a_robnas_error(roots):
    oracle = make(roots, "missing.sqlite")
    with pytest.raises(DataNotFoundError, match="no weights for NB201 index"):
        oracle.evaluate([Arch.from_code(class_code(Arch.from_code(15624)))], "clean")


def test_the_global_rng_is_untouched(roots):
    oracle = make(roots, "rng.sqlite")
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    oracle.evaluate([OTHER], "adversarial@mean")
    assert torch.equal(torch.rand(3), expected)


def test_more_images_than_the_test_set_holds_are_refused_before_anything_runs(roots):
    store = ResultStore(roots["base"] / "too-many.sqlite")
    images = roots["images"].resolve()
    with pytest.raises(InvalidParameterError) as refused:
        make(roots, store=store, n_images=N_IMAGES + 1)
    assert str(refused.value) == (f"{N_IMAGES + 1} test images asked for (--n-images), but the cifar10 "
                                  f"test set under {images} holds only {N_IMAGES}")
    oracle = make(roots, store=store, n_images=10)  # 20 clean images, but 8 per fog severity
    with pytest.raises(InvalidParameterError, match=r"the cifar10 fog \(severity 3\) test set .* holds only 8$"):
        oracle.evaluate([OTHER], "fog@3")
    assert oracle.batches_run == 0 and store.count() == 0  # nothing evaluated, nothing stored
    assert make(roots, store=store, n_images=N_IMAGES).n_images == N_IMAGES  # all of them: fine


def _direct_accuracy(roots, images, corruption=None, severity=None) -> float:
    net = load_network(WeightsArchive(roots["weights"]), OTHER.code, OTHER, "cifar10")
    test = load_test_set("cifar10", images, corruption=corruption, severity=severity)
    return count_correct(net, test.images, test.labels) / len(test.labels)


def test_other_test_images_are_another_cache_key_and_a_copy_is_not(roots, tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    make(roots, store=store).evaluate([OTHER], "fog@3")  # clean and fog@3: 3 + 1 batches
    assert store.count() == 2
    copy = tmp_path / "copy"  # the same files elsewhere: answered from the store
    shutil.copytree(roots["images"], copy)
    again = make(roots, store=store, images=copy)
    again.evaluate([OTHER], "fog@3")
    assert again.batches_run == 0
    other = tmp_path / "other"  # other clean and fog images: both evaluated again, on them
    write_cifar10(other, n=N_IMAGES, seed=9)
    write_cifar_c(other, "fog", n_per_severity=8, seed=4)
    changed = make(roots, store=store, images=other)
    result = changed.evaluate([OTHER], "fog@3")
    assert changed.batches_run == 4 and store.count() == 4
    assert result.clean[0] == _direct_accuracy(roots, other)
    assert result.values[0] == _direct_accuracy(roots, other, "fog", 3)
    fog_only = tmp_path / "fog-only"  # the clean set as before, another fog file: fog alone again
    shutil.copytree(roots["images"], fog_only)
    write_cifar_c(fog_only, "fog", n_per_severity=8, seed=5)
    changed = make(roots, store=store, images=fog_only)
    assert changed.value(OTHER, "fog@3") == _direct_accuracy(roots, fog_only, "fog", 3)
    assert changed.batches_run == 1 and store.count() == 5
    assert changed.provenance()["images_identity"].keys() == {"clean", "fog"}


@pytest.mark.parametrize("batch_size", [0, -8, 2.5, True])
def test_a_batch_size_that_is_not_a_positive_whole_number_is_refused_up_front(roots, batch_size):
    # 0 divided by zero deep in the first evaluation; a negative size evaluated no batch and
    # then failed to store 0 of 0 images ("NOT NULL constraint failed: results.accuracy")
    store = ResultStore(roots["base"] / "batch-size.sqlite")
    with pytest.raises(InvalidParameterError, match=f"batch_size must be a whole number >= 1, got {batch_size!r}"):
        make(roots, store=store, batch_size=batch_size)
    assert store.count() == 0


@pytest.mark.parametrize("n_images", [0, -3, 2.5, True])
def test_a_number_of_images_that_is_not_a_positive_whole_number_is_refused_first(tmp_path, n_images):
    # the check came after the data folder's lookup: a missing folder hid it behind "no robustness
    # data", and 2.5 and True (taken as 1) got past it
    wanted = f"n_images must be a whole number >= 1 or None .all., got {n_images!r}"
    with pytest.raises(InvalidParameterError, match=wanted):
        LiveOracle("cifar10", weights=tmp_path, images=tmp_path, data=tmp_path / "no-data", n_images=n_images)
