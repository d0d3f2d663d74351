"""How well does a per-cell score predict an objective? Rank and linear correlations with
bootstrap intervals, and top-10% precision.

Scores come from any table with a column ``nb201_index`` or ``index`` (NB201 index) or
``arch`` (NB201 string)
and one or more numeric score columns, for any subset of cells (:func:`read_scores`, which
reads them strictly: an empty field is a cell without that score, a NaN or infinite value is
refused with its row). The
table's values are per isomorphism class, so scores are first resolved to classes: with
``isomorphs="mean"`` (default) a class's score is the mean over its scored cells;
``"representative"`` keeps only representatives' scores; ``"all"`` keeps every scored cell
(classes then count once per scored member). Cells with a missing score (NaN) are dropped;
infinite scores (measures from the results store may have them) are kept for the rank
statistics and dropped for Pearson's r.

For each score and objective: Kendall's tau-b, Spearman's rho, Pearson's r (``scipy.stats``)
and top-10% precision (the share of the score's best 10% of classes, its highest scores,
that are among the truly best 10%: the classes at or above the objective's 90th-percentile rank value), each with a
percentile bootstrap 95% interval over resampled classes (with ``isomorphs="all"`` a class
drawn brings all its scored cells: isomorphs share the objective's value, so drawing cells
independently would count one measurement several times and narrow the interval) from a
private, seeded ``numpy.random.Generator``, and the numbers of cells and classes used.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.evaluation.measures._registry import MeasureError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from robnas.benchmark.meta import SpaceMeta

STATISTICS = ("kendall", "spearman", "pearson", "top10")
"""The statistics of :func:`score_correlations`, in column order."""
ISOMORPHS = ("mean", "representative", "all")


def read_scores(source: str | os.PathLike[str] | pd.DataFrame, meta: SpaceMeta) -> pd.DataFrame:
    """A user's scores as a frame indexed by NB201 index, one float column per score.

    ``source`` is a CSV or Parquet file (by suffix) or a DataFrame with a column
    ``nb201_index`` or ``index`` (NB201 indices) or ``arch`` (NB201 strings) and numeric score
    columns (other text columns are ignored). Scores are read strictly: an empty field (a CSV
    field with no text, a Parquet null, a DataFrame's NaN: what ``compute -o`` writes for a
    missing value) is a cell without that score, while a NaN (``nan`` in a CSV), an infinite
    value or, in a column of numbers, a field that is no number is refused, naming the row.

    Raises:
        MeasureError: no index/arch column, an unknown cell, no score column, a cell twice, or
            a score that is not a finite number.
    """
    import pandas as pd

    from robnas.errors import InvalidArchError

    path = None if isinstance(source, pd.DataFrame) else Path(source)
    frame = source if path is None else _read_table(path)
    repeated = pd.Index(frame.columns)[pd.Index(frame.columns).duplicated()]
    if len(repeated):
        raise MeasureError(f"scores: column {repeated[0]!r} appears twice; name each column once")
    key = next((c for c in ("nb201_index", "index") if c in frame.columns), None)
    if key is not None:
        try:
            indices = [_whole(i) for i in frame[key]]
            for i in indices:
                meta.check_index(i)
        except (ValueError, TypeError, InvalidArchError) as err:
            raise MeasureError(f"scores: column {key!r} must hold NB201 indices 0..15624 ({err})") from None
        if "arch" in frame.columns:  # both: they must name the same cells
            _check_archs_match(frame["arch"], indices, meta, key)
    elif "arch" in frame.columns:
        key = "arch"
        try:
            indices = [meta.index_of(meta.parse_arch(a)) for a in frame["arch"]]
        except InvalidArchError as err:
            raise MeasureError(f"scores: {err}") from None
    else:
        raise MeasureError("scores need a column 'nb201_index' or 'index' (NB201 index) or 'arch' (NB201 string); "
                           f"found {', '.join(map(str, frame.columns))}")
    skip = {"nb201_index", "index", "arch", "representative"}
    columns = {c: values for c in frame.columns if c not in skip and not str(c).endswith("_seconds")
               and (values := _score_column(frame[c], path)) is not None}
    if not columns:
        raise MeasureError("scores: no numeric score column besides " + key)
    scores = pd.DataFrame(columns)
    _refuse_non_finite(scores, path)
    scores = scores.set_axis(pd.Index(indices, name="nb201_index"))
    if scores.index.duplicated().any():
        first = int(scores.index[scores.index.duplicated()][0])
        raise MeasureError(f"scores: NB201 index {first} appears twice")
    return scores


def _whole(value: Any) -> int:
    """``value`` as an int if it is a whole number (``3``, ``3.0``); a fraction is refused (it
    was truncated to another cell)."""
    number = float(value) if not isinstance(value, str) else float(value.strip())
    if isinstance(value, bool) or not number.is_integer():
        raise ValueError(f"got {value!r}")
    return int(number)


def _check_archs_match(archs: pd.Series, indices: list[int], meta: SpaceMeta, key: str) -> None:
    """Refuse a row whose ``arch`` is not the cell its index column names (or no NB201 string)."""
    from robnas.errors import InvalidArchError

    for row, (text, index) in enumerate(zip(archs, indices, strict=True), start=1):
        try:
            named = meta.index_of(meta.parse_arch(text))
        except InvalidArchError as err:
            raise MeasureError(f"scores, row {row}: {err}") from None
        if named != index:
            raise MeasureError(f"scores, row {row}: arch {text!r} is NB201 index {named}, but {key} says {index}")


def _score_column(column: pd.Series, path: Path | None) -> pd.Series | None:
    """``column`` as float64 scores; ``None`` for a column of booleans or text (ignored).

    A text column in which some fields are numbers is a score column with a field that is not:
    refused, naming its row (``path``: where the column was read, ``None``: a DataFrame).
    """
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return None
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    if numbers.isna().all():
        return None  # notes, names: not scores
    wrong = np.flatnonzero(((text != "") & numbers.isna()).to_numpy())
    if wrong.size:
        row = int(wrong[0])
        raise MeasureError(f"{_place(path, row)}: {column.name!r} is {text.iloc[row]!r}, not a number")
    return numbers.astype("float64")


def _refuse_non_finite(scores: pd.DataFrame, path: Path | None) -> None:
    """Raise :class:`MeasureError` naming the first row with a NaN or infinite score that is
    not an empty field (:func:`_empty_fields`) of ``path`` (``None``: a DataFrame's NaN is empty)."""
    import numpy as np

    values = scores.to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    bad &= ~(np.isnan(values) if path is None else _empty_fields(path, list(scores.columns)))
    if not bad.any():
        return
    row, column = (int(i) for i in np.argwhere(bad)[0])
    raise MeasureError(f"{_place(path, row)}: {scores.columns[column]!r} is {values[row, column]}; scores must "
                       "be finite numbers (leave the field empty for a cell without that score)")


def _place(path: Path | None, row: int) -> str:
    """Where data row ``row`` (from 0) of the scores is, for a message: the file, the row from
    1 and for a CSV its line (the header is line 1)."""
    if path is None:
        return f"scores, row {row + 1}"
    line = f" (line {row + 2})" if path.suffix.lower() == ".csv" else ""
    return f"--scores {path}, row {row + 1}{line}"


def _empty_fields(path: Path, columns: list[str]) -> np.ndarray:
    """Where the file ``path`` holds nothing for ``columns`` (rows x columns, bool): a CSV field
    of no text or only spaces, a Parquet null (pandas writes NaN as either), as opposed to a
    written NaN."""
    import numpy as np
    import pandas as pd

    if path.suffix.lower() == ".csv":
        text = pd.read_csv(path, dtype=str, keep_default_na=False)[columns]
        return np.column_stack([text[c].str.strip().eq("").to_numpy() for c in columns])
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=[str(c) for c in columns])
    return np.column_stack([table.column(str(c)).is_null().to_numpy(zero_copy_only=False) for c in columns])


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.is_dir():
        raise MeasureError(f"--scores {path} is a folder; give a .csv or .parquet file")
    if not path.is_file():
        raise MeasureError(f"--scores {path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet"}:
        raise MeasureError(f"--scores {path}: use a .csv or .parquet file")
    try:
        if suffix == ".csv":
            import csv

            with path.open(newline="", encoding="utf-8") as handle:
                header = [name.strip() for name in next(csv.reader(handle), [])]
            repeated = sorted({name for name in header if header.count(name) > 1})
            if repeated:  # pandas would rename the second to NAME.1, a score of its own
                raise MeasureError(f"--scores {path}: column {repeated[0]!r} appears twice; name each column once")
        return pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise MeasureError(f"--scores {path}: unreadable ({err})") from None


