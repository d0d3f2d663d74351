from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from robnas.compare.stats import (
    checkpoints_for,
    holm,
    mean_interval,
    rank_searchers,
    summarize,
)
from robnas.compare.trajectories import expand_to_budget, load_trajectories
from tests.compare.helpers import write_comparison


def test_mean_interval_is_the_t_interval_and_contains_the_mean() -> None:
    x = np.array([0.50, 0.52, 0.55, 0.49, 0.58, 0.51])
    mean, low, high = mean_interval(x)
    half = stats.t.ppf(0.975, 5) * x.std(ddof=1) / math.sqrt(6)
    assert mean == pytest.approx(x.mean())
    assert (low, high) == pytest.approx((x.mean() - half, x.mean() + half))
    assert low < mean < high
    wide = mean_interval(x[:3])
    assert wide[2] - wide[1] > high - low
    assert mean_interval([0.3, 0.3, 0.3]) == (0.3, 0.3, 0.3)
    single = mean_interval([0.4])
    assert single[0] == 0.4 and math.isnan(single[1]) and math.isnan(single[2])


def test_holm_matches_its_definition_and_keeps_the_order() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.5]
    adjusted = holm(p)
    # sorted: 0.005*5=0.025, 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> 0.09 (monotone), 0.5*1
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.5])
    order = np.argsort(p)
    assert np.all(np.diff(np.asarray(adjusted)[order]) >= 0)
    assert all(a >= q for a, q in zip(adjusted, p, strict=True))
    assert holm([0.9, 0.8]) == [1.0, 1.0]
    assert math.isnan(holm([math.nan, 0.01])[0]) and holm([math.nan, 0.01])[1] == 0.01


def test_checkpoints_are_clipped_and_end_at_the_budget() -> None:
    assert checkpoints_for(300) == [10, 25, 50, 100, 300]
    assert checkpoints_for(40, [10, 25, 50]) == [10, 25, 40]
    assert checkpoints_for(5) == [5]


def _staircase(searcher: str, seed: int) -> list[float]:
    # 're' finds the optimum 0.9 at n = seed + 2; 'random' never does (max 0.5 + seed / 100)
    if searcher == "re":
        return [0.1] * (seed + 1) + [0.9] + [0.2] * (10 - seed - 2)
    return [0.5 + seed / 100] + [0.3] * 9


def test_summary_at_checkpoints_counts_runs_that_found_the_optimum(tmp_path) -> None:
    write_comparison(tmp_path, _staircase, seeds=range(5))
    table = expand_to_budget(load_trajectories(tmp_path))
    summary = summarize(table, checkpoints=[2, 4, 10, 25])
    assert sorted(set(summary["evaluations"])) == [2, 4, 10]
    re = summary[summary["searcher"] == "re"].set_index("evaluations")
    # seed s finds it at n = s + 2: by n=4 seeds 0,1,2 (at 2,3,4)
    assert re.loc[4, "reached"] == 3 and re.loc[4, "found_share"] == pytest.approx(0.6)
    assert re.loc[4, "evals_to_optimum"] == pytest.approx(3.0)
    assert re.loc[10, "reached"] == 5 and re.loc[10, "evals_to_optimum"] == pytest.approx(4.0)
    assert re.loc[4, "best_mean"] == pytest.approx((0.9 * 3 + 0.1 * 2) / 5)
    assert re.loc[10, "regret_mean"] == pytest.approx(0.0)
    # the best value's t-interval stays within [0, optimum]: 0.58 +- 0.54 at 4, 0.26 +- 0.44 at 2
    half = stats.t.ppf(0.975, 4) * np.std([0.9] * 3 + [0.1] * 2, ddof=1) / math.sqrt(5)
    assert re.loc[4, "best_low"] == pytest.approx(0.58 - half) and re.loc[4, "best_high"] == pytest.approx(0.9)
    assert re.loc[2, "best_low"] == 0.0 and re.loc[2, "best_high"] < 0.9
    rnd = summary[summary["searcher"] == "random"].set_index("evaluations")
    assert rnd.loc[10, "best_mean"] == pytest.approx(0.52)
    assert rnd.loc[10, "best_low"] < 0.52 < rnd.loc[10, "best_high"]
    assert rnd.loc[10, "found_share"] == 0 and math.isnan(rnd.loc[10, "evals_to_optimum"])
    assert (summary["runs"] == 5).all()


def test_ranking_detects_a_consistent_winner_with_holm_adjusted_wilcoxon(tmp_path) -> None:
    def values(searcher: str, seed: int) -> list[float]:
        base = {"bo": 0.60, "re": 0.55, "random": 0.50}[searcher]
        noise = ((seed * 7919) % 13) / 1000  # shared by all searchers of a seed: paired design
        return [0.1, base + noise + (0.001 * seed if searcher == "random" else 0.0)]

    write_comparison(tmp_path, values, searchers=("random", "re", "bo"), seeds=range(10))
    ranking = rank_searchers(expand_to_budget(load_trajectories(tmp_path)))
    ranks = ranking.ranks.set_index("searcher")
    assert ranks["mean_rank"].to_dict() == {"bo": 1.0, "re": 2.0, "random": 3.0}
    assert ranks["seeds"].unique().tolist() == [10]
    assert ranks["friedman_p"].iloc[0] < 0.001
    pairs = ranking.pairwise.set_index(["a", "b"])
    assert len(pairs) == 3
    # 10 paired seeds, all differences of one sign: exact two-sided p = 2 / 2**10
    assert pairs["p_value"].tolist() == pytest.approx([2 / 1024] * 3)
    assert pairs["p_holm"].tolist() == pytest.approx([3 * 2 / 1024] * 3)
    assert pairs["significant"].all()
    assert "Holm" in ranking.method and "Wilcoxon" in ranking.method


