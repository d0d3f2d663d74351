"""Figures of the design analysis, drawn from the section tables.

Every function takes the frames the analysis functions return and returns a
:class:`matplotlib.figure.Figure`; none touches pyplot or any process-wide setting, so they work
without a display and inside other programs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from robnas.arch import EDGES, OPS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANEL = (4.6, 3.4)
"""Width and height of one panel, in inches."""
DPI = 100
"""Resolution of the report's PNG files (the figures are large; 100 dpi keeps them sharp and
the report fast)."""
ANNOTATE_LIMIT = 4
"""Heat maps of :func:`plot_operations` write each cell's mean only up to this many panels."""
_ATTACK_ORDER = ("fgsm", "pgd", "apgd", "square")
_SHORT_OPS = ("none", "skip", "1x1", "3x3", "pool")
_OP_COLOURS = {"none": "#7f7f7f", "skip_connect": "#1f77b4", "nor_conv_1x1": "#2ca02c",
               "nor_conv_3x3": "#d62728", "avg_pool_3x3": "#9467bd"}


def _figure(panels: int, columns: int = 3, size: tuple[float, float] = PANEL,
            bottom: float = 0.9) -> tuple[Figure, list[Axes]]:
    """A figure with ``panels`` axes on a grid; fixed margins (``tight_layout`` costs seconds
    on big figures). ``bottom``: inches below each row for tick labels."""
    from matplotlib.figure import Figure

    columns = max(1, min(columns, panels))
    rows = max(1, math.ceil(panels / columns))
    width, height = size[0] * columns, size[1] * rows
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.9 / width * columns / columns, right=1 - 0.3 / width,
                        bottom=bottom / height, top=1 - 0.55 / height,
                        wspace=0.35, hspace=(bottom + 0.5) / (size[1] - bottom - 0.5))
    axes = [fig.add_subplot(rows, columns, i + 1) for i in range(panels)]
    return fig, axes


