"""The analysis table: one row per isomorphism class, every objective and the cost as columns.

Every section of the design analysis reads this frame. A class is represented by its
representative cell (the network the release evaluated): its NB201 index is the row label
(``nb201_index``), its string the ``arch`` column (its :attr:`~robnas.arch.Arch.code` the
``code`` column), its own cost the ``params`` and ``flops`` columns. ``degenerate`` marks the
constant-output networks: clean accuracy at chance level (``1 / classes``), whose "robustness"
only means that an attack cannot change a constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from robnas.arch import Arch
from robnas.cost import METRICS as COST_METRICS
from robnas.cost import NUM_CLASSES, cost_arrays
from robnas.objective import ADVERSARIAL, CORRUPTION, Objective
from robnas.vocabulary import CLEAN, Attack, Corruption, name_list

if TYPE_CHECKING:
    import pandas as pd

    from robnas.benchmark import TabularOracle

CHANCE_TOLERANCE = 0.005
"""Clean accuracy within this of ``1 / classes`` counts as chance level (a constant output)."""
INFO_COLUMNS: tuple[str, ...] = ("arch", "code", "params", "flops", "degenerate")
"""The columns of :func:`class_frame` that are not objectives."""


def check_tabular(oracle: object) -> None:
    """Refuse what is not a tabular oracle (a dataset name, say) in one line, not an
    ``AttributeError`` from inside a section.

    >>> check_tabular("cifar10")
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: oracle must be a TabularOracle such as TabularOracle("cifar10"), got 'cifar10'
    """
    from robnas.benchmark import TabularOracle

    if not isinstance(oracle, TabularOracle):
        from robnas.errors import InvalidParameterError

        raise InvalidParameterError(f'oracle must be a TabularOracle such as TabularOracle("cifar10"), '
                                    f"got {oracle!r}")


def all_objectives(oracle: TabularOracle) -> list[str]:
    """Every objective of the oracle's table: each key at each point, then the aggregates.

    The aggregates are each attack's mean over its epsilons, ``adversarial@mean`` (the paper's
    mean adversarial robust accuracy) and, where the table has corruptions, each corruption's
    mean and ``corruption@mean``.
    """
    grid = oracle.grid.points
    names = [CLEAN] if CLEAN in grid else []
    attacks = [a.value for a in Attack if a.value in grid]
    corruptions = [c.value for c in Corruption if c.value in grid]
    for key in attacks + corruptions:
        names += [str(Objective(key, point)) for point in grid[key]]
    names += [str(Objective(key, mean=True)) for key in attacks]
    if attacks:
        names.append(f"{ADVERSARIAL}@mean")
    names += [str(Objective(key, mean=True)) for key in corruptions]
    if corruptions:
        names.append(f"{CORRUPTION}@mean")
    return names


def headline_objectives(objectives: Sequence[str]) -> list[str]:
    """The objectives a report draws figures for: clean and the aggregates among ``objectives``."""
    groups = {str(Objective(a.value, mean=True)) for a in Attack} | {f"{ADVERSARIAL}@mean", f"{CORRUPTION}@mean"}
    chosen = [o for o in objectives if o == CLEAN or o in groups]
    return chosen if len(chosen) > 1 else list(objectives)


def class_frame(oracle: TabularOracle, objectives: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per isomorphism class (6,466): ``arch``, cost, ``degenerate`` and each objective.

    Args:
        oracle: the tabular oracle of one dataset.
        objectives: the objective columns (canonical text such as ``pgd@1/255``); ``None``:
            :func:`all_objectives`. ``clean`` is always added (it decides ``degenerate``).

    Raises:
        InvalidObjectiveError: an objective is not on the table's grid, or is a cost metric
            (cost is always a column).
    """
    import numpy as np
    import pandas as pd

    check_tabular(oracle)
    names = _canonical(oracle, all_objectives(oracle) if objectives is None else name_list(objectives, "objectives"))
    meta = oracle.meta
    reps = np.asarray(meta.representatives)
    codes = np.asarray(meta.code_of_index)[reps]
    costs = cost_arrays(oracle.dataset)
    clean = oracle.objective_values(CLEAN)
    chance = 1.0 / NUM_CLASSES[oracle.dataset]
    columns = {
        "arch": [Arch.from_code(int(c)).to_string() for c in codes],
        "code": codes,
        **{metric: costs[metric][codes] for metric in COST_METRICS},
        "degenerate": clean <= chance + CHANCE_TOLERANCE,
    }
    for name in names:
        columns[name] = np.asarray(oracle.objective_values(name), dtype=np.float64)
    return pd.DataFrame(columns, index=pd.Index(reps, name="nb201_index"))


def objective_columns(frame: pd.DataFrame) -> list[str]:
    """The objective columns of a :func:`class_frame` (everything but :data:`INFO_COLUMNS`)."""
    return [c for c in frame.columns if c not in INFO_COLUMNS]


def checked_objectives(frame: pd.DataFrame, objectives: Sequence[str], *, at_least: int = 1) -> list[str]:
    """``objectives`` as a list, each an objective column of ``frame``, at least ``at_least``.

    What every section function calls first, so a name the frame lacks is one error naming the
    frame's objectives, not a pandas ``KeyError`` from inside the computation.

    Raises:
        InvalidParameterError: a string where the list belongs, fewer than ``at_least``.
        InvalidObjectiveError: a name that is not an objective column of ``frame``.
    """
    from robnas.errors import InvalidObjectiveError, InvalidParameterError

    names = name_list(objectives, "objectives")
    if len(names) < at_least:
        raise InvalidParameterError(f"give at least {at_least} objective{'s' if at_least > 1 else ''}, "
                                    f"got {names}")
    columns = objective_columns(frame)
    missing = [name for name in names if name not in columns]
    if missing:
        raise InvalidObjectiveError(f"{missing[0]!r} is not an objective of this frame; it has "
                                    f"{', '.join(columns)} (class_frame(oracle, [...]) adds others)")
    return names


def degenerate_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The constant-output classes (clean accuracy at chance): index, arch, cost and clean."""
    return frame.loc[frame["degenerate"], ["arch", "params", "flops", CLEAN]]


def _canonical(oracle: TabularOracle, objectives: Sequence[str]) -> list[str]:
    from robnas.errors import InvalidObjectiveError

    names = [CLEAN]
    for text in objectives:
        objective = Objective.parse(text)
        if objective.is_cost:
            raise InvalidObjectiveError(f"{objective} is always a column of the analysis; "
                                        "give accuracy objectives with -O")
        oracle.validate(objective)
        if str(objective) not in names:
            names.append(str(objective))
    return names
