"""The analysis sections against values computed independently from the released JSON."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from robnas import analysis as an
from robnas import cost
from robnas.arch import Arch
from robnas.errors import InvalidObjectiveError, InvalidParameterError, RobnasError

from .conftest import OBJECTIVES


def test_class_frame_is_the_release_per_class(frame, raw_cifar10) -> None:
    assert frame.index.name == "nb201_index" and len(frame) == 6466
    assert (frame.index == raw_cifar10.index).all()
    assert (frame["arch"] == raw_cifar10["arch"]).all()
    for name in OBJECTIVES:
        np.testing.assert_allclose(frame[name], raw_cifar10[name], rtol=0, atol=1e-12)
    assert list(frame["params"].head(3)) == [cost.params(a) for a in raw_cifar10["arch"].head(3)]
    assert (frame["degenerate"] == (raw_cifar10["clean"] <= 0.105)).all()
    assert frame["degenerate"].sum() == 5
    assert (an.degenerate_cells(frame)["clean"] == 0.1).all()


def test_every_objective_of_the_table(cifar10_oracle) -> None:
    names = an.all_objectives(cifar10_oracle)
    assert names[0] == "clean" and "fog@3" in names and "pgd@8/255" in names and "fgsm@255/255" in names
    assert names[-1] == "corruption@mean" and "adversarial@mean" in names and "pgd@mean" in names
    attack_points = sum(len(v) for v in cifar10_oracle.meta.epsilons.values())  # 11 + 7 + 7 + 7
    assert len(names) == len(set(names)) == 1 + attack_points + 15 * 5 + 4 + 1 + 15 + 1
    assert an.headline_objectives(names) == ["clean", "fgsm@mean", "pgd@mean", "apgd@mean", "square@mean",
                                            "adversarial@mean", "corruption@mean"]
    with pytest.raises(InvalidObjectiveError, match="params is always a column"):
        an.class_frame(cifar10_oracle, ["params"])
    with pytest.raises(InvalidObjectiveError, match="not on the grid"):
        an.class_frame(cifar10_oracle, ["pgd@7/255"])
    # a dataset name for the oracle was an AttributeError: 'str' object has no attribute 'validate'
    with pytest.raises(InvalidParameterError, match=re.escape(
            """oracle must be a TabularOracle such as TabularOracle("cifar10"), got 'cifar10'""")):
        an.class_frame("cifar10", ["clean"])


def test_distributions(frame, raw_cifar10) -> None:
    table = an.distributions(frame, OBJECTIVES)
    values = raw_cifar10["pgd@1/255"].to_numpy()
    row = table.loc["pgd@1/255"]
    assert (row["family"], row["point"], row["n"]) == ("pgd", 1.0, 6466)
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    assert (row["q1"], row["median"], row["q3"]) == pytest.approx((q1, median, q3))
    assert row["max"] == values.max() and row["mean"] == pytest.approx(values.mean())
    inside = values[(values >= q1 - 1.5 * (q3 - q1)) & (values <= q3 + 1.5 * (q3 - q1))]
    assert (row["whislo"], row["whishi"]) == (inside.min(), inside.max())
    assert table.loc["adversarial@mean", "family"] == "aggregate"


def test_whiskers_stop_at_the_last_value_inside_the_fence() -> None:
    toy = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 100], "degenerate": False})
    row = an.distributions(toy, ["x"]).loc["x"]
    assert row["whishi"] == 8 and row["max"] == 100 and row["whislo"] == 0


def test_correlations_within_and_between_datasets(frame, raw_cifar10, release_root, tmp_path_factory) -> None:
    from robnas.benchmark import TabularOracle

    from .conftest import released

    pairs = an.correlations(frame, OBJECTIVES)
    assert len(pairs) == 6 and (pairs["n"] == 6466).all()
    hit = pairs.loc[(pairs["a"] == "clean") & (pairs["b"] == "pgd@1/255")].iloc[0]
    assert hit["kendall_tau"] == pytest.approx(stats.kendalltau(raw_cifar10["clean"], raw_cifar10["pgd@1/255"])[0])
    assert hit["spearman_rho"] == pytest.approx(stats.spearmanr(raw_cifar10["clean"], raw_cifar10["pgd@1/255"])[0])
    focused = an.correlations(frame, OBJECTIVES, focus=["clean", "fgsm@1/255"])
    computed = focused.dropna(subset=["kendall_tau"])
    assert set(map(frozenset, zip(computed["a"], computed["b"], strict=True))) == {
        frozenset(p) for p in [("clean", "pgd@1/255"), ("clean", "fgsm@1/255"), ("clean", "adversarial@mean")]}
    assert focused["spearman_rho"].notna().all()
    matrix = an.correlation_matrix(pairs)
    assert matrix.loc["pgd@1/255", "clean"] == matrix.loc["clean", "pgd@1/255"] == hit["kendall_tau"]
    assert matrix.loc["clean", "clean"] == 1.0

    other = TabularOracle("ImageNet16-120", data=release_root, cache_dir=tmp_path_factory.mktemp("c"))
    across = an.dataset_correlations({"cifar10": frame, "ImageNet16-120": an.class_frame(other, OBJECTIVES)})
    raw_other = released(release_root, "ImageNet16-120")
    row = across.loc[across["objective"] == "pgd@1/255"].iloc[0]
    assert (row["dataset_a"], row["dataset_b"], row["n"]) == ("cifar10", "ImageNet16-120", 6466)
    assert row["kendall_tau"] == pytest.approx(stats.kendalltau(raw_cifar10["pgd@1/255"], raw_other["pgd@1/255"])[0])
    # where each dataset's 10 best classes (and ties with the 10th) rank on the other (1 = best,
    # ties share the better rank)
    for source, target, column in ((raw_cifar10, raw_other, "top10_rank_in_b"),
                                   (raw_other, raw_cifar10, "top10_rank_in_a")):
        values = source["pgd@1/255"]
        best = values.index[values >= values.sort_values(ascending=False).iloc[9]]
        ranks = target["pgd@1/255"].rank(ascending=False, method="min")
        assert row[column] == int(ranks.loc[best].max())
    assert 1 <= row["top10_rank_in_b"] <= 6466


def _conv_mix(arch: str) -> tuple[int, int]:
    ops = Arch.from_string(arch).ops
    return ops.count(2), ops.count(3)


def test_equal_cost_groups_are_the_convolution_mixes(frame, raw_cifar10) -> None:
    table = an.equal_cost(frame, ["adversarial@mean"], "params")
    data = raw_cifar10.loc[raw_cifar10["clean"] > 0.105]
    expected = data.groupby(data["arch"].map(_conv_mix))["adversarial@mean"].agg(["count", "min", "max"])
    assert len(table) == len(expected) == 28 and table["n"].sum() == 6461
    got = table.set_index(table["cost"].round(6))
    for (n1, n3), row in expected.iterrows():
        group = got.loc[round(cost.params(Arch((2,) * n1 + (3,) * n3 + (0,) * (6 - n1 - n3))), 6)]
        assert (group["n"], group["min"], group["max"]) == (row["count"], pytest.approx(row["min"]),
                                                            pytest.approx(row["max"]))
        assert data.at[group["worst_index"], "adversarial@mean"] == pytest.approx(row["min"])
    # FLOPs group the same classes (both costs depend only on the mix)
    assert sorted(an.equal_cost(frame, ["adversarial@mean"], "flops")["n"]) == sorted(table["n"])
    assert an.equal_cost(frame, ["clean"], exclude_degenerate=False)["n"].sum() == 6466


def test_equal_cost_finding_names_the_widest_large_group(frame, raw_cifar10) -> None:
    table = an.equal_cost(frame, ["adversarial@mean", "pgd@1/255"])
    findings = an.equal_cost_findings(table, frame).set_index("objective")
    data = raw_cifar10.loc[raw_cifar10["clean"] > 0.105]
    groups = data.groupby(data["arch"].map(_conv_mix))["adversarial@mean"]
    large = groups.agg(["count", "min", "max"]).query("count >= 0.05 * 6461")
    widest = (large["max"] - large["min"]).idxmax()
    row = findings.loc["adversarial@mean"]
    assert (row["n"], row["min"], row["max"]) == (large.at[widest, "count"], pytest.approx(large.at[widest, "min"]),
                                                  pytest.approx(large.at[widest, "max"]))
    assert row["best_arch"] == raw_cifar10.at[row["best_index"], "arch"]
    assert f"range in adversarial@mean from {row['min']:.3f}" in row["statement"]


def test_operation_effects_and_enrichment(frame, raw_cifar10) -> None:
    table = an.operation_effects(frame, ["pgd@1/255"], top_percent=10)
    assert len(table) == 30
    data = raw_cifar10.loc[raw_cifar10["clean"] > 0.105]
    ops = np.array([Arch.from_string(a).ops for a in data["arch"]])
    values = data["pgd@1/255"].to_numpy()
    cut = np.sort(values)[::-1][int(np.ceil(0.1 * len(values))) - 1]
    top = values >= cut
    has = ops[:, 0] == 3  # nor_conv_3x3 on edge 0->1
    row = table.loc[(table["edge"] == "0->1") & (table["op"] == "nor_conv_3x3")].iloc[0]
    assert row["n"] == has.sum() and row["mean"] == pytest.approx(values[has].mean())
    low, high = stats.t.interval(0.95, has.sum() - 1, loc=values[has].mean(), scale=stats.sem(values[has]))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert row["enrichment"] == pytest.approx((has[top].mean()) / has.mean())
    assert (table["top_classes"] == top.sum()).all()  # what share_top is a share of, ties included

    counts = an.operation_counts(frame, ["pgd@1/255"], top_percent=10)
    three = (ops == 3).sum(axis=1) == 2
    row = counts.loc[(counts["op"] == "nor_conv_3x3") & (counts["count"] == 2)].iloc[0]
    assert row["n"] == three.sum() and row["enrichment"] == pytest.approx(three[top].mean() / three.mean())
    overall = an.operation_enrichment(frame, ["pgd@1/255"], top_percent=10)
    assert list(overall["enrichment"]) == sorted(overall["enrichment"], reverse=True)
    pool = overall.set_index("op").loc["avg_pool_3x3"]
    assert pool["enrichment"] == pytest.approx((ops[top] == 4).sum(1).mean() / (ops == 4).sum(1).mean())
    assert (overall["top_classes"] == top.sum()).all() and (counts["top_classes"] == top.sum()).all()


def test_top_mask_keeps_ties_and_refuses_bad_shares() -> None:
    assert list(an.top_mask(np.array([0.1, 0.5, 0.5, 0.2]), 25)) == [False, True, True, False]
    assert an.top_mask(np.array([0.3, 0.1]), 1).sum() == 1
    for bad in (0, -1, 101):
        with pytest.raises(RobnasError, match="top-percent must be in") as caught:
            an.top_mask(np.array([1.0]), bad)
        assert isinstance(caught.value, ValueError)  # a bad value, as every other bad setting


def test_top_cells(frame, raw_cifar10) -> None:
    table = an.top_cells(frame, "pgd@1/255")
    expected = raw_cifar10["pgd@1/255"].sort_values(ascending=False, kind="stable")
    assert len(table) == 20 and list(table["pgd@1/255"]) == list(expected.head(20))
    assert table["rank"].iloc[0] == 1 and list(table["rank"]) == sorted(table["rank"])
    assert set(OBJECTIVES) <= set(table.columns) and {"arch", "params", "flops"} <= set(table.columns)
    tied = table["pgd@1/255"].duplicated(keep=False)
    if tied.any():  # tied values share a rank
        assert table.loc[tied].groupby("pgd@1/255")["rank"].nunique().eq(1).all()


def test_class_frame_refuses_one_objective_given_as_a_string(cifar10_oracle) -> None:
    with pytest.raises(ValueError, match=r"objectives must be a list \(e.g. \['pgd@1/255'\]\)"):
        an.class_frame(cifar10_oracle, "pgd@1/255")


@pytest.mark.parametrize("call", [
    lambda f: an.distributions(f, ["nope"]),
    lambda f: an.correlations(f, ["clean", "nope"]),
    lambda f: an.correlations(f, ["clean", "pgd@1/255"], focus=["nope"]),
    lambda f: an.equal_cost(f, ["nope"]),
    lambda f: an.operation_effects(f, ["nope"]),
    lambda f: an.operation_counts(f, ["nope"]),
    lambda f: an.operation_enrichment(f, ["nope"]),
    lambda f: an.top_cells(f, "nope"),
    lambda f: an.dataset_correlations({"a": f, "b": f}, ["nope"]),
])
def test_a_name_the_frame_lacks_is_one_error_naming_its_objectives(frame, call) -> None:
    with pytest.raises(InvalidObjectiveError, match=r"is not an objective of this frame; it has clean"):
        call(frame)


@pytest.mark.parametrize(("call", "message"), [
    (lambda f: an.distributions(f, []), "give at least 1 objective"),
    (lambda f: an.operation_counts(f, []), "give at least 1 objective"),
    (lambda f: an.top_cells(f, "clean", -3), "n must be a whole number >= 1, got -3"),
    (lambda f: an.top_cells(f, "clean", "5"), "n must be a whole number >= 1, got '5'"),
    (lambda f: an.correlation_matrix(an.correlations(f, ["clean", "pgd@1/255"]), "pearson"),
     "statistic must be one of kendall_tau, spearman_rho, got 'pearson'"),
])
def test_empty_lists_and_bad_counts_are_refused_as_value_errors(frame, call, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call(frame)


def test_a_constant_column_has_nan_correlations_and_the_others_are_kept(frame, raw_cifar10) -> None:
    """scipy's spearmanr of a matrix whose first or second column is constant is a single NaN
    for every pair, which ended in an IndexError (a constant objective: a table built from a
    few images at a large epsilon, all 0)."""
    data = frame.assign(constant=0.0)
    pairs = an.correlations(data, ["clean", "constant", "pgd@1/255", "fgsm@1/255"])
    with_constant = (pairs["a"] == "constant") | (pairs["b"] == "constant")
    assert with_constant.sum() == 3 and pairs.loc[with_constant, ["kendall_tau", "spearman_rho"]].isna().all().all()
    for _, row in pairs.loc[~with_constant].iterrows():
        x, y = raw_cifar10[row["a"]], raw_cifar10[row["b"]]
        assert row["spearman_rho"] == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
        assert row["kendall_tau"] == pytest.approx(stats.kendalltau(x, y)[0], abs=1e-12)


def test_top_cells_leave_out_constant_outputs_by_default_as_the_report_does(cifar10_oracle) -> None:
    # the default kept them, so top_cells(frame, "pgd@8/255") listed a network at chance (clean
    # accuracy 0.100) as the best, which the analyze report no longer does
    frame = an.class_frame(cifar10_oracle, ["clean", "pgd@8/255"])
    best = an.top_cells(frame, "pgd@8/255", 3)
    assert not best["degenerate"].any() and best["clean"].min() > 0.2
    kept = an.top_cells(frame, "pgd@8/255", 3, exclude_degenerate=False)
    assert kept["degenerate"].iloc[0] and kept["pgd@8/255"].iloc[0] > best["pgd@8/255"].iloc[0]
