"""A figure of one run record: what ``robnas search --plot`` writes beside the record.

* one objective: every evaluated cell's value (grey dots; crosses for cells outside a run's
  ``--min-clean``/``--max-params``/``--max-flops`` limits) against the number of distinct cells
  evaluated, the best value so far (a step line) and the table's (feasible) optimum (dashed;
  tabular runs);
* two or three objectives: every evaluated cell in the plane of the first two objectives (grey),
  the front found (a step line through its cells) and, where the table gives it, the true front
  (open circles).

Made with :class:`matplotlib.figure.Figure`, without pyplot: no display is needed and no
process-wide state changes.

>>> import tempfile, pathlib
>>> from robnas.compare.trajectories import write_run_record
>>> run_dir = write_run_record(pathlib.Path(tempfile.mkdtemp()) / "r", searcher="random",
...                            objective="clean", dataset="cifar10", seed=0,
...                            values=[0.5, 0.7, 0.6], optimum=0.9)
>>> [p.name for p in plot_run(run_dir)]
['anytime.png']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.compare.plan import config_label
from robnas.errors import RobnasError
from robnas.run_record import RunRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ANYTIME_STEM = "anytime"
"""File name (without suffix) of a single-objective run's figure."""
FRONT_STEM = "front"
"""File name (without suffix) of a multi-objective run's figure."""


def plot_run(run_dir: str | os.PathLike[str], *, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Draw the run recorded in ``run_dir`` into ``run_dir`` (``anytime.png`` or ``front.png``).

    Raises:
        RobnasError: the record holds no trial, or a format is not one of
            :data:`robnas.compare.plots.FORMATS`.
    """
    from robnas.compare.plots import _save, check_formats

    check_formats(formats)
    fig, stem = run_figure(run_dir)
    return _save(fig, Path(run_dir) / stem, formats)


def run_figure(run_dir: str | os.PathLike[str]) -> tuple[Figure, str]:
    """The figure of the run recorded in ``run_dir`` and its file stem (nothing is written)."""
    record = RunRecord(run_dir)
    config, summary, trials = record.config(), record.summary() or {}, record.read_trials()
    if not trials:
        raise RobnasError(f"{run_dir}: the run record holds no trial to plot")
    if "objectives" in config:
        return _front_figure(config, summary, trials), FRONT_STEM
    return _anytime_figure(config, summary, trials), ANYTIME_STEM


def _anytime_figure(config: dict[str, Any], summary: dict[str, Any], trials: list[dict[str, Any]]) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    from robnas.compare.plots import _COLOURS, PANEL_SIZE, SEARCHER_LABELS

    fig = Figure(figsize=(PANEL_SIZE[0], PANEL_SIZE[1] * 1.15))
    ax = fig.subplots()
    n = np.array([t["n"] for t in trials])
    values = np.array([t["value"] for t in trials], dtype=float)
    feasible = np.array([t.get("feasible", True) for t in trials])  # False: outside --min-clean/--max-*
    searcher = config["searcher"]["name"]
    ax.scatter(n[feasible], values[feasible], s=8, color="0.6", label="cell evaluated", zorder=2)
    constrained = not feasible.all() or any(config.get(k) is not None for k in ("min_clean", "max_params", "max_flops"))
    if constrained:
        ax.scatter(n[~feasible], values[~feasible], s=10, marker="x", lw=0.8, color="0.75",
                   label="outside the constraints", zorder=2)
    best = [float("nan") if t["best"] is None else t["best"] for t in trials]  # None: nothing feasible yet
    ax.step(n, best, where="post", lw=1.6, color=_COLOURS.get(searcher),
            label=f"best so far ({SEARCHER_LABELS.get(searcher, searcher)})", zorder=3)
    optimum = summary.get("optimum")
    if optimum is not None:
        ax.axhline(optimum, color="black", ls="--", lw=1.0,
                   label=f"{'feasible ' if constrained else ''}optimum ({optimum:.3f})")
    ax.set_xlabel("distinct architectures evaluated")
    ax.set_ylabel(config["objective"])
    ax.set_title(f"{config['dataset']} · {config['objective']} · {config_label(config['searcher'])}, "
                 f"seed {config.get('seed')}",
                 fontsize=9)
    ax.grid(True, alpha=0.3)
    # below the axes: the cells scatter over the whole panel, so any corner inside hides some
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False)
    return fig


def _front_figure(config: dict[str, Any], summary: dict[str, Any], trials: list[dict[str, Any]]) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    from robnas.compare.fronts import draw_front, label_front_axes
    from robnas.compare.plots import _COLOURS, PANEL_SIZE, SEARCHER_LABELS
    from robnas.multi_objective import DirectedObjective

    directed = [DirectedObjective.parse(o) for o in config["objectives"]]
    flags = [o.maximize for o in directed]
    values = np.array([t["values"] for t in trials], dtype=float)
    fig = Figure(figsize=(PANEL_SIZE[0] * 1.2, PANEL_SIZE[1] * 1.2))
    ax = fig.subplots()
    ax.scatter(values[:, 0], values[:, 1], s=8, color="0.6", label=f"cells evaluated ({len(values)})",
               zorder=2)
    searcher = config["searcher"]["name"]
    front = draw_front(ax, values, flags, lw=1.2, color=_COLOURS.get(searcher), zorder=3)
    ax.lines[-1].set_label(f"front found ({SEARCHER_LABELS.get(searcher, searcher)}, {len(front)} cells)")
    true = summary.get("true_front") or []
    if true:
        total = summary.get("true_hypervolume")
        share = summary.get("hypervolume", 0.0) / total if total else None
        ax.scatter([row[directed[0].name] for row in true], [row[directed[1].name] for row in true], s=70,
                   facecolors="none", edgecolors="black", lw=1.2, zorder=4,
                   label=f"true front ({len(true)} classes)" + (f"; found {share:.1%} of its HV" if share else ""))
    label_front_axes(ax, directed, f"{config['dataset']} · {config['objective']}\n"
                                   f"{config_label(config['searcher'])}, seed {config.get('seed')}")
    return fig
