"""Multi-objective comparisons: true-front classes found, and a figure of the fronts.

Multi-objective run records (:mod:`robnas.multi_loop`) flow through the ordinary comparison
tables: their ``best`` is the front's share of the true hypervolume and their optimum is 1, so
:func:`~robnas.compare.stats.summarize`, :func:`~robnas.compare.stats.rank_searchers` and
:func:`~robnas.compare.plots.plot_anytime` report hypervolume shares and relative hypervolume
regrets. This module adds what only fronts have:

* :func:`load_front_runs` — per multi-objective run: its trials' objective vectors and whether
  each cell's class is on the true front, plus the true front and reference point it recorded;
* :func:`front_found_summary` — per checkpoint, the mean share of the true front's classes found
  (95% Student-t interval);
* :func:`plot_fronts` — per dataset and objective group, the true front against the front of
  each searcher's median run (the run with the median final hypervolume).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.compare.plan import config_label
from robnas.compare.stats import DEFAULT_CHECKPOINTS, checkpoints_for, clip_best, mean_interval
from robnas.run_record import RunRecord

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class FrontRun:
    """One finished multi-objective run, as the front reports need it."""

    searcher: str  # the comparison's label: name and non-default hyperparameters (``hvi:ucb=1``)
    dataset: str
    objective: str
    objectives: list[str]
    seed: int | None
    values: np.ndarray  # (n, k) raw objective vectors, in evaluation order
    on_front: np.ndarray  # (n,) whether each cell's class is on the true front
    final_share: float  # final share of the true hypervolume
    true_front: list[dict[str, Any]]
    true_front_size: int


def load_front_runs(run_dirs: Iterable[str | os.PathLike[str]]) -> list[FrontRun]:
    """Read the finished multi-objective runs among ``run_dirs`` (others are skipped).

    Raises:
        RunRecordError: a multi-objective record whose objectives, trial vectors, final share
            or true front are not what the run loop writes (a record edited by hand), naming
            the file and, for a trial, its line; ``compare --from`` reads records it cannot
            check against the data, and a ``ValueError`` or ``KeyError`` deep in NumPy or the
            figure would otherwise end it with a traceback after some reports were written.
    """
    runs = []
    for run_dir in run_dirs:
        record = RunRecord(run_dir)
        config, summary = record.config(), record.summary()
        if "objectives" not in config or summary is None or not summary.get("true_front_size"):
            continue
        runs.append(_front_run(Path(run_dir), config, summary, record.read_trials()))
    return runs


def _front_run(run_dir: Path, config: dict[str, Any], summary: dict[str, Any],
               trials: list[dict[str, Any]]) -> FrontRun:
    """One record's :class:`FrontRun`, every entry the reports use checked."""
    import numpy as np

    from robnas.errors import RobnasError, RunRecordError
    from robnas.multi_objective import MAX_OBJECTIVES, MIN_OBJECTIVES, DirectedObjective
    from robnas.run_record import CONFIG_FILE, SUMMARY_FILE, TRIALS_FILE

    def refuse(path: Path, what: str) -> RunRecordError:
        return RunRecordError(f"{path}: {what}; the record was edited")

    objectives = config["objectives"]
    try:
        if not (isinstance(objectives, list) and MIN_OBJECTIVES <= len(objectives) <= MAX_OBJECTIVES):
            raise RobnasError("not a list of 2 or 3 objectives")
        names = [DirectedObjective.parse(o).name for o in objectives]
    except RobnasError as err:
        raise refuse(run_dir / CONFIG_FILE, f"objectives {objectives!r}: {err}") from None
    vectors = []
    for number, trial in enumerate(trials, start=1):
        vector = trial.get("values")
        if not (isinstance(vector, list) and len(vector) == len(names) and all(map(_is_number, vector))):
            raise refuse(run_dir / TRIALS_FILE, f"line {number}: values {vector!r} are not "
                                                f"{len(names)} numbers (one per objective)")
        vectors.append(vector)
    size, share, true = summary["true_front_size"], summary.get("best_value"), summary.get("true_front")
    if not (isinstance(size, int) and not isinstance(size, bool) and size > 0):
        raise refuse(run_dir / SUMMARY_FILE, f"true_front_size {size!r} is not a number of classes")
    if not (_is_number(share) and math.isfinite(share)):
        raise refuse(run_dir / SUMMARY_FILE, f"best_value {share!r} is not a hypervolume share")
    if not (isinstance(true, list) and true
            and all(isinstance(r, dict) and all(_is_number(r.get(n)) for n in names) for r in true)):
        raise refuse(run_dir / SUMMARY_FILE, f"true_front is not a list of classes with a number "
                                             f"for each of {', '.join(names)}")
    return FrontRun(
        searcher=config_label(config["searcher"]),
        dataset=str(config["dataset"]),
        objective=str(config["objective"]),
        objectives=list(objectives),
        seed=config.get("seed"),
        values=np.asarray(vectors, dtype=np.float64).reshape(len(vectors), len(names)),
        on_front=np.asarray([bool(t.get("on_front")) for t in trials]),
        final_share=float(share),
        true_front=true,
        true_front_size=size,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def front_found_summary(runs: Sequence[FrontRun],
                        checkpoints: Iterable[int] = DEFAULT_CHECKPOINTS) -> pd.DataFrame:
    """Per dataset, objective group, searcher and checkpoint: share of true-front classes found.

    Returns:
        Columns ``dataset, objective, searcher, evaluations, runs, found_mean, found_low,
        found_high`` (shares in [0, 1], a Student-t 95% interval across runs clipped to
        [0, 1], as :func:`~robnas.compare.stats.summarize` clips its intervals). A run shorter
        than a checkpoint counts with what it found.
    """
    import numpy as np
    import pandas as pd

    groups: dict[tuple[str, str, str], list[FrontRun]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.objective, run.searcher), []).append(run)
    rows = []
    for (dataset, objective, searcher), members in sorted(groups.items()):
        budget = max(len(r.values) for r in members)
        for c in checkpoints_for(budget, checkpoints):
            shares = [float(np.sum(r.on_front[:c])) / r.true_front_size for r in members]
            mean, low, high = clip_best(mean_interval(shares), 1.0)  # a share is in [0, 1]
            rows.append({"dataset": dataset, "objective": objective, "searcher": searcher,
                         "evaluations": c, "runs": len(members), "found_mean": mean,
                         "found_low": low, "found_high": high})
    return pd.DataFrame(rows)


