"""Anytime plots of a comparison: mean best-so-far (or regret) vs distinct evaluations.

One panel per dataset and objective, one line per searcher with its 95% Student-t confidence
band across runs, and the table's optimum as a dashed horizontal line (regret: the zero line).
Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so plotting needs no
display and changes no process-wide state (the backend is not switched: a notebook's inline
plots keep working).

>>> import tempfile, pathlib
>>> from robnas.compare.trajectories import write_run_record, load_trajectories, expand_to_budget
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for seed in range(3):
...     _ = write_run_record(root / f"r{seed}", searcher="random", objective="clean",
...                          dataset="cifar10", seed=seed, values=[0.5, 0.6 + seed / 100],
...                          optimum=0.9)
>>> paths = plot_anytime(expand_to_budget(load_trajectories(root)), root / "fig")
>>> [p.name for p in paths]
['anytime-cifar10-clean.png']
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from robnas.compare.stats import searcher_sort_key
from robnas.errors import RobnasError
from robnas.vocabulary import name_list

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

METRICS = ("value", "regret")
"""What a plot can show: the best value so far, or its regret to the optimum."""
FORMATS = ("png", "svg", "pdf")
"""File formats :func:`plot_anytime` can write."""

PANEL_SIZE = (5.0, 3.6)
"""Width and height of one panel, in inches."""
DPI = 150
"""Resolution of PNG files."""

SEARCHER_LABELS = {
    "random": "Random search",
    "re": "Regularized evolution",
    "ls": "Local search",
    "bo": "BO (Optuna TPE)",
    "predictor": "Predictor (random forest)",
    "nsga2": "NSGA-II (Optuna)",
    "motpe": "MOTPE (Optuna)",
    "pls": "Pareto local search",
    "parego": "ParEGO (ridge)",
    "hvi": "Hypervolume improvement",
}
_COLOURS = {"random": "#7f7f7f", "re": "#1f77b4", "ls": "#2ca02c", "bo": "#d62728",
            "predictor": "#9467bd",  # single-objective figures: never drawn next to parego
            "nsga2": "#1f77b4", "motpe": "#d62728", "pls": "#2ca02c", "parego": "#9467bd",
            "hvi": "#ff7f0e"}
_SETTING_COLOURS = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e", "#9467bd", "#2ca02c",
                    "#d62728", "#1f77b4", "#7f7f7f")
"""Colours for settings of a searcher (``re:warmup=params``): matplotlib's tab10, those of no
named searcher first."""


def legend_label(searcher: str) -> str:
    """A searcher label as legends show it: ``Regularized evolution (warmup=params)``."""
    base, _, setting = searcher.partition(":")  # re:warmup=params: a setting of re
    return SEARCHER_LABELS.get(base, base) + (f" ({setting})" if setting else "")


def searcher_colours(searchers: Iterable[str]) -> dict[str, str]:
    """A colour per searcher label: a registry name its own (:data:`_COLOURS`), every other
    label (a setting, ``re:warmup=params``) the next of :data:`_SETTING_COLOURS` that no
    searcher of ``searchers`` uses yet, so two settings of one searcher never share a colour.

    >>> searcher_colours(["re", "re:warmup=params", "random"])
    {'re': '#1f77b4', 're:warmup=params': '#8c564b', 'random': '#7f7f7f'}
    """
    labels = list(dict.fromkeys(searchers))
    colours = {label: _COLOURS[label] for label in labels if label in _COLOURS}
    palette = [c for c in _SETTING_COLOURS if c not in colours.values()] or list(_SETTING_COLOURS)
    for number, label in enumerate(label for label in labels if label not in colours):
        colours[label] = palette[number % len(palette)]
    return {label: colours[label] for label in labels}


def anytime_curves(expanded: pd.DataFrame, metric: str = "value") -> pd.DataFrame:
    """Per dataset, objective, searcher and ``n``: mean, 95% t-interval and run count of ``metric``.

    The metric is the best value so far (``value``) or the regret (``regret``); the band stays
    within what the metric can be, [0, optimum] (the optimum of the group: a best value plus
    its regret; unknown in live mode, where only 0 bounds it), as the tables' intervals do
    (:func:`~robnas.compare.stats.clip_best`, :func:`~robnas.compare.stats.clip_regret`).
    """
    import numpy as np
    from scipy import stats

    column = _column(metric)
    grouped = expanded.groupby(["dataset", "objective", "searcher", "n"], sort=True)[column]
    curves = grouped.agg(mean="mean", sd="std", runs="count").reset_index()
    runs = curves["runs"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(runs > 1, stats.t.ppf(0.975, np.maximum(runs - 1, 1)), np.nan)
        half = t * curves["sd"].to_numpy() / np.sqrt(runs)
    curves["low"] = curves["mean"] - half
    curves["high"] = curves["mean"] + half
    optimum = (expanded["best"] + expanded["regret"]).groupby([expanded["dataset"], expanded["objective"]]).max()
    top = curves.set_index(["dataset", "objective"]).index.map(optimum).to_numpy(dtype=np.float64)
    top = np.where(np.isnan(top), np.inf, top)  # NaN where no regret is known (live mode)
    curves["low"] = curves["low"].clip(lower=0.0)
    curves["high"] = np.minimum(curves["high"].clip(lower=0.0).to_numpy(), top)
    return curves


def draw_panel(
    ax: Axes,
    curves: pd.DataFrame,
    *,
    metric: str = "value",
    optimum: float | None = None,
    log_x: bool = False,
    title: str | None = None,
    legend: bool = True,
) -> None:
    """Draw one dataset-objective panel of :func:`anytime_curves` output onto ``ax``."""
    import numpy as np

    ordered = _ordered(curves["searcher"].unique())
    colours = searcher_colours(ordered)
    for searcher in ordered:
        c = curves[curves["searcher"] == searcher]
        colour = colours[searcher]
        label = legend_label(searcher)
        ax.plot(c["n"], c["mean"], color=colour, lw=1.6, label=label)
        ax.fill_between(c["n"], c["low"], c["high"], color=colour, alpha=0.2, lw=0)
    reference = 0.0 if metric == "regret" else optimum
    group = bool(title) and "," in str(title)  # an objective group: hypervolume shares (robnas.multi_loop)
    if reference is not None and np.isfinite(reference):
        # under the curves (lines are at zorder 2, bands at 1): a searcher at the optimum shows
        named = "the whole true hypervolume" if group else f"optimum ({reference:.3f})"
        ax.axhline(reference, color="black", ls="--", lw=1.0, zorder=1.5,
                   label=named if metric == "value" else "zero regret")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("distinct architectures evaluated")
    if group:
        ax.set_ylabel("share of the true hypervolume" if metric == "value"
                      else "hypervolume regret (share)")
    else:
        ax.set_ylabel("best accuracy so far" if metric == "value" else "regret to the optimum")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize=7, loc="lower right" if metric == "value" else "upper right")


def plot_anytime(
    expanded: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    metric: str = "value",
    log_x: bool = False,
    formats: Sequence[str] = ("png",),
    combined: bool = False,
    zoom: bool = True,
) -> list[Path]:
    """Write one anytime figure per dataset and objective (and optionally one with all panels).

    Args:
        expanded: an expanded trajectory table (:func:`robnas.compare.trajectories.expand_to_budget`).
        out_dir: where the figures go (created).
        metric: ``value`` (mean best so far) or ``regret``.
        log_x: log-scaled x axis.
        formats: any of :data:`FORMATS`; PNG is written at :data:`DPI`.
        combined: also write ``anytime-all.<fmt>`` with every panel side by side.
        zoom: start the y axis near the curves (from the 10th evaluation on), not at the first
            random guesses, so late differences stay visible.

    Returns:
        The paths written, per-panel figures first.
    """
    from matplotlib.figure import Figure

    check_formats(formats)
    if expanded.empty:
        raise RobnasError("no trajectories to plot")
    curves = anytime_curves(expanded, metric)
    optima = expanded.groupby(["dataset", "objective"])["optimum"].first()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    panels = list(curves.groupby(["dataset", "objective"], sort=False))
    written: list[Path] = []

    def draw(ax: Axes, key: tuple[str, str], panel: pd.DataFrame, legend: bool = True) -> None:
        dataset, objective = key
        optimum = float(optima.get(key, float("nan")))
        draw_panel(ax, panel, metric=metric, optimum=optimum, log_x=log_x,
                   title=f"{dataset} · {objective}", legend=legend)
        if zoom:
            _zoom(ax, panel, metric, optimum)

    for key, panel in panels:
        fig = Figure(figsize=PANEL_SIZE)
        draw(fig.subplots(), key, panel)
        written += _save(fig, out / f"anytime-{_slug(key[0])}-{_slug(key[1])}", formats)
    if combined and panels:
        size = (PANEL_SIZE[0] * len(panels), PANEL_SIZE[1])
        fig = Figure(figsize=size)
        axes = fig.subplots(1, len(panels), squeeze=False)
        for ax, (key, panel) in zip(axes[0], panels, strict=True):
            draw(ax, key, panel, legend=False)
        # one shared legend below the panels; each panel's optimum differs, so name it generically
        handles, labels = axes[0][0].get_legend_handles_labels()
        labels = ["optimum of the table" if label.startswith("optimum (") else label
                  for label in labels]
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8,
                   frameon=False)
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        written += _save(fig, out / "anytime-all", formats, layout=False)
    return written


def _zoom(ax: Axes, panel: pd.DataFrame, metric: str, optimum: float) -> None:
    import numpy as np

    late = panel[panel["n"] >= min(10, int(panel["n"].max()))]
    low = np.nanmin(late["low"].to_numpy()) if late["low"].notna().any() else late["mean"].min()
    high = np.nanmax(late["high"].to_numpy()) if late["high"].notna().any() else late["mean"].max()
    if metric == "value" and np.isfinite(optimum):
        high = max(high, optimum)
    if metric == "regret":
        low = min(low, 0.0)
    span = (high - low) or 0.01
    ax.set_ylim(low - 0.05 * span, high + 0.08 * span)


def check_formats(formats: Sequence[str]) -> None:
    """Refuse a figure format that is not one of :data:`FORMATS` (before any drawing).

    Raises:
        RobnasError: naming the first unknown format and the choices.
    """
    bad = [f for f in name_list(formats, "formats") if f not in FORMATS]
    if bad:
        raise RobnasError(f"unknown figure format {bad[0]!r}; choose from {', '.join(FORMATS)}")


def _save(fig: Figure, stem: Path, formats: Sequence[str], layout: bool = True) -> list[Path]:
    if layout:
        fig.tight_layout()
    paths = []
    import matplotlib

    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")  # not with_suffix: 'fgsm@0.1_255' holds a '.'
        with matplotlib.rc_context({"svg.hashsalt": "robnas"}):  # stable SVG ids
            fig.savefig(path, dpi=DPI, metadata=_metadata(fmt))
        paths.append(path)
    return paths


def _metadata(fmt: str) -> dict[str, str | None]:
    # drop creation dates so re-drawing the same runs gives the same SVG/PDF bytes
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}


def _ordered(searchers: Sequence[str]) -> list[str]:
    return sorted(searchers, key=searcher_sort_key)


def _column(metric: str) -> str:
    if metric not in METRICS:
        raise RobnasError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    return "best" if metric == "value" else "regret"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.@-]+", "_", text).strip("_")