def class_scores(scores: pd.Series, meta: SpaceMeta, isomorphs: str = "mean") -> pd.DataFrame:
    """Scores resolved to classes: columns ``representative``, ``score``, ``cells`` (members
    scored); one row per class (per cell for ``isomorphs="all"``)."""
    import pandas as pd

    if isomorphs not in ISOMORPHS:
        raise MeasureError(f"isomorphs must be one of {', '.join(ISOMORPHS)}, got {isomorphs!r}")
    scores = scores.dropna()
    reps = meta.representative[scores.index.to_numpy(dtype="int64")]
    frame = pd.DataFrame({"representative": reps, "score": scores.to_numpy(), "cells": 1})
    if isomorphs == "representative":
        return frame[frame["representative"].to_numpy() == scores.index.to_numpy()].reset_index(drop=True)
    if isomorphs == "all":
        return frame
    grouped = frame.groupby("representative", sort=True)
    return pd.DataFrame({"score": grouped["score"].mean(), "cells": grouped["cells"].sum()}).reset_index()


def statistics(score: np.ndarray, objective: np.ndarray, top: float = 0.1) -> dict[str, float]:
    """Kendall, Spearman, Pearson and top-``top`` precision of ``score`` vs ``objective``."""
    import numpy as np
    from scipy import stats

    finite = np.isfinite(score)
    if len(score) < 3 or np.ptp(objective) == 0 or len(np.unique(score)) < 2:
        return dict.fromkeys(STATISTICS, math.nan)
    pearson = stats.pearsonr(score[finite], objective[finite])[0] if finite.sum() > 2 else math.nan
    return {
        "kendall": float(stats.kendalltau(score, objective).statistic),
        "spearman": float(stats.spearmanr(score, objective).statistic),
        "pearson": float(pearson),
        "top10": top_precision(score, objective, top),
    }


