"""The design-analysis report: every section's tables and figures written to one folder.

:func:`write_report` computes the sections of :mod:`robnas.analysis` for one dataset, writes
each as CSV (and Markdown where a person reads it) and as a figure, and returns an
:class:`AnalysisReport` whose :meth:`~AnalysisReport.markdown` is the printed summary.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.vocabulary import CLEAN, Dataset, counted

if TYPE_CHECKING:
    import pandas as pd

    from robnas.benchmark import TabularOracle

FULL_KENDALL_LIMIT = 30
"""Up to this many objectives, Kendall's tau is computed for every pair; above, for the pairs
among the headline objectives and of every objective with ``clean``."""


@dataclass
class AnalysisReport:
    """What :func:`write_report` wrote and found.

    Attributes:
        dataset: the dataset analysed.
        out: the report folder.
        objectives: every objective analysed; ``headline``: those with figures.
        classes: classes analysed; ``degenerate``: of which constant-output.
        exclude_degenerate: whether equal cost, operations and top cells leave them out.
        top_percent: the share of best classes enrichment looks at.
        findings: the widest large equal-parameter group of each objective.
        enriched: per headline objective, the edge x operation pairs most enriched in the top.
        clean_tau: Kendall's tau of each headline objective with clean accuracy (NaN where
            either is constant over the classes; ``None`` in :meth:`summary`).
        best: the best class of each headline objective (index, arch, value).
        files: the files written, relative to ``out``.
        seconds: wall time.
        provenance: what reproduces the report: ``versions`` (robnas, Python and the
            libraries, :func:`robnas.run_record.versions`) and ``data``, per dataset read, its
            data root and the SHA-256 of the files the report read (``meta.json`` first).
    """

    dataset: str
    out: Path
    objectives: list[str]
    headline: list[str]
    classes: int
    degenerate: int
    exclude_degenerate: bool
    top_percent: float
    findings: pd.DataFrame = field(repr=False)
    enriched: pd.DataFrame = field(repr=False)
    clean_tau: dict[str, float] = field(default_factory=dict)
    best: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    provenance: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (also ``summary.json``)."""
        return {
            "dataset": self.dataset, "out": str(self.out), "classes": self.classes,
            "degenerate": self.degenerate, "exclude_degenerate": self.exclude_degenerate,
            "top_percent": self.top_percent, "objectives": self.objectives, "headline": self.headline,
            "equal_params": self.findings.to_dict(orient="records"),
            "enriched": self.enriched.to_dict(orient="records"),
            "kendall_tau_with_clean": {name: tau if math.isfinite(tau) else None
                                       for name, tau in self.clean_tau.items()},
            "best": self.best,
            "files": [str(f) for f in self.files], "seconds": round(self.seconds, 3),
            "provenance": self.provenance,
        }

    def markdown(self) -> str:
        """The summary a person reads: findings, enrichment, correlations, best cells."""
        from robnas.compare.tables import markdown_table

        excluded = "excluded from" if self.exclude_degenerate else "included in"
        lines = [
            f"# Design analysis: {self.dataset}",
            "",
            f"{self.classes} isomorphism classes, {counted(len(self.objectives), 'objective')}; "
            f"{self.degenerate} constant-output classes (clean accuracy at chance), {excluded} the "
            "equal-cost, operations and best-cells sections (listed in degenerate.csv).",
            "",
            "## Equal parameter count",
            "",
            *[f"- {s}" for s in self.findings.loc[self.findings["objective"].isin(self.headline), "statement"]],
            "",
            f"## Operations most enriched among the top {self.top_percent:g}%",
            "",
            markdown_table(self.enriched.round(3)),
            "",
            *(["## Kendall's tau with clean accuracy", "",
               *[f"- {name}: {tau:.3f}" if math.isfinite(tau) else f"- {name}: undefined (constant over "
                 "the classes)" for name, tau in self.clean_tau.items()], ""]
              if self.clean_tau else []),  # nothing to say when clean accuracy is the only objective
            "## Best cells",
            "",
            *[f"- {name}: {b['value']:.3f}, index {b['index']} {b['arch']} "
              f"({b['params']:.3f} M params)" for name, b in self.best.items()],
        ]
        return "\n".join(lines) + "\n"


