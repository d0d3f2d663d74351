from __future__ import annotations

import math

import pandas as pd

from robnas.compare.stats import Ranking
from robnas.compare.tables import markdown_table, ranking_markdown, summary_markdown


def _summary_row(searcher: str, evaluations: int, best: float, low: float, high: float,
                 reached: int) -> dict[str, object]:
    return {"dataset": "cifar10", "objective": "pgd@1/255", "searcher": searcher,
            "evaluations": evaluations, "runs": 4, "best_mean": best, "best_low": low,
            "best_high": high, "regret_mean": 0.5 - best, "regret_low": 0.5 - high,
            "regret_high": 0.5 - low, "found_share": reached / 4, "reached": reached,
            "evals_to_optimum": 7.0 if reached else math.nan}


def test_summary_is_ordered_by_checkpoint_then_searcher_with_intervals() -> None:
    summary = pd.DataFrame([
        _summary_row("bo", 10, 0.4, 0.35, 0.45, 0),
        _summary_row("random", 10, 0.3, 0.25, 0.35, 0),
        _summary_row("random", 20, 0.5, 0.5, 0.5000004, 4),
        _summary_row("bo", 20, 0.45, 0.4, 0.5, 1),
    ])
    text = summary_markdown(summary, {("cifar10", "pgd@1/255"): 0.5})
    assert "### cifar10 · pgd@1/255 (optimum 0.500; 4 runs per searcher)" in text
    lines = [line for line in text.splitlines() if line.startswith("| ") and "evals |" not in line]
    assert [line.split(" | ")[:2] for line in lines] == [
        ["| random", "10"], ["| bo", "10"], ["| random", "20"], ["| bo", "20"]]
    assert "| random | 20 | 0.500 [0.500, 0.500] | 0.000 [0.000, 0.000] | 100% | 7 (4) |" in text
    assert "-0.000" not in text  # a regret bound of -4e-7 is shown as 0.000, not "-0.000"
    assert "| bo | 10 | 0.400 [0.350, 0.450] | 0.100 [0.050, 0.150] | 0% | – |" in text


def test_ranking_states_the_method_and_never_rounds_a_p_onto_alpha() -> None:
    ranks = pd.DataFrame([
        {"dataset": "cifar10", "objective": "clean", "evaluations": 300, "searcher": s,
         "mean_rank": r, "best_mean": b, "seeds": 50, "friedman_statistic": 12.3,
         "friedman_p": 0.0004} for s, r, b in (("re", 1.2, 0.946), ("bo", 1.8, 0.945))])
    pairwise = pd.DataFrame([
        {"dataset": "cifar10", "objective": "clean", "evaluations": 300, "a": "bo", "b": "re",
         "seeds": 50, "mean_diff": -0.0009, "wins": 9, "losses": 28, "ties": 13,
         "statistic": 1.0, "p_value": 0.0166, "p_holm": 0.049956, "significant": True},
        {"dataset": "cifar10", "objective": "clean", "evaluations": 300, "a": "bo", "b": "ls",
         "seeds": 50, "mean_diff": 0.001, "wins": 20, "losses": 18, "ties": 12,
         "statistic": 2.0, "p_value": 0.26, "p_holm": 0.52, "significant": False}])
    text = ranking_markdown(Ranking(ranks, pairwise, None))
    assert text.startswith("Runs paired by seed; Friedman test") and "Holm" in text
    assert "Friedman chi² = 12.30, p = 4.0e-04" in text
    assert "| bo vs re | -0.0009 | 9/13/28 | 0.0166 | 0.04996 | re better |" in text  # not 0.05
    assert "| bo vs ls | +0.0010 | 20/12/18 | 0.26 | 0.52 | no significant difference |" in text


def test_markdown_table_escapes_pipes_in_cells() -> None:
    # an NB201 string holds pipes; unescaped they would split the cell
    table = markdown_table(pd.DataFrame({"x": [1.5], "arch": ["|none~0|+|skip_connect~1|"]}))
    assert table.splitlines()[2] == "| 1.5 | \\|none~0\\|+\\|skip_connect~1\\| |"


def test_one_run_per_searcher_is_singular() -> None:
    row = {**_summary_row("bo", 10, 0.4, math.nan, math.nan, 0), "runs": 1}
    text = summary_markdown(pd.DataFrame([row]), {("cifar10", "pgd@1/255"): 0.5})
    assert "(optimum 0.500; 1 run per searcher)" in text
    assert "(1 run per searcher)" in summary_markdown(pd.DataFrame([row]), {})


def test_headings_and_notes_say_what_is_so() -> None:
    """Unequal run counts, a Friedman test skipped for lack of seeds (not of searchers), one
    paired seed, and a mean evaluation of 64.5 (was '64')."""
    rows = [_summary_row("bo", 10, 0.4, 0.35, 0.45, 2), _summary_row("random", 10, 0.3, 0.25, 0.35, 0)]
    rows[0]["runs"], rows[0]["evals_to_optimum"] = 2, 64.5
    text = summary_markdown(pd.DataFrame(rows), {("cifar10", "pgd@1/255"): 0.5})
    assert "### cifar10 · pgd@1/255 (optimum 0.500; 2-4 runs per searcher)" in text
    assert "| 64.5 (2) |" in text
    ranks = pd.DataFrame([
        {"dataset": "cifar10", "objective": "clean", "evaluations": 30, "searcher": s, "mean_rank": 2.0,
         "best_mean": 0.9, "seeds": 1, "friedman_statistic": math.nan, "friedman_p": math.nan}
        for s in ("re", "bo", "ls")])
    text = ranking_markdown(Ranking(ranks, pd.DataFrame(columns=["dataset", "objective"]), None))
    assert "after 30 evaluations (1 paired seed)" in text
    assert "Friedman test: not run (fewer than 2 seeds run by every searcher: 1)" in text
    assert "fewer than 3 searchers" in ranking_markdown(Ranking(ranks.iloc[:2], ranks.iloc[:0], None))
