"""Predict an objective from several measures with a random forest (as Lukasik et al., GCPR
2023, did for robustness): R2 and Kendall's tau on held-out cells, and feature importances.

For each of ``seeds`` splits, classes are split 80/20 at random (seeded), a
``sklearn.ensemble.RandomForestRegressor`` is fitted on the training classes' measures and
scored on the held-out ones. With one row per cell (``groups``: each row's class), the split is
over the classes all the same: isomorphs share their class's value, so a class with cells on
both sides would be predicted from a twin of its own (a score that only names the class then
"predicts" the objective). Rows with a missing measure are dropped; infinite values are
clipped to the finite range of their column (forests need finite inputs). Trees depend only on
the order of each feature's values, so features are mapped by the monotone
``sign(x) log(1 + |x|)``: values beyond float32's range (synflow reaches 1e49; scikit-learn's
trees work in float32) stay finite and distinct. :meth:`Prediction.summary` gives the mean over
the splits with a 95% t-interval, clipped to the statistic's range (tau in [-1, 1], R2 at most 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from robnas.evaluation.measures._registry import MeasureError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


RANGES: dict[str, tuple[float, float]] = {"r2": (-math.inf, 1.0), "kendall": (-1.0, 1.0)}
"""The possible values of each summarised statistic (intervals are clipped to them)."""


@dataclass(frozen=True)
class Prediction:
    """Per-split scores and mean feature importances.

    Attributes:
        splits: one row per seed: ``seed``, ``train``, ``test``, ``r2``, ``kendall``.
        importances: one row per feature: ``feature``, ``importance`` (mean impurity
            decrease over splits), ``std``.
        objective: what was predicted.
    """

    splits: pd.DataFrame
    importances: pd.DataFrame
    objective: str

    def summary(self) -> dict[str, float]:
        """Mean and 95% t-interval of R2 and Kendall's tau over the splits.

        The interval is clipped to the statistic's range (:data:`RANGES`: tau in [-1, 1], R2 at
        most 1): with few splits mean +- t * sd / sqrt(n) reaches beyond it. One split: no
        interval (NaN).
        """
        import numpy as np
        from scipy import stats

        out: dict[str, float] = {"splits": len(self.splits)}
        for name, (lowest, highest) in RANGES.items():
            values = self.splits[name].to_numpy(dtype=float)
            mean = float(values.mean())
            half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))) \
                if len(values) > 1 else float("nan")
            low, high = np.clip([mean - half, mean + half], lowest, highest)  # NaN stays NaN
            out[name], out[f"{name}_low"], out[f"{name}_high"] = mean, float(low), float(high)
        return out


def predict_objective(features: pd.DataFrame, target: pd.Series, *, seeds: int = 10,
                      test_size: float = 0.2, n_estimators: int = 100,
                      max_features: float | str = 1.0, groups: pd.Series | None = None) -> Prediction:
    """Fit and score a random forest on ``seeds`` random 80/20 splits.

    Args:
        features: one row per class (or cell), one column per measure.
        target: the objective, aligned with ``features``' index.
        seeds: number of splits (seeds ``0..seeds-1``).
        test_size: held-out fraction.
        n_estimators: trees per forest.
        max_features: features tried per split (scikit-learn's meaning).
        groups: each row's class (aligned with ``features``' index), for rows that are cells:
            the split then holds out ``test_size`` of the classes with all their cells.
            ``None``: each row is a class of its own.

    Raises:
        MeasureError: fewer than 10 complete rows, or no feature; with ``groups``, a row
            without a class, or fewer than 10 classes among the complete rows (a split of
            fewer holds out next to nothing, of one none at all).
    """
    import numpy as np
    import pandas as pd
    from scipy import stats
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split

    if features.shape[1] == 0:
        raise MeasureError("predict needs at least one measure")
    data = features.join(target.rename("__target__"), how="inner").dropna()
    if len(data) < 10:
        raise MeasureError(f"predict needs at least 10 cells with every measure and the objective, got {len(data)}")
    x = np.array(data[features.columns].to_numpy(dtype=float), copy=True)
    for j in range(x.shape[1]):  # clip +-inf to the column's finite range
        finite = x[np.isfinite(x[:, j]), j]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        x[:, j] = np.clip(np.nan_to_num(x[:, j], posinf=high, neginf=low), low, high)
    x = np.sign(x) * np.log1p(np.abs(x))
    y = data["__target__"].to_numpy(dtype=float)
    labels = None if groups is None else groups.reindex(data.index).to_numpy()
    classes = None if labels is None else _classes(labels, len(data))
    rows, importances = [], []
    for seed in range(seeds):
        if labels is None:
            x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=seed)
        else:  # hold out whole classes: every cell of a test class is in the test set
            held = np.isin(labels, train_test_split(classes, test_size=test_size, random_state=seed)[1])
            x_train, x_test, y_train, y_test = x[~held], x[held], y[~held], y[held]
        forest = RandomForestRegressor(n_estimators=n_estimators, max_features=max_features,
                                       random_state=seed, n_jobs=1).fit(x_train, y_train)
        predicted = forest.predict(x_test)
        rows.append({"seed": seed, "train": len(y_train), "test": len(y_test),
                     "r2": float(r2_score(y_test, predicted)),
                     "kendall": float(stats.kendalltau(predicted, y_test).statistic)})
        importances.append(forest.feature_importances_)
    stack = np.vstack(importances)
    table = pd.DataFrame({"feature": list(features.columns), "importance": stack.mean(axis=0),
                          "std": stack.std(axis=0)}).sort_values("importance", ascending=False)
    return Prediction(pd.DataFrame(rows), table.reset_index(drop=True), str(target.name))


def _classes(labels: np.ndarray, rows: int) -> np.ndarray:
    """The distinct classes of the complete rows' ``labels``, refusing a row without one and
    fewer than 10 classes (the threshold the rows have without ``groups``)."""
    import numpy as np
    import pandas as pd

    unlabelled = int(pd.isna(labels).sum())
    if unlabelled:
        raise MeasureError(f"predict: groups names no class for {unlabelled} of the {rows} complete rows")
    classes = np.unique(labels)
    if len(classes) < 10:
        raise MeasureError(f"predict holds out whole classes of cells, so it needs at least 10 classes "
                           f"with every measure and the objective, got {len(classes)} ({rows} cells)")
    return classes