def write_report(
    oracle: TabularOracle,
    out: str | Path,
    objectives: Sequence[str] | None = None,
    *,
    top_percent: float = 5.0,
    exclude_degenerate: bool = True,
    formats: Sequence[str] = ("png",),
    others: dict[str, TabularOracle] | None = None,
    progress: bool = False,
) -> AnalysisReport:
    """Compute every section for ``oracle``'s dataset and write it to ``out``.

    Args:
        oracle: the tabular oracle of the dataset analysed.
        out: the report folder (created; files in it are replaced, and those of an earlier
            report there that this one does not write are removed).
        objectives: objective texts; ``None``: every objective of the table (figures, top
            cells and the summary then cover clean and the means; with a list, all of it).
        top_percent: the share of best classes for enrichment.
        exclude_degenerate: leave the constant-output classes out of the equal-cost,
            operations and top-cells sections (they stay in distributions and correlations):
            a constant output at chance is often the "best" at a large epsilon (0.100 at
            pgd@8/255 on CIFAR-10, where no other class reaches 0.04: the best has 0.036).
        formats: figure formats (``png``, ``svg``, ``pdf``).
        others: oracles of other datasets, for the between-datasets correlations.
        progress: a tqdm bar over the sections on stderr.
    """

    from robnas import analysis as an
    from robnas.compare.plots import check_formats

    check_formats(formats)
    an.top_mask([1.0], top_percent)  # validates top_percent before any work
    started = time.perf_counter()
    frame = an.class_frame(oracle, objectives)  # validates the objectives before anything is written
    if exclude_degenerate and frame["degenerate"].all():
        from robnas.errors import InvalidParameterError

        raise InvalidParameterError(
            f"every one of the {len(frame)} classes of this {oracle.dataset.value} table is constant-output "
            "(clean accuracy at chance), which leaves nothing to analyse; "
            "--no-exclude-degenerate (exclude_degenerate=False) analyses them")
    out = Path(out)
    earlier = _earlier_files(out)
    # written into a staging folder beside out and moved in at the end: an interrupted or
    # failed report leaves the folder as it was (an earlier report whole, or nothing)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        report = _write_sections(oracle, frame, objectives, stage, formats, top_percent, exclude_degenerate,
                                 others, progress, started, final=out)
        _publish(stage, out, report.files, earlier)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return report