def front_found_markdown(table: pd.DataFrame) -> str:
    """:func:`front_found_summary` as Markdown: one row per searcher, one column per checkpoint."""
    from robnas.compare.stats import searcher_sort_key
    from robnas.compare.tables import markdown_table

    sections = ["Mean share of the true front's classes evaluated by then (95% Student-t "
                "interval across runs)."]
    for (dataset, objective), group in table.groupby(["dataset", "objective"], sort=True):
        wide = group.assign(cell=[_share_cell(r.found_mean, r.found_low, r.found_high)
                                  for r in group.itertuples()])
        wide = wide.pivot(index="searcher", columns="evaluations", values="cell")
        wide = wide.reindex(sorted(wide.index, key=searcher_sort_key))
        wide.columns = [f"{c} cells" for c in wide.columns]
        sections += [f"### {dataset} · {objective}", markdown_table(wide.reset_index())]
    return "\n\n".join(sections) + "\n"


def _share_cell(mean: float, low: float, high: float) -> str:
    """A share with its interval clipped to [0, 1] (a share is no less than 0 or more than all);
    no interval where there is none (one run)."""
    if math.isnan(low) or math.isnan(high):
        return f"{mean:.0%}"
    return f"{mean:.0%} [{max(low, 0.0):.0%}, {min(high, 1.0):.0%}]"


def median_run(runs: Sequence[FrontRun]) -> FrontRun:
    """The run with the median final hypervolume share (the lower median for an even count)."""
    ordered = sorted(runs, key=lambda r: (r.final_share, r.seed if r.seed is not None else -1))
    return ordered[(len(ordered) - 1) // 2]


def plot_fronts(runs: Sequence[FrontRun], out_dir: str | os.PathLike[str], *,
                formats: Sequence[str] = ("png",)) -> list[Path]:
    """One figure per dataset and objective group (:func:`fronts_figure`), written as
    ``fronts-<dataset>-<group>.<format>`` into ``out_dir``."""
    from robnas.compare.plots import _save, _slug

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str], list[FrontRun]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.objective), []).append(run)
    written: list[Path] = []
    for (dataset, objective), members in sorted(groups.items()):
        written += _save(fronts_figure(members), out / f"fronts-{_slug(dataset)}-{_slug(objective)}",
                         formats)
    return written


