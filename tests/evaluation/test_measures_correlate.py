"""Score correlations and random-forest prediction against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from robnas.evaluation.measures import MeasureError, predict_objective, read_scores, score_correlations
from robnas.evaluation.measures._correlate import correlations_markdown, objective_table, top_precision
from robnas.evaluation.measures._predict import Prediction


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


def test_classes_scored_twice_are_counted_once_each_however_many_cells(cifar10_oracle, clean) -> None:
    """With every cell of three-member classes scored, a class counts once among the duplicates
    (the note said 9159, the extra cells, for the whole space of 6466 classes)."""
    meta = cifar10_oracle.meta
    counts = np.bincount(meta.representative, minlength=len(meta.representative))
    triples = np.flatnonzero(counts >= 3)[:4]
    cells = [int(i) for i in np.flatnonzero(np.isin(meta.representative, triples))]
    singles = [int(i) for i in meta.representatives if counts[int(i)] == 1][:10]
    scores = pd.DataFrame({"s": np.arange(len(cells) + len(singles), dtype=float)},
                          index=pd.Index(cells + singles))
    for isomorphs in ("all", "mean"):
        row = score_correlations(scores, clean, meta, isomorphs=isomorphs, bootstrap=0).iloc[0]
        assert (row["cells"], row["classes"], row["duplicates"]) == (len(cells) + 10, 14, 4), isomorphs


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


def _reps(meta, n: int = 6) -> list[int]:
    return [int(i) for i in meta.representatives[:n]]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_read_scores_refuses_a_non_finite_value_in_a_file_or_frame(cifar10_oracle, tmp_path, bad) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = cifar10_oracle.meta
    values = [1.0, 2.0, 3.0, bad, 5.0, 6.0]
    csv = tmp_path / "s.csv"
    pd.DataFrame({"index": _reps(meta), "ok": 1.0, "x": values}).to_csv(csv, index=False, na_rep="nan")
    with pytest.raises(MeasureError, match=rf"^--scores {csv}, row 4 \(line 5\): 'x' is {bad}; scores must be finite"):
        read_scores(csv, meta)
    parquet = tmp_path / "s.parquet"  # a NaN written as NaN, not as pandas' null
    pq.write_table(pa.table({"index": _reps(meta), "x": pa.array(values, from_pandas=False)}), parquet)
    with pytest.raises(MeasureError, match=rf"^--scores {parquet}, row 4: 'x' is {bad}"):
        read_scores(parquet, meta)
    frame = pd.DataFrame({"index": _reps(meta), "x": values})
    if math.isnan(bad):  # a DataFrame's NaN is pandas' missing value
        assert list(read_scores(frame, meta)["x"].isna()) == [False, False, False, True, False, False]
    else:
        with pytest.raises(MeasureError, match=rf"^scores, row 4: 'x' is {bad}"):
            read_scores(frame, meta)


def test_read_scores_takes_an_empty_field_as_a_cell_without_that_score(cifar10_oracle, tmp_path) -> None:
    meta = cifar10_oracle.meta
    frame = pd.DataFrame({"nb201_index": _reps(meta), "x": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0], "y": 1.0})
    for path in (tmp_path / "s.csv", tmp_path / "s.parquet"):  # pandas writes NaN as "" / a null
        frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path)
        scores = read_scores(path, meta)
        assert list(scores["x"].isna()) == [False, True, False, False, False, False] and scores["y"].notna().all()
    first, second, third = _reps(meta)[:3]
    (tmp_path / "t.csv").write_text(f"index,x,note\n{first},1,a\n{second},  ,b\n{third},Infinity,c\n")
    with pytest.raises(MeasureError, match=r"row 3 \(line 4\): 'x' is inf;"):  # a blank of spaces is empty
        read_scores(tmp_path / "t.csv", meta)


def test_read_scores_refuses_a_score_column_with_a_field_that_is_no_number(cifar10_oracle, tmp_path) -> None:
    meta = cifar10_oracle.meta
    first, second, third = _reps(meta)[:3]
    path = tmp_path / "s.csv"
    path.write_text(f"index,x,y,note\n{first},1,0.5,a\n{second},2,0.6,b\n{third},3,O.7,c\n")
    with pytest.raises(MeasureError, match=rf"^--scores {path}, row 3 \(line 4\): 'y' is 'O.7', not a number$"):
        read_scores(path, meta)  # before, column y was taken for text and left out
    path.write_text(f"index,x,note\n{first},1,a\n{second},2,b\n")
    assert list(read_scores(path, meta).columns) == ["x"]  # a text column is no score


def test_prediction_intervals_are_clipped_to_the_statistics_range() -> None:
    splits = pd.DataFrame({"seed": [0, 1], "train": 80, "test": 20, "r2": [0.9, -2.0], "kendall": [0.9, -0.5]})
    summary = Prediction(splits, pd.DataFrame(), "clean").summary()
    half = stats.t.ppf(0.975, 1) * np.std([0.9, -0.5], ddof=1) / np.sqrt(2)
    assert 0.2 + half > 1 and 0.2 - half < -1  # the t-interval reaches beyond tau's range ...
    assert (summary["kendall"], summary["kendall_low"], summary["kendall_high"]) == (pytest.approx(0.2), -1.0, 1.0)
    r2_half = stats.t.ppf(0.975, 1) * np.std([0.9, -2.0], ddof=1) / np.sqrt(2)
    assert summary["r2_low"] == pytest.approx(-0.55 - r2_half) and summary["r2_high"] == 1.0  # ... R2's only above
    narrow = Prediction(splits.assign(kendall=[0.5, 0.52], r2=[0.5, 0.52]), pd.DataFrame(), "clean").summary()
    assert -1 < narrow["kendall_low"] < 0.5 and 0.52 < narrow["kendall_high"] < 1  # within range: unchanged
    one = Prediction(splits.head(1), pd.DataFrame(), "clean").summary()
    assert math.isnan(one["kendall_low"]) and math.isnan(one["r2_high"])  # one split: no interval


def test_read_scores_refuses_what_it_would_misread(cifar10_oracle, tmp_path) -> None:
    """A fractional index (was truncated to another cell), a column named twice (pandas reads the
    second as a score 's.1'), an arch column that names other cells than the index column (was
    ignored), each one clear error; whole floats and matching archs still read."""
    meta = cifar10_oracle.meta
    with pytest.raises(MeasureError, match=r"column 'index' must hold NB201 indices .*got 1\.5"):
        read_scores(pd.DataFrame({"index": [1.5, 2.0], "s": [0.1, 0.2]}), meta)
    assert list(read_scores(pd.DataFrame({"index": [1.0, 2.0], "s": [0.1, 0.2]}), meta).index) == [1, 2]
    twice = tmp_path / "twice.csv"
    twice.write_text("index,s,s\n1,0.1,0.3\n2,0.2,0.4\n")
    with pytest.raises(MeasureError, match=r"column 's' appears twice"):
        read_scores(twice, meta)
    five, six = meta.arch_at(5).to_string(), meta.arch_at(6).to_string()
    with pytest.raises(MeasureError, match=r"row 2: arch .* is NB201 index 5, but index says 6"):
        read_scores(pd.DataFrame({"index": [5, 6], "arch": [five, five], "s": [0.1, 0.2]}), meta)
    with pytest.raises(MeasureError, match=r"row 1: not an NB201 string"):
        read_scores(pd.DataFrame({"index": [5], "arch": ["|bad~0|"], "s": [0.1]}), meta)
    both = read_scores(pd.DataFrame({"index": [5, 6], "arch": [five, six], "s": [0.1, 0.2]}), meta)
    assert list(both.index) == [5, 6] and list(both.columns) == ["s"]


def test_random_forest_on_cells_holds_out_whole_classes() -> None:
    # 100 classes of 3 cells each; the only feature names the class (noise, the same for its
    # cells) and the target is the class's value: nothing to learn about unseen classes
    rng = np.random.default_rng(7)
    classes = np.repeat(np.arange(100), 3)
    features = pd.DataFrame({"class_noise": rng.normal(size=100)[classes]})
    target = pd.Series(rng.normal(size=100)[classes], name="y")
    groups = pd.Series(classes)
    prediction = predict_objective(features, target, seeds=5, n_estimators=30, groups=groups)
    assert list(prediction.splits["test"]) == [60] * 5  # 20 of the 100 classes, all 3 cells of each
    assert list(prediction.splits["train"]) == [240] * 5
    assert abs(prediction.summary()["kendall"]) < 0.25
    # split over cells, a test cell's twins in the training set give its value away
    leaked = predict_objective(features, target, seeds=5, n_estimators=30)
    assert leaked.summary()["kendall"] > 0.5


@pytest.mark.parametrize("n_classes", [1, 2, 9])
def test_random_forest_on_cells_of_fewer_than_ten_classes_is_refused(n_classes) -> None:
    # 30 cells, every one complete: one class was a ValueError from scikit-learn's split (an
    # empty training set), two a forest fitted on one class and scored with tau NaN
    classes = np.arange(30) % n_classes
    features = pd.DataFrame({"s": np.arange(30.0)})
    target = pd.Series(np.arange(30.0) / 30, name="y")
    with pytest.raises(MeasureError, match=f"at least 10 classes .*, got {n_classes} \\(30 cells\\)"):
        predict_objective(features, target, seeds=2, n_estimators=5, groups=pd.Series(classes))
    with pytest.raises(MeasureError, match="groups names no class for 3 of the 30 complete rows"):
        predict_objective(features, target, seeds=2, n_estimators=5, groups=pd.Series(np.arange(27)))
    assert len(predict_objective(features, target, seeds=2, n_estimators=5,
                                 groups=pd.Series(np.arange(30) % 10)).splits) == 2


def test_every_cell_bootstrap_resamples_whole_classes(cifar10_oracle, clean) -> None:
    """With ``isomorphs="all"`` isomorphs share one objective value: a score that is the same for
    every cell of a class says no more than one value per class, so its interval must be about
    as wide as over the classes (cells drawn independently made it about three times narrower:
    a class of 60 cells counted as 60 measurements)."""
    meta = cifar10_oracle.meta
    counts = np.bincount(meta.representative, minlength=len(meta.representative))
    reps = [int(r) for r in meta.representatives if counts[int(r)] >= 6][:120]  # classes of 6+ cells
    cells = np.flatnonzero(np.isin(meta.representative, reps))
    rng = np.random.default_rng(5)
    noise = dict(zip(reps, rng.normal(0, 0.05, size=len(reps)), strict=True))
    values = [clean.loc[int(meta.representative[c]), "clean"] + noise[int(meta.representative[c])] for c in cells]
    scores = pd.DataFrame({"s": values}, index=pd.Index(cells.astype("int64")))

    def width(isomorphs: str) -> float:
        row = score_correlations(scores, clean, meta, isomorphs=isomorphs, bootstrap=300, seed=1).iloc[0]
        assert row["spearman_low"] <= row["spearman"] <= row["spearman_high"]
        return row["spearman_high"] - row["spearman_low"]

    per_class, per_cell = width("mean"), width("all")
    assert len(cells) >= 6 * len(reps)
    assert 0.6 * per_class <= per_cell <= 1.6 * per_class, (per_class, per_cell)


def test_a_handful_of_classes_gets_no_interval_rather_than_one_beside_the_value(cifar10_oracle, clean) -> None:
    # resamples of 3 classes are often constant (no tau): the percentiles of the resamples that had
    # one were reported as the interval (elsewhere [1.000, 1.000] around a tau of -0.333)
    meta = cifar10_oracle.meta
    reps = meta.representatives[:3]
    y = clean.loc[reps, "clean"].to_numpy()
    assert y[0] < y[2] < y[1]
    score = np.array([1.0, 0.0, 2.0])  # one concordant pair of three: tau -1/3
    scores = pd.DataFrame({"s": score}, index=pd.Index(reps, name="nb201_index"))
    row = score_correlations(scores, clean, meta, bootstrap=200, seed=0).iloc[0]
    assert row["kendall"] == pytest.approx(-1 / 3) == pytest.approx(stats.kendalltau(score, y).statistic)
    assert math.isnan(row["kendall_low"]) and math.isnan(row["kendall_high"])
    assert f"| s | clean | 3 | 3 | {row['kendall']:.3f} |" in correlations_markdown(
        score_correlations(scores, clean, meta, bootstrap=200, seed=0).iloc[:1])