def _write_sections(oracle: TabularOracle, frame: pd.DataFrame, objectives: Sequence[str] | None, out: Path,
                    formats: Sequence[str], top_percent: float, exclude_degenerate: bool,
                    others: dict[str, TabularOracle] | None, progress: bool, started: float, *,
                    final: Path) -> AnalysisReport:
    """Every section's tables and figures, and the summaries, written into ``out`` (the report
    says ``final``, where they are moved)."""
    from tqdm.auto import tqdm

    from robnas import analysis as an
    from robnas.run_record import versions

    (out / "figures").mkdir(parents=True, exist_ok=True)
    writer = _Writer(out, formats)
    bar = tqdm(total=7, disable=not progress, desc="analyze", unit="section", leave=False)

    names = an.objective_columns(frame)
    headline = names if objectives is not None else an.headline_objectives(names)
    writer.table(an.degenerate_cells(frame), "degenerate", index=True)
    bar.update()

    table = an.distributions(frame, names)
    writer.table(table, "distributions", index=True, markdown=True)
    writer.figure(an.plot_distributions(table, title=f"{oracle.dataset.value}: distributions over classes"),
                  "distributions")
    bar.update()

    focus = None if len(names) <= FULL_KENDALL_LIMIT else headline
    pairs = an.correlations(frame, names, focus=focus)
    writer.table(pairs, "correlations")
    matrix = an.correlation_matrix(pairs, columns=focus, rows=names)
    writer.table(an.correlation_matrix(pairs, columns=headline, rows=headline).round(3), "correlations",
                 index=True, markdown=True, csv=False)
    writer.figure(an.plot_correlations(matrix, title=f"{oracle.dataset.value}: Kendall's tau"), "correlations")
    frames = {oracle.dataset.value: frame}
    data = {oracle.dataset.value: _data_provenance(oracle, names)}
    for name, other in (others or {}).items():
        shared = [n for n in names if _on_grid(other, n)]
        frames[name] = an.class_frame(other, shared)
        data[name] = _data_provenance(other, shared)
    if len(frames) > 1:
        across = an.dataset_correlations(frames)
        writer.table(across, "datasets", markdown=True)
        writer.figure(an.plot_dataset_correlations(across), "dataset-correlations")
    bar.update()

    findings = []
    for by in ("params", "flops"):
        groups = an.equal_cost(frame, names, by, exclude_degenerate=exclude_degenerate)
        writer.table(groups, f"equal-cost-{by}")
        found = an.equal_cost_findings(groups, frame)
        writer.table(found, f"equal-cost-findings-{by}", markdown=True)
        findings.append(found)
    # one figure: FLOPs, like parameters, depend only on the cell's numbers of 1x1 and 3x3
    # convolutions, so both group the classes alike and the FLOPs scatter is this one relabelled
    writer.figure(an.plot_equal_cost(frame, headline, "params", exclude_degenerate=exclude_degenerate),
                  "equal-cost-params")
    bar.update()

    effects = an.operation_effects(frame, names, top_percent=top_percent, exclude_degenerate=exclude_degenerate)
    counts = an.operation_counts(frame, names, top_percent=top_percent, exclude_degenerate=exclude_degenerate)
    overall = an.operation_enrichment(frame, names, top_percent=top_percent, exclude_degenerate=exclude_degenerate)
    writer.table(effects, "operations")
    writer.table(counts, "operation-counts")
    writer.table(overall, "operation-enrichment", markdown=True)
    writer.figure(an.plot_operations(effects, headline), "operations")
    writer.figure(an.plot_operation_counts(counts, headline), "operation-counts")
    enriched = (effects.loc[effects["objective"].isin(headline)]
                .sort_values(["objective", "enrichment"], ascending=[True, False], kind="stable")
                .groupby("objective", sort=False).head(3)
                [["objective", "edge", "op", "enrichment", "share_top", "share_all", "mean",
                  "top_classes"]])
    bar.update()

    best = {}
    for objective in headline:
        top = an.top_cells(frame, objective, exclude_degenerate=exclude_degenerate)
        writer.table(top, f"top-{_slug(objective)}", index=True, markdown=True)
        first = top.iloc[0]
        best[objective] = {"index": int(top.index[0]), "arch": first["arch"], "value": float(first[objective]),
                           "params": float(first["params"])}
    bar.update()

    clean_tau = {}
    for objective in headline:
        if objective != CLEAN:
            hit = pairs.loc[((pairs["a"] == CLEAN) & (pairs["b"] == objective))
                            | ((pairs["b"] == CLEAN) & (pairs["a"] == objective)), "kendall_tau"]
            clean_tau[objective] = float(hit.iloc[0])
    report = AnalysisReport(
        dataset=oracle.dataset.value, out=final, objectives=names, headline=headline, classes=len(frame),
        degenerate=int(frame["degenerate"].sum()), exclude_degenerate=exclude_degenerate,
        top_percent=top_percent, findings=findings[0], enriched=enriched.reset_index(drop=True),
        clean_tau=clean_tau, best=best, provenance={"versions": versions(), "data": data},
    )
    (out / "summary.md").write_text(report.markdown())
    writer.files.append(Path("summary.md"))
    report.files = [*writer.files, Path("summary.json")]
    report.seconds = time.perf_counter() - started
    (out / "summary.json").write_text(json.dumps(report.summary(), indent=2, default=str) + "\n")
    bar.update()
    bar.close()
    return report


