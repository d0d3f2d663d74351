"""Multi-objective problems: directed objectives, and the table's true front and reference point.

An objective list is written as the CLI takes it: ``-O pgd@1/255 -O clean`` or one text with
commas, ``pgd@1/255,clean``. A suffix gives the direction: ``params:min``, ``clean:max``.
Accuracies default to ``max``, the cost metrics ``params`` and ``flops`` to ``min``. Two or
three objectives make a multi-objective problem.

A :class:`ParetoProblem` holds every class's objective vector from a tabular oracle, the true
Pareto front over the 6,466 classes, the **reference point** of hypervolumes (the true front's
nadir moved outward by 10% of each objective's range over the front,
:func:`robnas.pareto.reference_point`; fixed per dataset and objective list, recorded in every
run record) and the true front's hypervolume.

>>> objectives = parse_objectives(["PGD@1/255", "clean"])
>>> [str(o) for o in objectives], label(objectives)
(['pgd@1/255', 'clean'], 'pgd@1/255,clean')
>>> [str(o) for o in parse_objectives(["pgd@1/255,params"])]
['pgd@1/255', 'params:min']
>>> DirectedObjective.parse("clean:min").maximize
False
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robnas.errors import InvalidObjectiveError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

COST_METRICS: tuple[str, ...] = ("params", "flops")
"""Cost metrics (millions of parameters, millions of multiply-accumulates): minimised by default."""
MIN_OBJECTIVES = 2
MAX_OBJECTIVES = 3
DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class DirectedObjective:
    """One objective of a multi-objective problem and whether larger is better.

    Attributes:
        name: canonical objective text (``pgd@1/255``, ``clean``, ``params``).
        maximize: larger is better.
    """

    name: str
    maximize: bool = True

    @classmethod
    def parse(cls, text: str | DirectedObjective) -> DirectedObjective:
        """Parse ``name[:max|:min]`` (see the module docs for the defaults)."""
        if isinstance(text, DirectedObjective):
            return text
        raw = str(text).strip()
        head, sep, tail = raw.rpartition(":")
        if sep and tail.lower() in DIRECTIONS:
            name, direction = head.strip(), tail.lower()
            if ":" in name and name.rpartition(":")[2].strip().lower() in DIRECTIONS:
                raise InvalidObjectiveError(
                    f"more than one direction in {raw!r}; write NAME:max or NAME:min"
                )
        elif sep:
            raise InvalidObjectiveError(
                f"unknown direction {tail!r} in {raw!r}; write NAME:max or NAME:min"
            )
        else:
            name, direction = raw, None
        if name.lower() in COST_METRICS:
            name = name.lower()
            maximize = direction == "max"
        else:
            from robnas.objective import Objective

            name = str(Objective.parse(name))
            maximize = direction != "min"
        return cls(name, maximize)

    @property
    def is_cost(self) -> bool:
        """Whether this is a cost metric (``params`` or ``flops``)."""
        return self.name in COST_METRICS

    def __str__(self) -> str:
        if self.maximize and not self.is_cost:
            return self.name
        return f"{self.name}:{'max' if self.maximize else 'min'}"


def parse_objectives(texts: Iterable[str | DirectedObjective] | str) -> tuple[DirectedObjective, ...]:
    """Two or three directed objectives from texts (each may hold several, comma-separated).

    Raises:
        InvalidObjectiveError: a text that does not parse or is empty, a repeated objective, or
            fewer than two or more than three objectives.
    """
    if isinstance(texts, str):
        texts = [texts]
    parsed: list[DirectedObjective] = []
    for text in texts:
        parts = [text] if isinstance(text, DirectedObjective) else str(text).split(",")
        if any(not str(p).strip() for p in parts):
            raise InvalidObjectiveError(
                f"empty objective in {str(text)!r}; give each as NAME[:max|:min], e.g. pgd@1/255,clean"
            )
        parsed += [DirectedObjective.parse(p) for p in parts]
    names = [o.name for o in parsed]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidObjectiveError(f"objective {repeated[0]} is given twice")
    if not MIN_OBJECTIVES <= len(parsed) <= MAX_OBJECTIVES:
        raise InvalidObjectiveError(
            f"multi-objective search takes {MIN_OBJECTIVES} or {MAX_OBJECTIVES} objectives, "
            f"got {len(parsed)}"
        )
    return tuple(parsed)


def is_multi(text: str) -> bool:
    """Whether an objective text names several objectives (``pgd@1/255,clean``)."""
    return "," in str(text)


def label(objectives: Sequence[DirectedObjective]) -> str:
    """The canonical text of an objective list: ``pgd@1/255,params:min``."""
    return ",".join(str(o) for o in objectives)


def maximize_flags(objectives: Sequence[DirectedObjective]) -> list[bool]:
    """One ``maximize`` flag per objective (the argument :mod:`robnas.pareto` takes)."""
    return [o.maximize for o in objectives]


def oriented(values: Sequence[float], objectives: Sequence[DirectedObjective]) -> tuple[float, ...]:
    """``values`` turned larger-is-better (minimised objectives negated): what searchers see."""
    return tuple(float(v) if o.maximize else -float(v) for v, o in zip(values, objectives, strict=True))


def class_values(oracle: Any, objective: DirectedObjective) -> np.ndarray:
    """``(6466,)`` values of ``objective``, one per class (rows of the oracle's table).

    Accuracies and cost metrics alike come from the tabular oracle
    (:meth:`~robnas.benchmark.TabularOracle.objective_values`), so there is one definition of a
    class's cost: what its representative costs, the network the release evaluated.
    (Isomorphic cells compute the same function, but one with a convolution on an edge that
    never reaches the output costs more; the representative is the cheapest member for 94.5% of
    the classes on CIFAR-10.)

    Raises:
        InvalidObjectiveError: the oracle cannot answer the objective (or has no table).
    """
    values_of = getattr(oracle, "objective_values", None)
    if values_of is None:
        raise InvalidObjectiveError("the true front needs a tabular oracle")
    return values_of(objective.name)


def evaluate_objectives(oracle: Any, archs: Sequence[Any], objectives: Sequence[DirectedObjective],
                        problem: ParetoProblem | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k)`` objective values of ``archs`` and ``(n,)`` evaluation seconds.

    With a :class:`ParetoProblem` (tabular) the values are read from its table; otherwise the
    oracle evaluates each objective in turn.
    """
    import numpy as np

    if problem is not None:
        rows = problem.rows_of(archs)
        return problem.values[rows], np.zeros(len(rows))
    columns, seconds = [], np.zeros(len(archs))
    for objective in objectives:
        evaluation = oracle.evaluate(list(archs), objective.name)
        columns.append(np.asarray(evaluation.values, dtype=np.float64))
        seconds = seconds + np.asarray(evaluation.cost_seconds, dtype=np.float64)
    return np.stack(columns, axis=1), seconds


@dataclass(frozen=True)
class ParetoProblem:
    """A dataset and objective list over a tabular oracle, with its true front.

    Attributes:
        dataset: dataset name.
        objectives: the directed objectives.
        values: ``(6466, k)`` objective values, one row per class (the oracle's table rows).
        representatives: ``(6466,)`` NB201 index of each row's representative cell.
        front_rows: rows of the classes on the true Pareto front.
        reference: the reference point (module docs).
        true_hypervolume: hypervolume of the true front w.r.t. ``reference``.
    """

    dataset: str
    objectives: tuple[DirectedObjective, ...]
    values: np.ndarray
    representatives: np.ndarray
    front_rows: np.ndarray
    reference: np.ndarray
    true_hypervolume: float
    _oracle: Any

    @classmethod
    def from_oracle(cls, oracle: Any, objectives: Iterable[str | DirectedObjective] | str) -> ParetoProblem:
        """Read every class's values from a tabular oracle and derive the true front."""
        import numpy as np

        from robnas.pareto import hypervolume, non_dominated_mask, reference_point

        parsed = parse_objectives(objectives)
        values = np.stack([class_values(oracle, o) for o in parsed], axis=1).astype(np.float64)
        flags = maximize_flags(parsed)
        front_rows = np.flatnonzero(non_dominated_mask(values, flags))
        reference = reference_point(values[front_rows], flags)
        return cls(
            dataset=oracle.dataset.value,
            objectives=parsed,
            values=values,
            representatives=np.asarray(oracle.meta.representatives),
            front_rows=front_rows,
            reference=reference,
            true_hypervolume=hypervolume(values[front_rows], reference, flags),
            _oracle=oracle,
        )

    def __repr__(self) -> str:  # the dataclass's would print the 6,466-row arrays and the oracle
        return (f"ParetoProblem(dataset={self.dataset!r}, objectives={[str(o) for o in self.objectives]!r}, "
                f"classes={len(self.values)}, true_front={len(self.front_rows)}, "
                f"reference=[{', '.join(f'{r:.6g}' for r in self.reference)}], "
                f"true_hypervolume={self.true_hypervolume:.6g})")

    @property
    def maximize(self) -> list[bool]:
        """One ``maximize`` flag per objective."""
        return maximize_flags(self.objectives)

    @property
    def front_indices(self) -> set[int]:
        """NB201 indices of the representatives of the true front's classes."""
        return {int(i) for i in self.representatives[self.front_rows]}

    def rows_of(self, archs: Sequence[Any]) -> np.ndarray:
        """Table rows (classes) of ``archs`` (``Arch`` objects, NB201 strings or indices)."""
        from robnas.arch import Arch, codes_of

        meta = self._oracle.meta
        parsed = [arch if isinstance(arch, Arch) else meta.parse_arch(arch) for arch in archs]
        return meta.row_of_index[meta.index_of_code[codes_of(parsed)]]

    def hypervolume(self, points: np.ndarray) -> float:
        """Hypervolume of ``points`` (``(n, k)`` raw objective values) w.r.t. the reference."""
        from robnas.pareto import hypervolume

        return hypervolume(points, self.reference, self.maximize)

    def true_front(self) -> pd.DataFrame:
        """The true front: one row per class (NB201 string, index, every objective)."""
        indices = [int(i) for i in self.representatives[self.front_rows]]
        archs = [self._oracle.meta.arch_at(i).to_string() for i in indices]
        return front_frame(archs, indices, self.values[self.front_rows], self.objectives)


def front_frame(archs: Sequence[str], indices: Sequence[int | None], values: np.ndarray,
                objectives: Sequence[DirectedObjective]) -> pd.DataFrame:
    """A front as a DataFrame: ``arch`` (NB201 string), ``index``, one column per objective.

    Rows are sorted by the first objective, best first.
    """
    import numpy as np
    import pandas as pd

    matrix = np.asarray(values, dtype=np.float64).reshape(len(archs), len(objectives))
    frame = pd.DataFrame({"arch": list(archs), "index": pd.array(list(indices), dtype="Int64")})
    for column, objective in enumerate(objectives):
        frame[objective.name] = matrix[:, column]
    first = objectives[0]
    frame = frame.sort_values(first.name, ascending=not first.maximize, kind="stable")
    return frame.reset_index(drop=True)


__all__ = [
    "COST_METRICS",
    "MAX_OBJECTIVES",
    "DirectedObjective",
    "ParetoProblem",
    "class_values",
    "evaluate_objectives",
    "front_frame",
    "is_multi",
    "label",
    "maximize_flags",
    "oriented",
    "parse_objectives",
]
