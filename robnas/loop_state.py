"""The search loop's memory: known classes, trials, the best so far, and replay of a record.

Private helper of :mod:`robnas.loop` (see there for the semantics of known cells,
``min_clean`` and resuming).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from robnas.arch import Arch
from robnas.cost import value as cost_value
from robnas.isomorphism import class_code
from robnas.objective import Objective
from robnas.oracle import Oracle
from robnas.run_record import RunRecord
from robnas.searchers import Searcher

logger = logging.getLogger("robnas.loop")


@dataclass
class LoopState:
    """Everything the loop knows during one session of a run."""

    oracle: Oracle
    objective: Objective
    searcher: Searcher
    min_clean: float | None
    record: RunRecord | None
    replay: deque[dict[str, Any]]
    time_offset: float = 0.0
    max_cost: dict[str, float] = field(default_factory=dict)  # cost metric -> limit
    memory: dict[int, float] = field(default_factory=dict)  # class code -> value told
    trials: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    n_proposals: int = 0
    n_known: int = 0
    n_forced: int = 0
    replayed: int = 0
    diverged_at: int | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def n_evaluations(self) -> int:
        """Distinct classes evaluated so far (recorded ones included)."""
        return len(self.trials)

    def elapsed(self) -> float:
        """Seconds since the run started, over all its sessions."""
        return self.time_offset + time.perf_counter() - self.started

    def answer_known(self, arch: Arch) -> bool:
        """If ``arch``'s class is known, tell the searcher its value and return ``True``."""
        told = self.memory.get(class_code(arch))
        if told is None:
            return False
        self.searcher.tell(arch, told)
        self.n_known += 1
        return True

    def process(self, arch: Arch, *, forced: bool) -> None:
        """Get the trial of a new class (replayed or evaluated) and tell the searcher."""
        if self.replay:
            expected = self.replay[0]
            if expected["arch"] == arch.to_string() and bool(expected.get("forced")) == forced:
                self.replay.popleft()
                self.replayed += 1
                self._learn(arch, expected, tell=True)
                return
            self._diverge()
            if self.answer_known(arch):
                return
        self._learn(arch, self._evaluate(arch, forced), tell=True)

    def replay_report(self) -> dict[str, Any]:
        """How the recorded trials were replayed (see :mod:`robnas.loop`)."""
        return {"trials": self.replayed, "diverged_at": self.diverged_at}

    # -- internals -----------------------------------------------------------------------------
    def _diverge(self) -> None:
        self.diverged_at = self.replay[0]["n"]
        logger.warning(
            "replay diverged at trial %d: the searcher proposes other cells than recorded; "
            "telling it the %d remaining recorded trials and continuing from there",
            self.diverged_at,
            len(self.replay),
        )
        while self.replay:
            trial = self.replay.popleft()
            self._learn(Arch.from_string(trial["arch"]), trial, tell=True)

    def _evaluate(self, arch: Arch, forced: bool) -> dict[str, Any]:
        evaluation = self.oracle.evaluate([arch], self.objective)
        value = float(evaluation.values[0])
        clean = _as_float(evaluation.clean[0])
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
            "cost_seconds": float(evaluation.cost_seconds[0]),
            "time": round(self.elapsed(), 6),
            **costs,
        }
        if self.min_clean is not None or self.max_cost:
            trial["feasible"] = feasible
        if forced:
            trial["forced"] = True
        if self.record is not None:
            self.record.append_trial(trial)
        return trial

    def _learn(self, arch: Arch, trial: dict[str, Any], *, tell: bool) -> None:
        value = float(trial["value"])
        violation = self._violation(trial)
        feasible = violation is None
        told = value if feasible else -1.0 - violation
        self.memory[class_code(arch)] = told
        self.trials.append(trial)
        if feasible and (self.best is None or value > self.best["value"]):
            self.best = trial
        if tell:
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
