"""Reports of a comparison: the tables and figures drawn from its run records."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from robnas.compare.plan import FIGURES_DIR, RUNS_DIR
from robnas.compare.stats import DEFAULT_CHECKPOINTS, Ranking, rank_searchers, summarize
from robnas.compare.trajectories import expand_to_budget, load_trajectories
from robnas.errors import ComparisonError

if TYPE_CHECKING:
    import pandas as pd

    from robnas.compare.fronts import FrontRun


@dataclass
class ComparisonReport:
    """The tables and files :func:`write_reports` produced."""

    trajectories: pd.DataFrame
    summary: pd.DataFrame
    ranking: Ranking
    optima: dict[tuple[str, str], float]
    files: list[Path]
    fronts: pd.DataFrame | None = None

    def markdown(self) -> str:
        """The summary and the ranking as Markdown (and the true-front classes found, for
        multi-objective runs)."""
        from robnas.compare.tables import ranking_markdown, summary_markdown

        text = summary_markdown(self.summary, self.optima) + "\n" + ranking_markdown(self.ranking)
        if self.fronts is not None:
            from robnas.compare.fronts import front_found_markdown

            text += "\n" + front_found_markdown(self.fronts)
        return text


def check_one_run_per_seed(table: pd.DataFrame, source: Path) -> None:
    """Refuse two runs of one searcher, seed, dataset and objective (two ``robnas search`` records
    of one seed in the folder compared): counted as two runs, one seed would narrow the interval
    (to zero width for a deterministic searcher) and be averaged in the paired tests.

    Raises:
        ComparisonError: naming the first such seed and its run folders.
    """
    runs = table.drop_duplicates("run_id").dropna(subset=["seed"])
    keys = ["dataset", "objective", "searcher", "seed"]
    repeated = runs[runs.duplicated(keys, keep=False)]
    if repeated.empty:
        return
    first = repeated.iloc[0]
    same = repeated[(repeated[keys] == first[keys]).all(axis=1)]["run_id"].tolist()
    raise ComparisonError(
        f"{source} holds {len(same)} runs of {first['searcher']} with seed {first['seed']} on "
        f"{first['dataset']} {first['objective']} ({', '.join(map(str, same))}): a comparison counts "
        "each seed of a searcher once; move all but one elsewhere")


def write_reports(
    out_dir: str | os.PathLike[str],
    *,
    checkpoints: Iterable[int] = DEFAULT_CHECKPOINTS,
    metric: str = "value",
    log_x: bool = False,
    formats: Sequence[str] = ("png",),
) -> ComparisonReport:
    """Read the runs of a comparison folder and write its tables and figures.

    Reads ``out_dir/runs`` when it exists, else run records anywhere under ``out_dir`` (so a
    folder of plain ``robnas search`` records can be compared too). Runs without a summary are
    left out.

    Every record is read and every table computed before the first file is written, so a
    record the reports cannot use (:func:`~robnas.compare.fronts.load_front_runs`) leaves the
    folder's earlier reports as they were.

    Raises:
        NoRunsError: the folder holds no finished run.
        RunRecordError: a run record is malformed (naming its file).
    """
    from robnas.compare.fronts import front_found_summary, load_front_runs
    from robnas.compare.plots import plot_anytime
    from robnas.compare.tables import ranking_markdown, summary_markdown
    from robnas.compare.trajectories import find_run_dirs

    out = Path(out_dir)
    source = out / RUNS_DIR if (out / RUNS_DIR).is_dir() else out
    table = load_trajectories(source)
    budgets = sorted({int(b) for b in table.drop_duplicates("run_id")["budget"]})
    if len(budgets) > 1:  # ranked at the largest, a shorter run would count its last best there
        raise ComparisonError(f"{source} holds runs of different budgets ({', '.join(map(str, budgets))}): a "
                              "comparison ranks its runs at one budget; put each budget's runs in a folder "
                              "of its own")
    check_one_run_per_seed(table, source)
    expanded = expand_to_budget(table)
    summary = summarize(expanded, checkpoints)
    ranking = rank_searchers(expanded)
    optima = {key: float(v) for key, v in
              table.groupby(["dataset", "objective"])["optimum"].first().items()}
    front_runs = load_front_runs(find_run_dirs(source))
    fronts = front_found_summary(front_runs, checkpoints) if front_runs else None
    files: list[Path] = []
    table.to_parquet(out / "trajectories.parquet", index=False)
    files.append(out / "trajectories.parquet")
    summary.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text("# Summary\n\n" + summary_markdown(summary, optima),
                                    encoding="utf-8")
    ranking.ranks.to_csv(out / "ranking.csv", index=False)
    ranking.pairwise.to_csv(out / "pairwise.csv", index=False)
    (out / "ranking.md").write_text("# Ranking\n\n" + ranking_markdown(ranking), encoding="utf-8")
    files += [out / name for name in ("summary.md", "summary.csv", "ranking.md", "ranking.csv",
                                      "pairwise.csv")]
    panels = expanded.groupby(["dataset", "objective"]).ngroups
    files += plot_anytime(expanded, out / FIGURES_DIR, metric=metric, log_x=log_x,
                          formats=formats, combined=panels > 1)
    if fronts is not None:
        _front_reports(front_runs, fronts, out, formats, files)
    _remove_stale_figures(out / FIGURES_DIR, files)
    return ComparisonReport(table, summary, ranking, optima, files, fronts)


def _remove_stale_figures(folder: Path, written: Sequence[Path]) -> None:
    """Remove the report's figures (``anytime-*``, ``fronts-*``) an earlier drawing left that
    this one did not write: an SVG of another metric beside this PNG, a panel of a group gone."""
    from robnas.compare.plots import FORMATS

    kept = {path.resolve() for path in written}
    for path in folder.glob("*"):
        if (path.is_file() and path.name.startswith(("anytime-", "fronts-"))
                and path.suffix.lstrip(".") in FORMATS and path.resolve() not in kept):
            path.unlink()


def _front_reports(runs: Sequence[FrontRun], found: pd.DataFrame, out: Path, formats: Sequence[str],
                   files: list[Path]) -> None:
    """For multi-objective runs: ``fronts.md``/``fronts.csv`` (``found``: true-front classes
    found) and ``figures/fronts-*`` (true front vs median runs), appended to ``files``."""
    from robnas.compare.fronts import front_found_markdown, plot_fronts

    found.to_csv(out / "fronts.csv", index=False)
    (out / "fronts.md").write_text("# True-front classes found\n\n" + front_found_markdown(found),
                                   encoding="utf-8")
    files += [out / "fronts.md", out / "fronts.csv"]
    files += plot_fronts(runs, out / FIGURES_DIR, formats=formats)