def test_ranking_of_identical_searchers_finds_nothing(tmp_path) -> None:
    write_comparison(tmp_path, lambda s, seed: [0.2, 0.4 + seed / 100],
                     searchers=("random", "re", "ls"), seeds=range(6))
    ranking = rank_searchers(expand_to_budget(load_trajectories(tmp_path)))
    assert ranking.ranks["friedman_p"].iloc[0] == 1.0
    assert (ranking.ranks["mean_rank"] == 2.0).all()
    assert (ranking.pairwise["p_holm"] == 1.0).all() and not ranking.pairwise["significant"].any()
    assert (ranking.pairwise["ties"] == 6).all()


def test_ranking_uses_only_seeds_every_searcher_ran(tmp_path) -> None:
    write_comparison(tmp_path, lambda s, seed: [0.5 if s == "re" else 0.4], seeds=range(4))
    write_comparison(tmp_path, lambda s, seed: [0.1], searchers=("re",), seeds=[7, 8])
    ranking = rank_searchers(expand_to_budget(load_trajectories(tmp_path)))
    assert ranking.ranks["seeds"].unique().tolist() == [4]
    assert math.isnan(ranking.ranks["friedman_p"].iloc[0])  # two searchers: no Friedman test
    assert ranking.pairwise["wins"].tolist() == [4] or ranking.pairwise["losses"].tolist() == [4]


def test_significance_follows_the_holm_corrected_p_value_not_the_raw_one(tmp_path) -> None:
    # three searchers, six paired seeds, every difference of one sign: each raw Wilcoxon p is
    # the exact two-sided 2 / 2**6 = 0.031 < 0.05, but Holm over the three pairs makes it
    # 3 * 0.031 = 0.094 > 0.05: nothing is significant at family-wise alpha 0.05
    def values(searcher: str, seed: int) -> list[float]:
        return [0.1, {"bo": 0.60, "re": 0.55, "random": 0.50}[searcher] + seed / 1000]

    write_comparison(tmp_path, values, searchers=("random", "re", "bo"), seeds=range(6))
    ranking = rank_searchers(expand_to_budget(load_trajectories(tmp_path)))
    pairs = ranking.pairwise
    assert pairs["p_value"].tolist() == pytest.approx([2 / 2**6] * 3)
    assert pairs["p_holm"].tolist() == pytest.approx([3 * 2 / 2**6] * 3)
    assert (pairs["p_value"] < ranking.alpha).all()
    assert not pairs["significant"].any()
    # and with a looser family-wise alpha the same corrected p-values are significant
    loose = rank_searchers(expand_to_budget(load_trajectories(tmp_path)), alpha=0.1)
    assert loose.pairwise["significant"].all()


def test_wilcoxon_ties_equal_decimal_differences_despite_float_noise(tmp_path) -> None:
    # re beats random by 0.005 on seeds 0-6 (0.505 - 0.500: 0.0050000000000000044 as floats) and
    # loses by 0.005 on seed 7 (0.558 - 0.563: -0.004999999999999893): all eight |differences|
    # are one tie (rank 4.5), so the exact two-sided p is P(at most 1 or at least 7 negative
    # signs of 8) = 2 * (1 + 8) / 2**8 = 0.0703; ranking the float noise put the loss at rank 1
    # and gave 2 / 2**7 = 0.0156, a "significant" difference that is not there
    def values(searcher: str, seed: int) -> list[float]:
        re, rnd = (0.505 + seed / 1000, 0.500 + seed / 1000) if seed < 7 else (0.558, 0.563)
        return [0.1, round(re if searcher == "re" else rnd, 3)]

    write_comparison(tmp_path, values, seeds=range(8))
    pair = rank_searchers(expand_to_budget(load_trajectories(tmp_path))).pairwise.iloc[0]
    assert (pair["a"], pair["b"], pair["wins"], pair["losses"]) == ("random", "re", 1, 7)
    assert pair["p_value"] == pytest.approx(18 / 256)
    assert not pair["significant"]


def test_verdict_follows_the_signed_ranks_not_the_mean_difference(tmp_path) -> None:
    # re beats random by 0.01 on 19 seeds and loses by 0.2 on one: the mean difference favours
    # random (-0.0005) but the signed-rank test (R+ = 190, R- = 20) finds re better
    def values(searcher: str, seed: int) -> list[float]:
        if searcher == "random":
            return [0.1, 0.50]
        return [0.1, 0.30 if seed == 19 else 0.51]

    write_comparison(tmp_path, values, seeds=range(20))
    ranking = rank_searchers(expand_to_budget(load_trajectories(tmp_path)))
    pair = ranking.pairwise.iloc[0]
    assert (pair["a"], pair["b"]) == ("random", "re")
    assert pair["mean_diff"] == pytest.approx(0.0005) and pair["significant"]
    from robnas.compare.tables import ranking_markdown

    assert "| re better |" in ranking_markdown(ranking)
    assert "random better" not in ranking_markdown(ranking)
    assert pair["better"] == "re"


def test_ranking_refuses_evaluations_outside_the_budget(tmp_path) -> None:
    from robnas.errors import RobnasError

    write_comparison(tmp_path, lambda s, seed: [0.2, 0.4 + seed / 100], seeds=range(3))
    expanded = expand_to_budget(load_trajectories(tmp_path))
    assert rank_searchers(expanded, evaluations=1).ranks["evaluations"].unique().tolist() == [1]
    for beyond in (3, 0):
        with pytest.raises(RobnasError, match=r"budget of 2; give evaluations in 1\.\.2"):
            rank_searchers(expanded, evaluations=beyond)
