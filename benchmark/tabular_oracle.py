"""The tabular oracle: exact released values for any NB201 cell, vectorised.

>>> oracle = TabularOracle("cifar10")  # data from $ROBNAS_DATA or the per-user data dir
>>> oracle.value(13433, "pgd@1/255"), oracle.value(13433, "clean")
(0.336, 0.893)
>>> oracle.optimum("pgd@1/255")
0.588
>>> frame = oracle.dataframe(["clean", "pgd@8/255"])  # pandas, one row per NB201 index
>>> frame.shape
(15625, 4)
>>> frame.index.name, float(frame.loc[13433, "clean"])
('nb201_index', 0.893)
>>> oracle.value(13433, "params"), oracle.value(13433, "flops")  # robnas.cost, per cell
(0.157306, 19.57953)

Cost objectives (``params``, ``flops``): every cell has its own cost, so :meth:`value`,
:meth:`evaluate`, ``values_by_*`` and :meth:`dataframe` give the cell's own cost, also for an
isomorph (a dead convolution still has weights). Per class (:meth:`objective_values`,
:meth:`optimum`, :meth:`rank`, :meth:`best_indices`) a class costs what its representative
costs, the network the release evaluated; for cost the optimum is the *smallest* value and
the rank counts the classes that are strictly cheaper.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas._version import __version__
from robnas.arch import NUM_CELLS, Arch, codes_of
from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.location import (
    META_FILE,
    default_cache_dir,
    missing_dataset_error,
    missing_files_error,
    resolve_data_root,
)
from robnas.benchmark.meta import SpaceMeta
from robnas.benchmark.table import ResultTable
from robnas.cost import METRICS as COST_METRICS
from robnas.cost import cost_arrays
from robnas.cost import value as cost_value
from robnas.errors import InvalidArchError, InvalidObjectiveError
from robnas.objective import CLEAN, CORRUPTION, Grid, Objective, Term
from robnas.vocabulary import Corruption, Dataset, parse_dataset

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from robnas.oracle import Evaluations

_CLEAN = (Term(CLEAN, None),)
_CORRUPTION_NAMES = frozenset({CORRUPTION, *(c.value for c in Corruption)})
INDEX_NAME = "nb201_index"
"""Name of the NB201 index in :meth:`TabularOracle.dataframe` (and of its column in exports)."""


class TabularOracle:
    """Answers objectives from the released table of one dataset.

    Isomorphic cells resolve to their representative, so any of the 15,625 cells has a value.
    Single look-ups (:meth:`value`, :meth:`rank`, :meth:`optimum`) never import NumPy, so a
    one-off query in a fresh process is fast; :meth:`evaluate` and the ``values_by_*`` methods
    are vectorised with NumPy. Both give bit-identical values.

    Args:
        dataset: ``cifar10`` (default), ``cifar100`` or ``ImageNet16-120``.
        data: data root; defaults to ``$ROBNAS_DATA``, then the per-user data directory.
        cache_dir: where parsed files are cached; defaults to ``$ROBNAS_CACHE_DIR`` or the
            per-user cache directory. Pass ``False`` to disable caching.
        strict_data: refuse a release file whose SHA-256 differs from its pin (raises
            :class:`~robnas.errors.ChecksumMismatchError` when it is read) instead of logging a
            warning; tables users build themselves (their own ``meta.json``) have no pins.
    """

    def __init__(
        self,
        dataset: str | Dataset = Dataset.CIFAR10,
        data: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | bool | None = None,
        strict_data: bool = False,
    ) -> None:
        self._dataset = parse_dataset(dataset)
        self.root = resolve_data_root(data)
        if cache_dir is False:
            cache = ArrayCache(None)
        else:
            cache = ArrayCache(Path(cache_dir) if cache_dir else default_cache_dir())
        self.meta = SpaceMeta.load(self.root / META_FILE, cache)
        self.table = ResultTable(self.root, self._dataset, self.meta, cache, strict_data=strict_data)
        self._grid: Grid | None = None
        self._missing: Grid | None = None
        self._costs: dict[str, np.ndarray] | None = None

    # -- the Oracle protocol --------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset:
        """The dataset this oracle answers for."""
        return self._dataset

    @property
    def grid(self) -> Grid:
        """The keys and points this dataset's present files hold.

        Raises:
            DataNotFoundError: the dataset has no files in this root (the message names it and
                the command that installs it).
        """
        if self._grid is None:
            grid = self.table.grid
            if not grid.points:
                raise missing_dataset_error(self.root, self._dataset.value)
            self._grid = grid
        return self._grid

    def validate(self, objective: Objective | str) -> tuple[Term, ...]:
        """The terms of ``objective`` on this table (raises with the valid choices).

        Raises:
            DataNotFoundError: in a copy of the release, ``objective`` needs a released file that
                the copy lacks (``adversarial@mean`` without ``pgd@Linf_accuracy.json``, say): it
                is refused, naming the files and how to get them, rather than answered from the
                files that are there (a mean over fewer attacks is another number).
        """
        parsed = Objective.parse(objective)
        grid = self.grid
        if self._missing is None:
            self._missing = self.table.missing_release_grid
        if (self.table.is_release and parsed.key in _CORRUPTION_NAMES
                and not _CORRUPTION_NAMES & {*grid.points, *self._missing.points}):
            # a table a user built is told by the grid's own error, which lists what it holds
            raise InvalidObjectiveError(
                f"{parsed}: {self._dataset.value} has no corruption results (the release has none for "
                "it: only cifar10 and cifar100 have corruption results); ask for clean, an attack "
                "(fgsm, pgd, apgd, square) or adversarial@mean")
        if not self._missing.points:
            return parsed.terms(grid)
        terms = parsed.terms(Grid({**grid.points, **self._missing.points}))
        absent = list(dict.fromkeys(t.key for t in terms if t.key in self._missing.points))
        if absent:
            raise missing_files_error(self.root, self._dataset.value, absent, str(parsed))
        return terms

    def evaluate(self, archs: Sequence[Arch | str | int], objective: Objective | str) -> Evaluations:
        """Values and clean accuracies of ``archs`` (``Arch`` objects, NB201 strings or
        indices; cost 0: a lookup)."""
        import numpy as np

        from robnas.oracle import Evaluations, check_cells

        check_cells(archs)
        terms = self.validate(objective)
        codes = codes_of([arch if isinstance(arch, Arch) else self.parse_arch(arch) for arch in archs])
        rows = self.meta.row_of_index[self.meta.index_of_code[codes]]
        cost = self._cost_by_code(objective)
        values = cost[codes] if cost is not None else self.table.objective_column(terms)[rows]
        clean = self.table.objective_column(_CLEAN)[rows] if self.table.has(CLEAN) else np.full(rows.shape, np.nan)
        return Evaluations(values, clean, np.zeros(rows.shape), terms)

    def optimum(self, objective: Objective | str) -> float:
        """The best value of ``objective`` over the whole space (the smallest for a cost)."""
        if Objective.parse(objective).is_cost:
            return float(self.objective_values(objective).min())
        return max(self.table.objective_list(self.validate(objective)))

    def rank(self, arch: Arch | str | int, objective: Objective | str) -> int:
        """1 + the number of classes with a strictly better value (ties share a rank).

        A cost is the cell's own, and a class's is its representative's: an isomorph is ranked
        against the other classes only (its own class's representative may be cheaper)."""
        arch = self.parse_arch(arch)
        if Objective.parse(objective).is_cost:
            import numpy as np

            others = np.delete(self.objective_values(objective), self.meta.row_of(self.meta.index_of(arch)))
            return 1 + int((others < self.value(arch, objective)).sum())
        terms = self.validate(objective)
        value = self.table.objective_scalar(terms, self.meta.row_of(self.meta.index_of(arch)))
        return 1 + sum(1 for other in self.table.objective_list(terms) if other > value)

    def provenance(self, objectives: Sequence[Objective | str] | None = None) -> dict[str, Any]:
        """Mode, data root, dataset and SHA-256 of data files (``meta.json`` first, then by path).

        Args:
            objectives: name the files answering these objectives reads (``meta.json`` and the
                present files of their terms, each read here if it was not yet; a cost reads
                none), so what a run records is the same whatever this oracle answered before
                (an oracle shared by several runs); by default every file read so far.
        """
        keys = None if objectives is None else [
            term.key for objective in objectives if not Objective.parse(objective).is_cost
            for term in self.validate(objective)]
        checksums = self.table.checksums(keys)
        return {
            "mode": "tabular",
            "robnas": __version__,
            "data_root": str(self.root),
            "dataset": self._dataset.value,
            "checksums": checksums,
        }

    # -- single look-ups (no NumPy) --------------------------------------------------------------
    def value(self, arch: Arch | str | int, objective: Objective | str) -> float:
        """The value of one cell (an ``Arch``, NB201 string or NB201 index)."""
        terms = self.validate(objective)
        parsed = self.parse_arch(arch)
        if terms[0].key in COST_METRICS:
            return cost_value(terms[0].key, parsed, self._dataset)
        return self.table.objective_scalar(terms, self.meta.row_of(self.index_of(parsed)))

    def parse_arch(self, arch: Arch | str | int) -> Arch:
        """An ``Arch`` from an ``Arch``, an NB201 string or an NB201 index."""
        return self.meta.parse_arch(arch)

    def index_of(self, arch: Arch | str | int) -> int:
        """NB201 index of ``arch`` (an ``Arch``, NB201 string, or index: checked and returned)."""
        return self.meta.index_of(self.parse_arch(arch))

    def representative_index(self, arch: Arch | str | int) -> int:
        """NB201 index of the representative of ``arch``'s isomorphism class."""
        return self.meta.representative_of(self.index_of(arch))

    def best_indices(self, objective: Objective | str) -> list[int]:
        """Representative NB201 indices of every class that attains the optimum."""
        if Objective.parse(objective).is_cost:
            values = self.objective_values(objective)
            return [int(i) for i in self.meta.representatives[values == values.min()]]
        values = self.table.objective_list(self.validate(objective))
        best = max(values)
        return [self.meta.representative_at_row(row) for row, v in enumerate(values) if v == best]

    # -- vectorised ------------------------------------------------------------------------------
    def objective_values(self, objective: Objective | str) -> np.ndarray:
        """``(6466,)`` values of ``objective``, one per class (rows = ``meta.representatives``)."""
        terms = self.validate(objective)
        cost = self._cost_by_code(objective)
        if cost is not None:
            return cost[self.meta.code_of_index[self.meta.representatives]]
        return self.table.objective_column(terms)

    def values_by_index(self, indices: np.ndarray | Sequence[int], objective: Objective | str) -> np.ndarray:
        """Vectorised values for NB201 indices (any of 15,625; integers in 0..15624, else
        :class:`InvalidArchError`: numpy would read -1 as the last cell and 1.5 as 1)."""
        indices = _cell_numbers(indices, "NB201 indices")
        cost = self._cost_by_code(objective)
        if cost is not None:
            return cost[self.meta.code_of_index[indices]]
        return self.objective_values(objective)[self.meta.row_of_index[indices]]

    def values_by_code(self, codes: np.ndarray, objective: Objective | str) -> np.ndarray:
        """Vectorised values for :attr:`Arch.code` values (the fastest path; integers in
        0..15624, else :class:`InvalidArchError`)."""
        codes = _cell_numbers(codes, "cell codes")
        cost = self._cost_by_code(objective)
        if cost is not None:
            return cost[codes]
        return self.objective_values(objective)[self.meta.row_of_index[self.meta.index_of_code[codes]]]

    def _by_index_column(self, objective: Objective, rows: np.ndarray) -> np.ndarray:
        """``objective`` for every NB201 index: a cell's own cost, or its class's value."""
        cost = self._cost_by_code(objective)
        return cost[self.meta.code_of_index] if cost is not None else self.objective_values(objective)[rows]

    def _cost_by_code(self, objective: Objective | str) -> np.ndarray | None:
        """``(15625,)`` cost of every cell by :attr:`Arch.code` for a cost objective, else ``None``."""
        parsed = Objective.parse(objective)
        if not parsed.is_cost:
            return None
        if self._costs is None:
            self._costs = cost_arrays(self._dataset)
        return self._costs[parsed.key]

    def dataframe(
        self, objectives: Objective | str | Sequence[Objective | str] | None = None
    ) -> pd.DataFrame:
        """One row per NB201 index (15,625): arch, representative, one column per objective.

        The frame's index is the NB201 index (named ``nb201_index``), so ``frame.loc[13433]``
        is cell 13433; ``frame.reset_index()`` makes it a column.

        Args:
            objectives: one objective or a list of them, one column each (e.g.
                ``["params", "pgd@1/255"]``); ``None`` (default) gives the whole table: every key
                at every point of this dataset's grid (e.g. ``pgd@8/255``, ``fog@3``), without the
                cost metrics.
        """
        import pandas as pd

        if objectives is None:
            objectives = [
                Objective.parse(str(term)) if term.key != CLEAN else Objective.parse(CLEAN)
                for key, points in self.grid.points.items()
                for term in ((Term(key, p) for p in points) if points else (Term(key, None),))
            ]
        elif isinstance(objectives, (str, Objective)) or not isinstance(objectives, Iterable):
            objectives = [objectives]  # a lone name; anything else is refused by name below
        parsed = [Objective.parse(o) for o in objectives]
        for objective in parsed:
            self.validate(objective)
        rows = self.meta.row_of_index
        columns = {
            "arch": [Arch.from_code(int(c)).to_string() for c in self.meta.code_of_index],
            "representative": self.meta.representative.copy(),
            # one block of columns at once: adding them one by one fragments the frame
            **{str(o): self._by_index_column(o, rows) for o in parsed},
        }
        return pd.DataFrame(columns, index=pd.RangeIndex(len(rows), name=INDEX_NAME))

    def __repr__(self) -> str:
        return (
            f"TabularOracle(dataset={self._dataset.value!r}, data={str(self.root)!r}, "
            f"cells={NUM_CELLS}, classes={self.meta.num_classes}, "
            f"keys={len(self.grid.points)}, files_read={len(self.table.checksums())})"
        )


def _cell_numbers(values: np.ndarray | Sequence[int], what: str) -> np.ndarray:
    """``values`` as int64 NB201 indices or cell codes (``what``, plural), each a whole number in
    0..15624 (whole floats pass; booleans, fractions and text do not)."""
    import numpy as np

    array = np.asarray(values)
    if array.size and (array.dtype.kind == "b" or array.dtype.kind not in "iuf"):
        raise InvalidArchError(f"{what} must be whole numbers in 0..{NUM_CELLS - 1}, got {array.ravel()[0].item()!r}")
    if array.dtype.kind == "f":
        fractional = ~(np.isfinite(array) & (array == np.floor(array)))
        if fractional.any():
            raise InvalidArchError(f"{what} must be whole numbers in 0..{NUM_CELLS - 1}, "
                                   f"got {array[fractional].ravel()[0].item()!r}")
    array = array.astype(np.int64)
    outside = (array < 0) | (array >= NUM_CELLS)
    if outside.any():
        raise InvalidArchError(f"{what} must be in 0..{NUM_CELLS - 1}, got {int(array[outside].ravel()[0])}")
    return array