def plot_distributions(table: pd.DataFrame, title: str = "") -> Figure:
    """Box plots from a :func:`~robnas.analysis.distributions.distributions` table.

    One panel for clean and the overall means, one per attack (a box per epsilon), and, where
    the table has corruptions, a full-width panel with a box per corruption and severity.
    """
    from matplotlib.figure import Figure

    families = list(dict.fromkeys(table["family"]))
    attacks = [f for f in _ATTACK_ORDER if f in families]
    corruptions = [f for f in families if f not in (*_ATTACK_ORDER, "clean", "aggregate")]
    overall = [n for n in table.index
               if n == "clean" or (table.at[n, "family"] == "aggregate" and n.split("@")[0] in
                                   (*_ATTACK_ORDER, "adversarial", "corruption"))]
    top: list[tuple[str, pd.DataFrame, bool]] = []
    if overall:
        top.append(("clean and means", table.loc[overall], True))
    top += [(f"{a} (epsilon x 1/255)", table.loc[table["family"] == a], False) for a in attacks]
    columns = min(3, max(1, len(top)))
    rows = -(-len(top) // columns) + (1 if corruptions else 0)
    fig = Figure(figsize=(PANEL[0] * columns, PANEL[1] * rows + 0.6))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.9 / (PANEL[1] * rows + 0.6),
                        top=1 - 0.6 / (PANEL[1] * rows + 0.6), wspace=0.25, hspace=0.55)
    grid = fig.add_gridspec(rows, columns)
    for k, (name, part, by_name) in enumerate(top):
        ax = fig.add_subplot(grid[k // columns, k % columns])
        _boxes(ax, part, [n if by_name else f"{p:g}" for n, p in zip(part.index, part["point"], strict=True)])
        ax.set_title(name, fontsize=9)
        ax.tick_params(axis="x", labelsize=7, rotation=30 if by_name else 0)
    if corruptions:
        part = table.loc[table["family"].isin(corruptions)]
        ax = fig.add_subplot(grid[rows - 1, :])
        labels = [f if p == 3 else "" for f, p in zip(part["family"], part["point"], strict=True)]
        _boxes(ax, part, labels)
        ax.set_title("corruptions, severity 1 to 5 (each name under severity 3)", fontsize=9)
        ax.tick_params(axis="x", labelsize=7, length=0)
    if title:
        fig.suptitle(title)
    return fig


def _boxes(ax: Axes, part: pd.DataFrame, labels: Sequence[str]) -> None:
    stats = [{"med": r.median, "q1": r.q1, "q3": r.q3, "whislo": r.whislo, "whishi": r.whishi, "label": label}
             for r, label in zip(part.itertuples(), labels, strict=True)]
    ax.bxp(stats, showfliers=False)
    ax.set_ylabel("accuracy")


def plot_correlations(matrix: pd.DataFrame, title: str = "Kendall's tau") -> Figure:
    """A heat map of a :func:`~robnas.analysis.correlations.correlation_matrix` (NaN: blank)."""
    import numpy as np
    from matplotlib.figure import Figure

    rows, cols = matrix.shape
    label = max((len(str(c)) for c in matrix.columns), default=4)
    bottom = 0.6 + 0.07 * label  # inches for the rotated column labels
    fig = Figure(figsize=(min(max(5.0, 3.0 + 0.32 * cols), 30), min(max(3.2, bottom + 0.9 + 0.17 * rows), 60)))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(np.ma.masked_invalid(matrix.to_numpy(dtype=float)), cmap="RdBu_r",
                      vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(cols), matrix.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(rows), matrix.index, fontsize=6 if rows > 40 else 8)
    if rows * cols <= 400:
        for (i, j), value in np.ndenumerate(matrix.to_numpy(dtype=float)):
            if not np.isnan(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, shrink=0.6)
    ax.set_title(title)
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=min(1.6 / width, 0.5), bottom=min(bottom / height, 0.6), right=0.95,
                        top=1 - 0.5 / height)
    return fig


def plot_dataset_correlations(table: pd.DataFrame, statistic: str = "kendall_tau") -> Figure:
    """A heat map of a :func:`~robnas.analysis.correlations.dataset_correlations` table:
    objectives as rows, dataset pairs as columns."""
    pairs = table.assign(pair=table["dataset_a"] + " vs " + table["dataset_b"])
    matrix = pairs.pivot(index="objective", columns="pair", values=statistic)
    matrix = matrix.loc[list(dict.fromkeys(table["objective"]))]
    name = "Kendall's tau" if statistic == "kendall_tau" else "Spearman's rho"
    return plot_correlations(matrix, title=f"{name} between datasets")


def plot_equal_cost(frame: pd.DataFrame, objectives: Sequence[str], by: str = "params", *,
                    exclude_degenerate: bool = True) -> Figure:
    """Objective vs cost, one panel per objective: every class a dot, each group's min-max range
    and median marked (from a :func:`~robnas.analysis.class_frame`)."""
    data = frame.loc[~frame["degenerate"]] if exclude_degenerate else frame
    fig, axes = _figure(len(objectives))
    unit = "parameters (millions)" if by == "params" else "FLOPs (millions)"
    for ax, objective in zip(axes, objectives, strict=True):
        ax.scatter(data[by], data[objective], s=3, alpha=0.25, color="#1f77b4", linewidths=0)
        groups = data.groupby(by)[objective].agg(["min", "median", "max"])
        ax.vlines(groups.index, groups["min"], groups["max"], color="#555555", linewidth=0.8)
        ax.plot(groups.index, groups["median"], "_", color="#d62728", markersize=8)
        ax.set_xlabel(unit)
        ax.set_ylabel(objective)
        ax.set_title(objective, fontsize=9)
    return fig


def plot_operations(table: pd.DataFrame, objectives: Sequence[str]) -> Figure:
    """Edge x operation heat maps of the enrichment among the top classes (colour, log scale,
    one shared colour bar), one panel per objective, from an
    :func:`~robnas.analysis.operations.operation_effects` table; with at most
    :data:`ANNOTATE_LIMIT` panels each cell also shows the mean objective."""
    import numpy as np
    from matplotlib.colors import LogNorm

    fig, axes = _figure(len(objectives), size=(4.6, 3.2))
    edges = [f"{i}->{j}" for i, j in EDGES]
    norm = LogNorm(vmin=1 / 4, vmax=4)
    image = None
    for ax, objective in zip(axes, objectives, strict=True):
        part = table.loc[table["objective"] == objective]
        means = part.pivot(index="edge", columns="op", values="mean").reindex(index=edges, columns=list(OPS))
        ratio = part.pivot(index="edge", columns="op", values="enrichment").reindex(index=edges, columns=list(OPS))
        shown = np.clip(np.nan_to_num(ratio.to_numpy(dtype=float), nan=1.0), 1 / 4, 4)
        image = ax.imshow(shown, cmap="PuOr_r", norm=norm, aspect="auto")
        if len(objectives) <= ANNOTATE_LIMIT:
            for (i, j), value in np.ndenumerate(means.to_numpy(dtype=float)):
                if not np.isnan(value):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
        ax.set_xticks(range(len(OPS)), _SHORT_OPS, fontsize=7)
        ax.set_yticks(range(len(edges)), edges, fontsize=7)
        ax.set_title(f"{objective}: enrichment among the top", fontsize=8)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.6, label="enrichment among the top classes")
        bar.set_ticks([0.25, 0.5, 1, 2, 4], labels=["1/4", "1/2", "1", "2", "4"])
    return fig


def plot_operation_counts(table: pd.DataFrame, objectives: Sequence[str]) -> Figure:
    """Mean objective (95% interval) vs how many edges carry each operation, one panel per
    objective, from an :func:`~robnas.analysis.operations.operation_counts` table."""
    fig, axes = _figure(len(objectives))
    for ax, objective in zip(axes, objectives, strict=True):
        part = table.loc[table["objective"] == objective]
        for op in OPS:
            rows = part.loc[part["op"] == op]
            ax.plot(rows["count"], rows["mean"], marker="o", markersize=3, label=op, color=_OP_COLOURS[op])
            ax.fill_between(rows["count"], rows["ci_low"], rows["ci_high"], alpha=0.15, color=_OP_COLOURS[op])
        ax.set_xlabel("edges with the operation")
        ax.set_ylabel(objective)
        ax.set_title(objective, fontsize=9)
    axes[0].legend(fontsize=6)
    return fig