def _data_provenance(oracle: TabularOracle, objectives: Sequence[str]) -> dict[str, Any]:
    """The data root and the SHA-256 of the files ``objectives`` (and clean accuracy) are read from."""
    provenance = oracle.provenance(objectives=[*objectives, CLEAN])
    return {"data_root": provenance["data_root"], "checksums": provenance["checksums"]}


def _publish(stage: Path, out: Path, files: Sequence[Path], earlier: set[str]) -> None:
    """Move the report's ``files`` from ``stage`` into ``out`` (``summary.json``, which lists
    them, last), then remove the files of an earlier report there that this one did not write."""
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for name in sorted(files, key=lambda path: str(path) == "summary.json"):
        os.replace(stage / name, out / name)
    for stale in earlier - {str(path) for path in files}:  # an earlier report's, not this one's
        (out / stale).unlink(missing_ok=True)


def _earlier_files(out: Path) -> set[str]:
    """The files an earlier report in ``out`` wrote (its ``summary.json`` lists them), to be
    removed once this one is written where it does not write them again: a report folder holds
    one report, not the top cells of objectives a former run analysed. Only plain relative
    paths inside ``out`` count."""
    try:
        listed = json.loads((out / "summary.json").read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {str(name) for name in listed if isinstance(name, str) and name and not Path(name).is_absolute()
            and ".." not in Path(name).parts}


def other_datasets(oracle: TabularOracle) -> dict[str, TabularOracle]:
    """Oracles of the other datasets installed under ``oracle``'s data root (a folder holding
    at least one accuracy file; an empty folder is not installed), read as strictly as
    ``oracle`` (``--strict-data``)."""
    from robnas.benchmark import TabularOracle

    found = {}
    for dataset in Dataset:
        if dataset == oracle.dataset:
            continue
        other = TabularOracle(dataset, data=oracle.root, strict_data=oracle.table.strict_data)
        if other.table.grid.points:
            found[dataset.value] = other
    return found


class _Writer:
    """Writes tables and figures into the report folder and remembers what it wrote."""

    def __init__(self, out: Path, formats: Sequence[str]) -> None:
        self.out, self.formats, self.files = out, list(formats), []

    def table(self, frame: pd.DataFrame, stem: str, *, index: bool = False, markdown: bool = False,
              csv: bool = True) -> None:
        from robnas.compare.tables import markdown_table

        if csv:
            frame.to_csv(self.out / f"{stem}.csv", index=index)
            self.files.append(Path(f"{stem}.csv"))
        if markdown:
            shown = frame.reset_index() if index else frame
            text = markdown_table(shown.round(4) if hasattr(shown, "round") else shown)
            (self.out / f"{stem}.md").write_text(text + "\n")
            self.files.append(Path(f"{stem}.md"))

    def figure(self, fig: Any, stem: str) -> None:
        import matplotlib

        from robnas.analysis.plots import DPI

        for fmt in self.formats:
            path = self.out / "figures" / f"{stem}.{fmt}"
            metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt, {})
            with matplotlib.rc_context({"svg.hashsalt": "robnas"}):  # stable SVG ids, no dates
                fig.savefig(path, dpi=DPI, metadata=metadata)
            self.files.append(path.relative_to(self.out))


def _on_grid(oracle: TabularOracle, objective: str) -> bool:
    from robnas.errors import InvalidObjectiveError

    try:
        oracle.validate(objective)
    except InvalidObjectiveError:
        return False
    return True


def _slug(text: str) -> str:
    return text.replace("/", "-").replace("@", "-")
