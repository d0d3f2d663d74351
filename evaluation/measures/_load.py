"""Reading computed measure values back: from the results store or a measures file.

This is what other code (a predictor-guided searcher, an analysis) uses::

    from robnas.evaluation.measures import load_measures
    frame = load_measures(measures=["synflow", "nwot"], dataset="cifar10")   # the store
    frame = load_measures("measures.parquet")                                 # a file
    frame["synflow"]          # pandas Series indexed by NB201 index
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from robnas.evaluation.measures._compute import INDEX_NAME, MeasureRequest
from robnas.evaluation.measures._registry import MeasureError, get_measure
from robnas.evaluation.measures._store import MeasureStore
from robnas.vocabulary import name_list

if TYPE_CHECKING:
    import pandas as pd

    from robnas.evaluation.measures._registry import Measure

_META_COLUMNS = (INDEX_NAME, "index", "arch", "representative")


def load_measures(
    source: str | os.PathLike[str] | None = None,
    measures: Sequence[str | Measure] | None = None,
    *,
    dataset: str = "cifar10",
    batch_size: int = 64,
    seed: int = 0,
    weights: str | os.PathLike[str] | None = None,
    epochs: int = 200,
    weights_seed: int | None = None,
    images: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Computed measure values, one row per NB201 index (index name ``nb201_index``), one
    float column per measure.

    Args:
        source: a measures file written by ``robnas measures compute -o`` (``.parquet`` or
            ``.csv``; needs an ``nb201_index`` or ``index`` column), or a results-store SQLite
            file; ``None``: the
            default results store in robnas' cache dir.
        measures: the columns (default: every measure column of a file; required for a store:
            names, import paths or :class:`Measure` objects, e.g.
            ``MEASURES["hessian_eigenvalue"].with_params(iterations=50)`` for values computed
            with other parameters than the default ones).
        dataset: for a store: the dataset the values were computed for.
        batch_size: for a store: the batch size they were computed with.
        seed: for a store: the seed they were computed with.
        weights: for a store: the weights folder given to ``compute`` (``None``: at init).
        epochs: for a store: the weights' training epochs.
        weights_seed: for a store: the weights' training seed.
        images: for a store: the test images given to ``compute`` (their files' SHA-256 picks
            the values of measures that read images); ``None``: the values of the one test set
            the store holds them for (refused when it holds several).

    Raises:
        MeasureError: the file lacks a column, or the store holds no value for a measure
            under these settings (the message lists the settings it does hold).
    """
    import pandas as pd

    path = None if source is None else Path(source)
    if path is not None and path.suffix.lower() in {".parquet", ".csv"}:
        return _from_file(path, measures)
    if not measures:
        raise MeasureError("name the measures to read from the results store")
    specs = tuple(get_measure(m) for m in name_list(measures, "measures"))
    named = None if images is None else Path(images).expanduser()
    request = MeasureRequest(specs, dataset, images=Path(os.devnull) if named is None else named,
                             batch_size=batch_size, seed=seed, weights=None if weights is None else Path(weights),
                             epochs=epochs, weights_seed=weights_seed)
    if named is not None and any(spec.needs_data for spec in specs):
        request.images_identity()  # a folder without the test set is an error, not "any test set"
    store = MeasureStore(path)
    columns = {}
    for spec in specs:
        values = store.values(request.settings(spec))
        if not values:
            held = store.settings(request.dataset.value, spec.name)
            hint = "; ".join(f"{n} cells with batch_size={s['batch_size']}, seed={s['seed']}, "
                             f"weights={s['weights']}{_params(s.get('params'))}" for s, n in held[:3]) or "none"
            raise MeasureError(f"no {spec.name} values for {request.dataset.value} with batch_size="
                               f"{batch_size}, seed={seed}{_params(spec.params)} in {store.path} (it holds: {hint})")
        columns[spec.name] = pd.Series({i: v for i, (v, _) in values.items()}, dtype="float64")
    frame = pd.DataFrame(columns).sort_index()
    frame.index = frame.index.astype("int64")
    frame.index.name = INDEX_NAME
    return _refuse_infinite(frame, f"the results store {store.path}")


def _params(params: object) -> str:
    """``", iterations=20, tolerance=0.001"`` for a measure's parameters (``""``: none)."""
    if not isinstance(params, dict) or not params:
        return ""
    return "".join(f", {key}={value}" for key, value in sorted(params.items()))


def _from_file(path: Path, measures: Sequence[str] | None) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise MeasureError(f"{path}: no such measures file")
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise MeasureError(f"{path}: not a readable measures table ({err})") from None
    key = next((c for c in (INDEX_NAME, "index") if c in frame.columns), None)
    if key is None:
        raise MeasureError(f"{path}: no '{INDEX_NAME}' (or 'index') column of NB201 indices")
    columns = name_list(measures, "measures") if measures else [
        c for c in frame.columns if c not in _META_COLUMNS and not str(c).endswith("_seconds")]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MeasureError(f"{path}: no column {missing[0]!r}; it has {', '.join(map(str, frame.columns))}")
    out = frame.set_index(frame[key].astype("int64"))[columns].astype("float64").sort_index()
    out.index.name = INDEX_NAME
    return _refuse_infinite(out, str(path))


def _refuse_infinite(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """``frame``, unless a value is infinite (a measure that overflowed): ranked as the largest
    score and left out by Pearson's r, it would bend every statistic without a word, and a
    scores file with it is refused too. A NaN stays: a cell without a value."""
    import numpy as np

    values = frame.to_numpy(dtype="float64")
    infinite = np.isinf(values)
    if infinite.any():
        row, column = (int(i) for i in np.argwhere(infinite)[0])
        count = int(infinite[:, column].sum())
        raise MeasureError(f"{where}: {frame.columns[column]!r} is {values[row, column]} for NB201 index "
                           f"{int(frame.index[row])} ({count} cells); scores must be finite numbers "
                           "(a measure that overflows needs another scale, e.g. its logarithm)")
    return frame
