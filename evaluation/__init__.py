"""The live evaluation backend (installed as ``robnas.evaluation``): real networks, weights, data.

Public API: :class:`NB201Network` / :func:`build_network` (the NB201 network for any cell),
:class:`WeightsArchive` / :func:`load_network` (NATS-Bench's released weights),
:func:`load_test_set` / :class:`TestSet` (test images from the files users have),
:class:`LiveOracle` (the oracle over all of these), :class:`AttackProtocol` (the attacks'
settings), :class:`ResultStore` (the SQLite cache of live results), :func:`build_table` /
:class:`LiveSettings` (a results table in the release's layout, built live). Zero-cost proxies and the
Jacobian/Hessian robustness measures live in the subpackage :mod:`robnas.evaluation.measures`.

Names are resolved on first access (PEP 562), so importing this package does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas._lazy import lazy_exports

_EXPORTS = {
    "IMAGE_SIZE": "robnas.evaluation.network",
    "NB201Network": "robnas.evaluation.network",
    "NORMALISATION": "robnas.evaluation.network",
    "NUM_CLASSES": "robnas.evaluation.network",
    "build_network": "robnas.evaluation.network",
    "NATS_DATASET": "robnas.evaluation.weights",
    "TrainedNetConfig": "robnas.evaluation.weights",
    "WeightsArchive": "robnas.evaluation.weights",
    "load_network": "robnas.evaluation.weights",
    "UnsafePickleError": "robnas.errors",
    "TestSet": "robnas.evaluation.datasets",
    "load_test_set": "robnas.evaluation.datasets",
    "LiveOracle": "robnas.evaluation.live_oracle",
    "AttackProtocol": "robnas.evaluation.attacks",
    "ResultStore": "robnas.evaluation.store",
    "LiveSettings": "robnas.evaluation.cell_tasks",
    "build_table": "robnas.evaluation.table_build",
    "StoreError": "robnas.errors",
}

__all__ = [
    "IMAGE_SIZE",
    "NATS_DATASET",
    "NORMALISATION",
    "NUM_CLASSES",
    "AttackProtocol",
    "LiveOracle",
    "LiveSettings",
    "NB201Network",
    "ResultStore",
    "StoreError",
    "TestSet",
    "TrainedNetConfig",
    "UnsafePickleError",
    "WeightsArchive",
    "build_network",
    "build_table",
    "load_network",
    "load_test_set",
]

if TYPE_CHECKING:
    from robnas.errors import StoreError, UnsafePickleError
    from robnas.evaluation.attacks import AttackProtocol
    from robnas.evaluation.cell_tasks import LiveSettings
    from robnas.evaluation.datasets import TestSet, load_test_set
    from robnas.evaluation.live_oracle import LiveOracle
    from robnas.evaluation.network import IMAGE_SIZE, NORMALISATION, NUM_CLASSES, NB201Network, build_network
    from robnas.evaluation.store import ResultStore
    from robnas.evaluation.table_build import build_table
    from robnas.evaluation.weights import NATS_DATASET, TrainedNetConfig, WeightsArchive, load_network



__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
