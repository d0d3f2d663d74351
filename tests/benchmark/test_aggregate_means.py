"""Aggregate objectives (``pgd@mean``, ``adversarial@mean``, ...) are the means of the decimal
numbers the release holds, correctly rounded: classes with the same released mean tie.

Expected values are computed here from the released JSON text, read as exact decimals
(``parse_float=Decimal``), never by robnas.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from robnas.benchmark import TabularOracle
from robnas.benchmark.table import decimal_mean

_ATTACKS = ("fgsm@Linf", "pgd@Linf", "aa_apgd-ce@Linf", "aa_square@Linf")


def _exact(root: Path, dataset: str, key: str) -> dict[int, list[Decimal]]:
    """Representative id -> the released values of ``key``, as the exact decimals written."""
    text = (root / dataset / f"{key}_accuracy.json").read_text()
    payload = json.loads(text, parse_float=Decimal)[dataset][key]["accuracy"]
    return {int(rep): (values if isinstance(values, list) else [values]) for rep, values in payload.items()}


def _exact_means(root: Path, dataset: str, keys: tuple[str, ...]) -> dict[int, Fraction]:
    tables = [_exact(root, dataset, key) for key in keys]
    means = {}
    for rep in tables[0]:
        values = [v for table in tables for v in table[rep]]
        means[rep] = Fraction(sum(values, Decimal(0))) / len(values)
    return means


@pytest.fixture(scope="module")
def imagenet_oracle(release_root: Path, tmp_path_factory: pytest.TempPathFactory) -> TabularOracle:
    return TabularOracle("ImageNet16-120", data=release_root, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize(("dataset", "objective", "keys"), [
    ("cifar10", "pgd@mean", ("pgd@Linf",)),
    ("cifar10", "adversarial@mean", _ATTACKS),
    ("ImageNet16-120", "pgd@mean", ("pgd@Linf",)),
    ("ImageNet16-120", "square@mean", ("aa_square@Linf",)),
])
def test_means_are_the_correctly_rounded_decimal_means_and_ties_share_a_rank(
        dataset, objective, keys, release_root, cifar10_oracle, imagenet_oracle) -> None:
    oracle = cifar10_oracle if dataset == "cifar10" else imagenet_oracle
    exact = _exact_means(release_root, dataset, keys)
    for rep, mean in exact.items():  # every class, to the last bit, both paths
        assert oracle.value(rep, objective) == float(mean), rep
    column = oracle.objective_values(objective)
    assert sorted(column.tolist()) == sorted(float(m) for m in exact.values())
    best = max(exact.values())
    assert oracle.optimum(objective) == float(best)
    assert sorted(oracle.best_indices(objective)) == sorted(r for r, m in exact.items() if m == best)
    ids = json.loads((release_root / "meta.json").read_text())["ids"]
    for index in (0, 13433, 14789, 7777, 8865, 15624):  # rank: 1 + classes strictly better
        mean = exact[int(ids[str(index)]["isomorph"])]
        expected = 1 + sum(1 for m in exact.values() if m > mean)
        assert oracle.rank(oracle.parse_arch(index), objective) == expected, index


def test_the_query_of_an_exact_decimal_mean_prints_it(release_root, cifar10_oracle) -> None:
    # 13433's PGD accuracies sum to 1.876 over 7 epsilons: 0.268 exactly, which fsum / 7 of
    # the floats gave as 0.26799999999999996, one bit below another class's 0.268
    assert cifar10_oracle.value(13433, "pgd@mean") == 0.268
    exact = _exact_means(release_root, "cifar10", ("pgd@Linf",))
    assert 1 + sum(1 for m in exact.values() if m > Fraction("0.268")) == cifar10_oracle.rank(
        cifar10_oracle.parse_arch(13433), "pgd@mean")


def test_decimal_mean_of_values_that_are_no_short_decimal() -> None:
    assert decimal_mean([0.1, 0.2]) == decimal_mean([0.3, 0.0]) == 0.15
    assert decimal_mean([1 / 3, 2 / 3]) == 0.5  # no decimal of 15 places: fsum / n
    nan = decimal_mean([float("nan"), 0.5])
    assert nan != nan