def top_precision(score: np.ndarray, objective: np.ndarray, top: float = 0.1) -> float:
    """Share of the score's best ``top`` fraction that is among the objective's best ``top``
    fraction (ties at either threshold are included on both sides)."""
    import numpy as np

    k = max(1, math.ceil(top * len(score)))
    best_true = objective >= np.sort(objective)[::-1][k - 1]
    chosen = score >= np.sort(score)[::-1][k - 1]
    return float(best_true[chosen].mean())


MIN_DEFINED_SHARE = 0.95
"""Of the bootstrap resamples, the share that must give the statistic a value for an interval."""


def score_correlations(scores: pd.DataFrame, table: pd.DataFrame, meta: SpaceMeta, *,
                       isomorphs: str = "mean", bootstrap: int = 1000, seed: int = 0,
                       top: float = 0.1) -> pd.DataFrame:
    """Every score column x every objective column: the statistics with 95% intervals.

    Args:
        scores: indexed by NB201 index (:func:`read_scores`, :func:`load_measures`).
        table: the objectives, indexed by NB201 index (e.g. ``TabularOracle.dataframe``
            indexed by ``index``); one value per class, isomorphs repeating it.
        meta: the space (representatives).
        isomorphs: ``mean``, ``representative`` or ``all`` (see the module docs).
        bootstrap: resamples for the intervals (0: no intervals).
        seed: seeds the resampling.
        top: the fraction for top precision.

    Returns:
        One row per score and objective: ``score``, ``objective``, ``cells``, ``classes``,
        ``duplicates`` (classes with several scored cells), then for each statistic its value
        and ``<stat>_low``/``<stat>_high``.
    """
    import numpy as np
    import pandas as pd

    rows = []
    for column in scores.columns:
        resolved = class_scores(scores[column], meta, isomorphs)
        for objective in table.columns:
            values = table[objective].reindex(resolved["representative"]).to_numpy(dtype="float64")
            keep = ~np.isnan(values)
            x, y = resolved["score"].to_numpy()[keep], values[keep]
            row = {"score": str(column), "objective": str(objective),
                   "cells": int(resolved["cells"].to_numpy()[keep].sum()),
                   "classes": int(pd.unique(resolved["representative"].to_numpy()[keep]).size),
                   "duplicates": _classes_scored_twice(resolved, keep, isomorphs)}
            point = statistics(x, y, top)
            draws = _bootstrap(x, y, resolved["representative"].to_numpy()[keep], bootstrap, seed, top)
            for name in STATISTICS:
                row[name] = point[name]
                finite = draws[name][np.isfinite(draws[name])] if bootstrap else np.array([])
                # no interval where over 5% of resamples have no value (a handful of classes, whose
                # resamples are often constant): the percentiles of the rest are not an interval
                # for the statistic (3 classes of tau -0.333 gave [1.000, 1.000])
                defined = finite.size > 0 and finite.size >= MIN_DEFINED_SHARE * bootstrap
                low, high = np.percentile(finite, [2.5, 97.5]) if defined else (math.nan, math.nan)
                row[f"{name}_low"], row[f"{name}_high"] = float(low), float(high)
            rows.append(row)
    return pd.DataFrame(rows)


