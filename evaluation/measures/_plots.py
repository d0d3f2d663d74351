"""Figures of score correlations: a heat map of one statistic, and score-vs-objective scatters.

Each function returns a :class:`matplotlib.figure.Figure` (no pyplot, no global state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

_LABELS = {"kendall": "Kendall's tau", "spearman": "Spearman's rho", "pearson": "Pearson's r",
           "top10": "top-10% precision"}


def plot_heatmap(correlations: pd.DataFrame, statistic: str = "kendall") -> Figure:
    """Scores (rows) x objectives (columns), coloured and annotated by ``statistic``."""
    from matplotlib.figure import Figure

    grid = correlations.pivot(index="score", columns="objective", values=statistic)
    grid = grid.loc[list(dict.fromkeys(correlations["score"])), list(dict.fromkeys(correlations["objective"]))]
    figure = Figure(figsize=(1.6 + 1.3 * grid.shape[1], 1.0 + 0.45 * grid.shape[0]), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(grid.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    axes.set_xticks(range(grid.shape[1]), grid.columns, rotation=30, ha="right")
    axes.set_yticks(range(grid.shape[0]), grid.index)
    for r in range(grid.shape[0]):
        for c in range(grid.shape[1]):
            value = grid.iat[r, c]
            axes.text(c, r, "–" if value != value else f"{value:.2f}", ha="center", va="center",
                      fontsize=8, color="white" if abs(value) > 0.6 else "black")
    figure.colorbar(image, ax=axes, label=_LABELS.get(statistic, statistic))
    return figure


def plot_scatter(joined: pd.DataFrame, scores: list[str], objectives: list[str],
                 correlations: pd.DataFrame | None = None) -> Figure:
    """One panel per score and objective: objective against the score's rank (log-free, so
    scores spanning many orders of magnitude stay readable), with Kendall's tau in the title."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.2 * len(objectives), 2.8 * len(scores)), layout="constrained")
    axes = figure.subplots(len(scores), len(objectives), squeeze=False)
    for r, score in enumerate(scores):
        for c, objective in enumerate(objectives):
            ax = axes[r][c]
            pair = joined[[score, objective]].dropna()
            ax.scatter(pair[score].rank(pct=True), pair[objective], s=2, alpha=0.3, linewidths=0)
            ax.set_xlabel(f"{score} (percentile rank)")
            ax.set_ylabel(objective)
            if correlations is not None:
                hit = correlations[(correlations["score"] == score) & (correlations["objective"] == objective)]
                if len(hit):
                    ax.set_title(f"tau = {hit['kendall'].iloc[0]:.3f}", fontsize=9)
    return figure
