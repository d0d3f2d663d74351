"""The single-objective loop's state: trials, the best so far, feasibility and the told value.

Private helper of :mod:`robnas.loop` (see there for the semantics of ``min_clean`` and cost
limits); asking, known and pending cells and replay are :mod:`robnas.loop_core`'s.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from robnas.arch import Arch
from robnas.cost import value as cost_value
from robnas.isomorphism import class_code
from robnas.loop_core import LoopCore
from robnas.objective import Objective
from robnas.oracle import Oracle
from robnas.run_record import RunRecord
from robnas.searchers import Searcher


class LoopState(LoopCore):
    """Everything the single-objective loop knows during one session of a run."""

    def __init__(self, *, oracle: Oracle, objective: Objective, searcher: Searcher,
                 min_clean: float | None, record: RunRecord | None, replay: deque[dict[str, Any]],
                 time_offset: float = 0.0, max_cost: dict[str, float] | None = None,
                 workers: int = 1) -> None:
        super().__init__(searcher, record, replay, time_offset, workers)
        self.oracle, self.objective, self.min_clean = oracle, objective, min_clean
        self.max_cost = dict(max_cost or {})  # cost metric -> limit
        self.best: dict[str, Any] | None = None

    def evaluate(self, arch: Arch) -> Any:
        """The oracle's evaluation of ``arch`` on the objective."""
        return self.oracle.evaluate([arch], self.objective)

    def make_trial(self, arch: Arch, outcome: Any, forced: bool, extra: dict[str, Any]) -> dict[str, Any]:
        """The trial of a newly evaluated cell, appended to the record."""
        value = float(outcome.values[0])
        clean = _as_float(outcome.clean[0])
        costs = {metric: cost_value(metric, arch, self.oracle.dataset) for metric in self.max_cost}
        feasible = self._violation({"clean": clean, **costs}) is None
        best = self.best["value"] if self.best is not None else None
        if feasible and (best is None or value > best):
            best = value
        index_of = getattr(self.oracle, "index_of", None)
        trial: dict[str, Any] = {
            "n": self.n_evaluations + 1,
            "index": None if index_of is None else int(index_of(arch)),
            "arch": arch.to_string(),
            "value": value,
            "best": best,
            "clean": clean,
            "cost_seconds": float(extra.pop("cost_seconds", outcome.cost_seconds[0])),
            "time": round(self.elapsed(), 6),
            **costs,
        }
        if self.min_clean is not None or self.max_cost:
            trial["feasible"] = feasible
        if forced:
            trial["forced"] = True
        trial.update(extra)
        if self.record is not None:
            self.record.append_trial(trial)
        return trial

    def learn(self, arch: Arch, trial: dict[str, Any]) -> None:
        """Remember ``trial`` (the best so far included) and tell the searcher its value."""
        value = float(trial["value"])
        violation = self._violation(trial)
        feasible = violation is None
        told = value if feasible else -1.0 - violation
        self.memory[class_code(arch)] = told
        self.trials.append(trial)
        if feasible and (self.best is None or value > self.best["value"]):
            self.best = trial
        self.searcher.tell(arch, told)

    def _violation(self, trial: dict[str, Any]) -> float | None:
        """``None`` for a feasible trial, else the mean normalised violation (in ``(0, 1]``)."""
        parts = []
        clean = trial.get("clean")
        if self.min_clean is not None:
            parts.append(0.0 if clean is None or clean >= self.min_clean else self.min_clean - float(clean))
        for metric, limit in self.max_cost.items():
            cost = float(trial[metric]) if trial.get(metric) is not None else 0.0
            parts.append((cost - limit) / cost if cost > limit else 0.0)
        if not any(parts):
            return None
        return sum(parts) / len(parts)


def _as_float(value: Any) -> float | None:
    """``float(value)``, with NaN as ``None`` (JSON has no NaN)."""
    value = float(value)
    return None if math.isnan(value) else value