def _classes_scored_twice(resolved: pd.DataFrame, keep: np.ndarray, isomorphs: str) -> int:
    """How many classes (among rows ``keep``) have several scored cells: for ``mean`` rows are
    classes with a count of cells, for ``all`` cells (a class as often as it has scored cells),
    for ``representative`` one row per class."""
    import numpy as np
    import pandas as pd

    if isomorphs == "mean":
        return int((resolved["cells"].to_numpy()[keep] > 1).sum())
    counts = pd.Series(resolved["representative"].to_numpy()[keep]).value_counts()
    return int(np.count_nonzero(counts.to_numpy() > 1))


def _bootstrap(x: np.ndarray, y: np.ndarray, classes: np.ndarray, times: int, seed: int,
               top: float) -> dict[str, np.ndarray]:
    """``times`` statistics of resamples of the classes (``classes``: each row's class), a
    class drawn with all its rows; one row per class draws rows directly, as it always did."""
    import numpy as np

    rng = np.random.default_rng(seed)
    draws = {name: np.full(times, np.nan) for name in STATISTICS}
    order = np.argsort(classes, kind="stable")  # rows grouped by class
    _, starts, counts = np.unique(classes[order], return_index=True, return_counts=True)
    for b in range(times):
        if len(starts) == len(x):
            rows = rng.integers(0, len(x), size=len(x))
        else:
            picks = rng.integers(0, len(starts), size=len(starts))
            sizes = counts[picks]
            within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            rows = order[np.repeat(starts[picks], sizes) + within]
        for name, value in statistics(x[rows], y[rows], top).items():
            draws[name][b] = value
    return draws


def correlations_markdown(frame: pd.DataFrame) -> str:
    """The correlation table as Markdown: value [95% interval] per statistic."""
    header = "| score | objective | cells | classes | Kendall tau | Spearman rho | Pearson r | top-10% precision |"
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for row in frame.to_dict("records"):
        cells = [_interval(row, name) for name in STATISTICS]
        lines.append(f"| {row['score']} | {row['objective']} | {row['cells']} | {row['classes']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _interval(row: dict, name: str) -> str:
    value, low, high = row[name], row[f"{name}_low"], row[f"{name}_high"]
    if math.isnan(value):
        return "–"
    text = f"{value:.3f}".replace("-0.000", "0.000")
    return text if math.isnan(low) else f"{text} [{low:.3f}, {high:.3f}]"


def objective_table(oracle: object, objectives: Sequence[str]) -> pd.DataFrame:
    """The objectives of a tabular oracle, indexed by NB201 index (one column each)."""
    frame = oracle.dataframe(list(objectives))  # type: ignore[attr-defined]  # indexed by nb201_index
    return frame[[c for c in frame.columns if c not in {"arch", "representative"}]]
