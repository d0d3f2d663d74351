"""``params`` and ``flops`` as measures: the analytic cost of the cell (:mod:`robnas.cost`).

They read only ``network.arch`` and ``batch.dataset`` (no network is built), so they cost
microseconds per cell.
"""

from __future__ import annotations

from typing import Any


def params(network: Any, batch: Any) -> float:
    """Parameters of the NB201 network of ``network.arch``, in millions (as NB201 counts them)."""
    from robnas import cost

    return float(cost.params(network.arch, batch.dataset))


def flops(network: Any, batch: Any) -> float:
    """FLOPs of the NB201 network of ``network.arch``, millions of multiply-accumulates per image."""
    from robnas import cost

    return float(cost.flops(network.arch, batch.dataset))