def fronts_figure(members: Sequence[FrontRun]) -> Figure:
    """The true front and each searcher's median run's front, for the runs of one dataset and
    objective group (for three objectives, the first two are drawn)."""
    from matplotlib.figure import Figure

    from robnas.compare.plots import PANEL_SIZE, legend_label, searcher_colours
    from robnas.compare.stats import searcher_sort_key
    from robnas.multi_objective import DirectedObjective

    dataset, objective = members[0].dataset, members[0].objective
    directed = [DirectedObjective.parse(o) for o in members[0].objectives]
    flags = [o.maximize for o in directed]
    x_name, y_name = directed[0].name, directed[1].name
    fig = Figure(figsize=(PANEL_SIZE[0] * 1.2, PANEL_SIZE[1] * 1.2))  # no pyplot: no global state
    ax = fig.subplots()
    true = members[0].true_front
    tx, ty = [r[x_name] for r in true], [r[y_name] for r in true]
    points = len(set(zip(tx, ty, strict=True)))  # classes of equal values are one circle
    shown = "" if points == len(true) else f"; {points} points: some share their values"
    ax.scatter(tx, ty, s=70, facecolors="none", edgecolors="black", lw=1.2,
               label=f"true front ({len(true)} classes{shown})", zorder=3)
    ordered = sorted({r.searcher for r in members}, key=searcher_sort_key)
    colours = searcher_colours(ordered)
    for searcher in ordered:
        run = median_run([r for r in members if r.searcher == searcher])
        draw_front(ax, run.values, flags, color=colours[searcher], lw=1.0, alpha=0.85,
                   label=f"{legend_label(searcher)}: median run, {run.final_share:.1%} of true HV")
    label_front_axes(ax, directed, f"{dataset} · {objective}\nfronts after {len(members[0].values)} cells")
    return fig


def draw_front(ax: Axes, values: np.ndarray, flags: Sequence[bool], **style: Any) -> np.ndarray:
    """Draw the non-dominated rows of ``values`` (objective vectors; ``flags``: maximised or not)
    in the plane of the first two objectives, with ``style`` passed to ``ax.plot``: as a
    staircase for two objectives, as points alone for three (a front of three objectives seen
    in two is no staircase: joined, its points would zigzag); returns those rows, sorted by
    the first objective."""
    from robnas.pareto import non_dominated_mask

    front = values[non_dominated_mask(values, flags)]
    front = front[front[:, 0].argsort()]
    if values.shape[1] > 2:
        ax.plot(front[:, 0], front[:, 1], marker="o", ms=4, ls="none", **style)
    else:
        ax.plot(front[:, 0], front[:, 1], marker="o", ms=4,
                drawstyle="steps-pre" if flags[0] else "steps-post", **style)
    return front


AXIS_UNITS = {"params": "parameters (millions)", "flops": "FLOPs (millions of MACs)"}
"""How a fronts figure names a cost objective's axis (an accuracy's is ``<objective> accuracy``)."""


def axis_label(objective: Any) -> str:
    """A fronts figure's axis label of a :class:`~robnas.multi_objective.DirectedObjective`:
    what the axis measures, in which unit, and which way is better (not the CLI's
    ``params:min``).

    >>> from robnas.multi_objective import DirectedObjective
    >>> axis_label(DirectedObjective.parse("params")), axis_label(DirectedObjective.parse("pgd@1/255"))
    ('parameters (millions; lower is better)', 'pgd@1/255 accuracy (higher is better)')
    """
    base = AXIS_UNITS.get(objective.name, f"{objective.name} accuracy")
    better = "higher is better" if objective.maximize else "lower is better"
    return base[:-1] + f"; {better})" if base.endswith(")") else f"{base} ({better})"


def label_front_axes(ax: Axes, directed: Sequence[Any], title: str) -> None:
    """Axis labels (the first two objectives, ``directed``: :func:`axis_label`), the title
    (noting, on a line of its own, when a third objective is left out; a title's lines are
    kept short enough for the panel), grid and legend of a panel of fronts (below the axes,
    where it hides no front)."""
    ax.set_xlabel(axis_label(directed[0]))
    ax.set_ylabel(axis_label(directed[1]))
    if len(directed) > 2:
        title += f"\nthe first two objectives drawn (of three: {directed[2].name} not shown)"
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    # 36 points below the axes, whatever their height (a title of three lines makes them
    # shorter): clear of the tick labels and the x label
    from matplotlib.transforms import offset_copy

    below = offset_copy(ax.transAxes, fig=ax.figure, y=-36, units="points")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
              frameon=False)
