"""Zero-cost proxies and robustness measures of NB201 networks (``robnas.evaluation.measures``).

Every measure has one signature, ``measure(network, batch) -> float``: ``network`` a torch
module (an :class:`~robnas.evaluation.network.NB201Network`), ``batch`` a :class:`Batch`.
:data:`MEASURES` lists the built-in ones by name; :func:`get_measure` also accepts a user's
function or an import path ``module:function``, so a new measure is a function away and gets
everything else (``compute_measures``, the store, ``robnas measures correlate``) for free.

* :func:`compute_measures` / :class:`MeasureRequest`: values for many cells, in worker
  processes, cached in the results store (:class:`MeasureStore`) with their fingerprint.
* :func:`load_measures`: computed values as a DataFrame indexed by NB201 index.
* :func:`score_correlations`, :func:`predict_objective`: benchmark scores against the table.

Names resolve on first access (PEP 562): importing this package imports no torch.

>>> from robnas.evaluation.measures import MEASURES
>>> [name for name in MEASURES][:3]
['synflow', 'snip', 'grasp']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas._lazy import lazy_exports
from robnas.evaluation.measures._registry import MEASURES, Measure, MeasureError, get_measure

_EXPORTS = {
    "Batch": "robnas.evaluation.measures._batch",
    "load_batch": "robnas.evaluation.measures._batch",
    "synthetic_batch": "robnas.evaluation.measures._batch",
    "MeasureRequest": "robnas.evaluation.measures._compute",
    "ComputeResult": "robnas.evaluation.measures._compute",
    "compute_measures": "robnas.evaluation.measures._compute",
    "MeasureSettings": "robnas.evaluation.measures._store",
    "MeasureStore": "robnas.evaluation.measures._store",
    "load_measures": "robnas.evaluation.measures._load",
    "read_scores": "robnas.evaluation.measures._correlate",
    "score_correlations": "robnas.evaluation.measures._correlate",
    "predict_objective": "robnas.evaluation.measures._predict",
}

__all__ = [
    "MEASURES",
    "Batch",
    "ComputeResult",
    "Measure",
    "MeasureError",
    "MeasureRequest",
    "MeasureSettings",
    "MeasureStore",
    "compute_measures",
    "get_measure",
    "load_batch",
    "load_measures",
    "predict_objective",
    "read_scores",
    "score_correlations",
    "synthetic_batch",
]

if TYPE_CHECKING:
    from robnas.evaluation.measures._batch import Batch, load_batch, synthetic_batch
    from robnas.evaluation.measures._compute import ComputeResult, MeasureRequest, compute_measures
    from robnas.evaluation.measures._correlate import read_scores, score_correlations
    from robnas.evaluation.measures._load import load_measures
    from robnas.evaluation.measures._predict import predict_objective
    from robnas.evaluation.measures._store import MeasureSettings, MeasureStore

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
