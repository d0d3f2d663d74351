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
        self._cost_table: dict[str, Any] | None = None  # every cell's cost, when limits are set
        self._mates: Any = None  # per cell code: the code of the cell whose costs count

    def evaluate(self, arch: Arch) -> Any:
        """The oracle's evaluation of ``arch`` on the objective."""
        return self.oracle.evaluate([arch], self.objective)

    def make_trial(self, arch: Arch, outcome: Any, forced: bool, extra: dict[str, Any]) -> dict[str, Any]:
        """The trial of a newly evaluated cell, appended to the record."""
        value = float(outcome.values[0])
        clean = _as_float(outcome.clean[0])
        costs = {metric: cost_value(metric, arch, self.oracle.dataset) for metric in self.max_cost}
        feasible = self._violation({"clean": clean, "arch": arch.to_string()}) is None
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
        mate = self._within_limits(arch) if self.max_cost else arch
        if mate.code != arch.code and self._cost_violation(mate) == 0.0:  # a class-mate is within
            trial["within_limits_index"] = None if index_of is None else int(index_of(mate))
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
        if self.max_cost:  # the class's cell least over the limits (its own, when within them)
            parts += self._cost_parts(self._within_limits(Arch.from_string(trial["arch"])))
        if not any(parts):
            return None
        return sum(parts) / len(parts)

    def _cost_parts(self, arch: Arch) -> list[float]:
        """Per cost limit, ``arch``'s relative excess ``(cost - limit) / cost`` (0 within it)."""
        table = self._limit_tables()[1]
        parts = []
        for metric, limit in self.max_cost.items():
            cost = float(table[metric][arch.code])
            parts.append((cost - limit) / cost if cost > limit else 0.0)
        return parts

    def _cost_violation(self, arch: Arch) -> float:
        """The summed relative excess of ``arch`` over the cost limits (0: within them)."""
        return sum(self._cost_parts(arch))

    def _within_limits(self, arch: Arch) -> Arch:
        """The cell of ``arch``'s class whose costs count (:func:`robnas.cost.within_limits_codes`:
        ``arch`` unless a class-mate is less over the limits). A class is within the limits when
        one of its cells is, the rule of the feasible optimum (:func:`robnas.loop._standing`)."""
        return Arch.from_code(int(self._limit_tables()[0][arch.code]))

    def _limit_tables(self) -> tuple[Any, dict[str, Any]]:
        """The cost limits' tables, built on first use: per cell code the code of the cell whose
        costs count, and every cell's cost (:func:`robnas.cost.cost_arrays`)."""
        if self._mates is None or self._cost_table is None:
            from robnas.cost import cost_arrays, within_limits_codes

            self._mates = within_limits_codes(self.max_cost, self.oracle.dataset)
            self._cost_table = cost_arrays(self.oracle.dataset)
        return self._mates, self._cost_table

def _as_float(value: Any) -> float | None:
    """``float(value)``, with NaN as ``None`` (JSON has no NaN)."""
    value = float(value)
    return None if math.isnan(value) else value
