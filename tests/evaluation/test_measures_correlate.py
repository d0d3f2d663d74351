"""Score correlations and random-forest prediction against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from robnas.evaluation.measures import MeasureError, predict_objective, read_scores, score_correlations
from robnas.evaluation.measures._correlate import correlations_markdown, objective_table, top_precision


@pytest.fixture(scope="module")
def clean(cifar10_oracle) -> pd.DataFrame:
    return objective_table(cifar10_oracle, ["clean", "pgd@1/255"])


def test_top_precision_by_hand() -> None:
    objective = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    score = np.array([0.0, 9.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    # best 20% by objective: cells 0, 1; by score: cells 1, 2 -> one of two
    assert top_precision(score, objective, top=0.2) == 0.5
    assert top_precision(objective, objective, top=0.2) == 1.0


def test_correlations_equal_scipy_on_the_class_values(cifar10_oracle, clean) -> None:
    meta = cifar10_oracle.meta
    reps = meta.representatives[:800]
    rng = np.random.default_rng(3)
    score = clean.loc[reps, "clean"].to_numpy() + rng.normal(0, 0.05, size=len(reps))
    scores = pd.DataFrame({"noisy_clean": score}, index=pd.Index(reps, name="nb201_index"))
    table = score_correlations(scores, clean, meta, bootstrap=50, seed=0)
    assert list(table["objective"]) == ["clean", "pgd@1/255"]
    row = table.iloc[0]
    y = clean.loc[reps, "clean"].to_numpy()
    assert row["kendall"] == pytest.approx(stats.kendalltau(score, y).statistic)
    assert row["spearman"] == pytest.approx(stats.spearmanr(score, y).statistic)
    assert row["pearson"] == pytest.approx(np.corrcoef(score, y)[0, 1])
    assert (row["cells"], row["classes"], row["duplicates"]) == (800, 800, 0)
    for name in ("kendall", "spearman", "pearson", "top10"):
        assert row[f"{name}_low"] <= row[name] <= row[f"{name}_high"]
    again = score_correlations(scores, clean, meta, bootstrap=50, seed=0)
    assert again.equals(table)  # seeded bootstrap
    assert "| noisy_clean | clean | 800 | 800 |" in correlations_markdown(table)


def test_isomorphs_are_resolved_to_their_class(cifar10_oracle, clean) -> None:
    meta = cifar10_oracle.meta
    rep = np.flatnonzero(meta.representative != np.arange(len(meta.representative)))  # non-representatives
    member = int(rep[0])
    own = int(meta.representative[member])
    others = [int(i) for i in meta.representatives[:30] if int(i) != own]
    index = [member, own, *others]
    values = [10.0, 20.0, *range(len(others))]
    scores = pd.DataFrame({"s": values}, index=pd.Index(index))
    mean = score_correlations(scores, clean, meta, bootstrap=0)
    n = len(others)
    assert (mean["cells"][0], mean["classes"][0], mean["duplicates"][0]) == (n + 2, n + 1, 1)
    y = clean.loc[[own, *others], "clean"].to_numpy()
    assert mean["kendall"][0] == pytest.approx(stats.kendalltau([15.0, *range(len(others))], y).statistic)
    assert math.isnan(mean["kendall_low"][0])  # no bootstrap asked
    only = score_correlations(scores, clean, meta, isomorphs="representative", bootstrap=0)
    assert only["kendall"][0] == pytest.approx(stats.kendalltau([20.0, *range(len(others))], y).statistic)
    every = score_correlations(scores, clean, meta, isomorphs="all", bootstrap=0)
    assert (every["cells"][0], every["classes"][0], every["duplicates"][0]) == (n + 2, n + 1, 1)


def test_read_scores_accepts_arch_strings_and_refuses_bad_tables(cifar10_oracle, tmp_path) -> None:
    meta = cifar10_oracle.meta
    arch = meta.arch_at(13433).to_string()
    frame = read_scores(pd.DataFrame({"arch": [arch, meta.arch_at(5).to_string()], "x": [1.0, 2.0],
                                      "note": ["a", "b"]}), meta)
    assert list(frame.index) == [13433, 5] and list(frame.columns) == ["x"]
    path = tmp_path / "s.csv"
    pd.DataFrame({"index": [1, 1], "x": [1.0, 2.0]}).to_csv(path, index=False)
    with pytest.raises(MeasureError, match="index 1 appears twice"):
        read_scores(path, meta)
    with pytest.raises(MeasureError, match="need a column 'nb201_index' or 'index'"):
        read_scores(pd.DataFrame({"x": [1.0]}), meta)
    with pytest.raises(MeasureError, match=r"0\.\.15624"):
        read_scores(pd.DataFrame({"index": [99999], "x": [1.0]}), meta)
    with pytest.raises(MeasureError, match="no numeric score column"):
        read_scores(pd.DataFrame({"index": [1], "x": ["a"]}), meta)


def test_random_forest_finds_the_informative_measure() -> None:
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    target = pd.Series(np.tanh(features["signal"]) + rng.normal(0, 0.05, 400), name="y")
    prediction = predict_objective(features, target, seeds=3, n_estimators=30)
    assert list(prediction.importances["feature"]) == ["signal", "noise"]
    assert prediction.importances["importance"].sum() == pytest.approx(1.0)
    summary = prediction.summary()
    assert summary["r2"] > 0.9 and summary["kendall"] > 0.8
    assert list(prediction.splits["test"]) == [80, 80, 80]
    again = predict_objective(features, target, seeds=3, n_estimators=30)
    assert again.splits.equals(prediction.splits)
    with pytest.raises(MeasureError, match="at least 10 cells"):
        predict_objective(features.head(5), target.head(5))


def test_random_forest_handles_values_beyond_float32_and_infinities() -> None:
    rng = np.random.default_rng(1)
    signal = rng.normal(size=200)
    features = pd.DataFrame({"huge": np.exp(signal * 60.0) * 1e30, "flat": rng.normal(size=200)})
    features.loc[0, "flat"] = np.inf
    target = pd.Series(signal, name="y")
    prediction = predict_objective(features, target, seeds=2, n_estimators=20)
    assert prediction.summary()["kendall"] > 0.8 and prediction.importances["feature"][0] == "huge"
