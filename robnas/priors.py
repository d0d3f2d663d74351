"""Per-cell scores for searchers' priors and warm starts, resolved outside the searchers.

A searcher whose ``prior`` (predictor) or ``warmup`` (evolution, local search) names a measure
needs that measure's score of every cell, but searchers never read files or call oracles. This
module is the caller's side: :func:`cell_scores` turns a measure name into a ``(15625,)`` array
(one score per :attr:`Arch.code <robnas.arch.Arch.code>`, larger = more promising) and
:func:`provide_scores` hands it to the searcher. :func:`robnas.loop.run_search` calls it, so the
CLI, ``robnas compare`` and Python users get it alike.

Measures:

* ``params`` and ``flops``: the cost of every cell from :mod:`robnas.cost` (analytic, no torch;
  larger networks tend to be more accurate);
* a measure of :mod:`robnas.evaluation.measures` by name (``synflow``, ``nwot``, ...): its
  values cached in the results store by ``robnas measures compute -m NAME --archs all``
  (default settings: batch size 64, seed 0, at initialisation; the store in robnas' cache
  dir), read without torch; missing values are refused with the command that computes them;
* another table of the release: ``DATASET`` (the searched objective's values on that
  dataset, e.g. ``imagenet16-120`` for a CIFAR-10 search) or ``DATASET/OBJECTIVE`` (any
  accuracy objective there, e.g. ``cifar10/clean``), read from the run's data root: a transfer
  prior, the answers of a related search. The searched table itself (same dataset and
  objective) is refused: that would be the answers;
* a scores file: a path to a CSV or Parquet file with an ``index`` or ``nb201_index`` (NB201
  index) or ``arch`` (NB201 string) column (several: they must name the same cell in every row)
  and a ``score`` column (or exactly one other numeric
  column: ``representative`` and ``*_seconds`` timing columns do not count, so the output of
  ``robnas measures compute -m MEASURE -o FILE`` with one measure is a scores file). A listed
  cell keeps its score (a cell listed twice is refused); isomorphs are one network, so a cell
  left out takes the mean score of its class's listed members, and every class needs at least
  one.

A multi-objective search (:func:`robnas.multi_loop.run_multi_search`) takes one score column per
objective: :func:`objective_scores` resolves ``DATASET`` (another table of the release) into a
``(15625, k)`` array, each accuracy objective's values on that table and each cost objective's
exact cost on the searched dataset (:func:`robnas.cost.cost_arrays`: costs need no transfer),
every column oriented larger-is-better (minimised objectives negated). :func:`provide_scores`
picks it when the searched objective is a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from robnas.arch import NUM_CELLS, Arch
from robnas.errors import PriorError, RobnasError
from robnas.vocabulary import Dataset, parse_dataset

if TYPE_CHECKING:
    import pandas as pd

    from robnas.multi_objective import DirectedObjective
    from robnas.objective import Objective
    from robnas.oracle import Oracle

INDEX_COLUMNS = ("index", "nb201_index")
"""Columns that hold NB201 indices (``nb201_index`` is what robnas' own tables write)."""
NOT_SCORES = (*INDEX_COLUMNS, "arch", "representative")
"""Columns of a scores file that are never the score."""
COST_MEASURES = ("params", "flops")
"""Measures computed by :mod:`robnas.cost` (free, no torch)."""
FILE_SUFFIXES = (".csv", ".parquet")


def cell_scores(measure: str, oracle: Oracle, objective: Objective | str | None = None) -> np.ndarray:
    """The score of every cell under ``measure``, as a ``(15625,)`` array by ``Arch.code``.

    Args:
        measure: ``"params"``, ``"flops"``, a stored measure's name, ``DATASET[/OBJECTIVE]``
            or the path of a scores file (see the module docs).
        oracle: the run's oracle: its dataset picks the cost table, its NB201 index mapping
            reads ``index`` columns, its data root holds another dataset's table. Only its
            space metadata is used, never its values.
        objective: the searched objective (what ``DATASET`` alone stands for, and what a
            prior from the searched dataset must differ from).

    Raises:
        PriorError: unknown measure, unreadable file, missing columns or classes, a table
            that is not in the data root or is the searched table itself.
    """
    return _resolve(measure, oracle, objective)[0]


def prior_provenance(measure: str, oracle: Oracle, objective: Objective | str | None = None
                     ) -> tuple[np.ndarray, dict[str, object]]:
    """:func:`cell_scores` and where they came from, for a run record's ``prior`` entry:
    ``{"measure": ...}`` plus the dataset, objective and SHA-256 of every file read for a
    table, the SHA-256 of a scores file (``sha256``), or for a measure read from the results
    store the SHA-256 of its scores (``scores_sha256``, :func:`scores_sha256`), so a resume can
    refuse changed scores."""
    return _resolve(measure, oracle, objective)


def objective_scores(measure: str, oracle: Oracle,
                     objectives: Sequence[DirectedObjective | str] | str
                     ) -> tuple[np.ndarray, dict[str, object]]:
    """One score column per objective of a multi-objective search, and their provenance.

    Args:
        measure: ``DATASET``, another table of the release (e.g. ``imagenet16-120`` for a
            CIFAR-10 search): each accuracy objective's values there.
        oracle: the run's oracle (its dataset, data root and NB201 mapping; never its values).
        objectives: the searched objectives (texts such as ``["pgd@1/255", "params:min"]``).

    Returns:
        ``(scores, provenance)``: a ``(15625, k)`` array by :attr:`Arch.code` (column ``j``
        for objective ``j``, larger = better: minimised objectives negated; a cost objective
        takes the searched dataset's exact cost of each cell, :func:`robnas.cost.cost_arrays`)
        and the run record's ``prior`` entry: the measure, the dataset, the objectives and the
        SHA-256 of every table file read (cost columns read none).

    Raises:
        PriorError: a measure that is not a dataset of the release (``DATASET/OBJECTIVE`` names
            one objective, not one per objective), no accuracy objective, a table missing from
            the data root, or the searched table itself (the searched dataset with any of the
            searched accuracy objectives: those scores would be the answers).
    """
    from robnas.multi_objective import parse_objectives

    try:
        parsed = parse_objectives(objectives)
    except RobnasError as err:
        raise PriorError(f"prior {measure!r}: {err}") from None
    source = table_source(measure)
    if source is None or source[1] is not None:
        raise PriorError(f"prior {measure!r}: a multi-objective prior names another dataset of the "
                         f"release (DATASET: {', '.join(d.value for d in Dataset)}), whose table of "
                         "each searched objective it uses")
    if all(o.is_cost for o in parsed):
        raise PriorError(f"prior {measure!r}: the objectives {', '.join(map(str, parsed))} are all "
                         "costs, which are exact and free; a prior needs an accuracy objective")
    dataset = source[0]
    columns, checksums = [], {}
    for objective in parsed:
        if objective.is_cost:
            from robnas.cost import cost_arrays

            column = cost_arrays(oracle.dataset)[objective.name]
        else:
            column, provenance = _from_table(measure, dataset, objective.name, oracle, objective.name)
            checksums.update(provenance["checksums"])  # type: ignore[call-overload]
        columns.append(column if objective.maximize else -column)
    scores = np.stack(columns, axis=1)
    record: dict[str, object] = {"measure": measure, "dataset": dataset.value,
                                 "objectives": [str(o) for o in parsed],
                                 "checksums": dict(sorted(checksums.items()))}
    if any(o.is_cost for o in parsed):
        record["costs"] = f"robnas.cost on {oracle.dataset.value}"
    return scores, record


def table_source(measure: str) -> tuple[Dataset, str | None] | None:
    """``(dataset, objective or None)`` when ``measure`` names a table of the release
    (``DATASET`` or ``DATASET/OBJECTIVE``), else ``None``.

    >>> table_source("imagenet16-120/clean"), table_source("params"), table_source("runs/s.csv")
    ((<Dataset.IMAGENET16_120: 'ImageNet16-120'>, 'clean'), None, None)
    """
    if Path(measure).suffix.lower() in FILE_SUFFIXES:
        return None
    head, slash, rest = str(measure).partition("/")
    try:
        dataset = parse_dataset(head)
    except RobnasError:
        return None
    return dataset, (rest.strip() or None) if slash else None


def _resolve(measure: str, oracle: Oracle, objective: Objective | str | None
             ) -> tuple[np.ndarray, dict[str, object]]:
    source = table_source(measure)
    if source is not None:
        return _from_table(measure, *source, oracle, objective)
    scores = _named_scores(measure, oracle)
    provenance: dict[str, object] = {"measure": measure}
    if Path(measure).suffix.lower() in FILE_SUFFIXES:
        from robnas.benchmark.cache import sha256_of

        provenance["sha256"] = sha256_of(Path(measure))
    elif measure not in COST_MEASURES:  # the results store's values, which a recompute replaces
        provenance["scores_sha256"] = scores_sha256(scores)
    return scores, provenance


def scores_sha256(scores: np.ndarray) -> str:
    """Hex SHA-256 of a score array's values (little-endian float64, in order): what a run
    record keeps of scores read from the results store, which has no file of its own to hash.

    >>> scores_sha256(np.zeros(2))[:12]
    '374708fff771'
    """
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(scores, dtype="<f8").tobytes()).hexdigest()


def _from_table(measure: str, dataset: Dataset, named: str | None, oracle: Oracle,
                searched: Objective | str | None) -> tuple[np.ndarray, dict[str, object]]:
    """The values of an objective on ``dataset``'s table in the run's data root, by code."""
    from robnas.objective import Objective

    if named is None and searched is None:
        raise PriorError(f"prior {measure!r} names a dataset but no objective; give "
                         f"{measure}/OBJECTIVE (e.g. {measure}/clean)")
    try:
        objective = Objective.parse(named if named is not None else searched)
    except RobnasError as err:
        raise PriorError(f"prior {measure!r}: {err}") from None
    if objective.is_cost:
        raise PriorError(f"prior {measure!r}: {objective} is a cost; use the measure "
                         f"{objective.key} (larger = more promising) instead")
    if (searched is not None and dataset == oracle.dataset
            and str(objective) == str(Objective.parse(searched))):
        raise PriorError(f"prior {measure!r} is the table being searched ({objective} on "
                         f"{dataset.value}): its scores would be the answers; name another "
                         "dataset or objective")
    from robnas.benchmark import TabularOracle

    try:
        table = TabularOracle(dataset, data=getattr(oracle, "root", None))
        scores = np.asarray(table.values_by_code(np.arange(NUM_CELLS), objective), dtype=float)
    except RobnasError as err:
        raise PriorError(f"prior {measure!r}: {str(err).splitlines()[0]}") from None
    provenance = table.provenance()
    return scores, {"measure": measure, "dataset": dataset.value, "objective": str(objective),
                    "checksums": provenance["checksums"]}


def _named_scores(measure: str, oracle: Oracle) -> np.ndarray:
    """Scores of a cost measure, a stored measure or a scores file."""
    if measure in COST_MEASURES:
        from robnas.cost import cost_arrays

        return cost_arrays(oracle.dataset)[measure]
    from robnas.evaluation.measures._registry import MEASURES

    if measure in MEASURES:
        return _from_store(measure, oracle)
    path = Path(measure)
    if path.suffix.lower() not in FILE_SUFFIXES:
        stored = ", ".join(m for m in MEASURES if m not in COST_MEASURES)
        raise PriorError(f"unknown measure {measure!r}; valid: {', '.join(COST_MEASURES)}, a measure "
                         f"computed by robnas measures compute ({stored}), another table of the "
                         f"release (DATASET or DATASET/OBJECTIVE: {', '.join(d.value for d in Dataset)}) "
                         f"or a scores file ({', '.join(FILE_SUFFIXES)})")
    import pandas as pd

    try:
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise PriorError(f"cannot read scores file {path}: {err}") from None
    return _from_frame(frame, _score_column(frame, path), oracle, str(path))


def provide_scores(searcher: object, oracle: Oracle,
                   objective: Objective | str | Sequence[DirectedObjective | str] | None = None
                   ) -> dict[str, object] | None:
    """Give ``searcher`` the scores of the measure it names (``prior``/``warmup``), if any.

    ``objective`` is the searched objective; a list of them (or a comma-separated label such as
    ``pgd@1/255,clean``) is a multi-objective search, whose searcher gets one column per
    objective (:func:`objective_scores`).

    Returns:
        The scores' provenance (:func:`prior_provenance` or :func:`objective_scores`), ``None``
        without a measure.
    """
    from robnas.multi_objective import is_multi
    from robnas.objective import Objective
    from robnas.searchers import wanted_measure

    measure = wanted_measure(searcher)
    if measure is None:
        return None
    several = (isinstance(objective, str) and is_multi(objective)) or (
        isinstance(objective, (list, tuple)) and not isinstance(objective, Objective))
    if several:
        scores, provenance = objective_scores(measure, oracle, objective)  # type: ignore[arg-type]
    else:
        scores, provenance = prior_provenance(measure, oracle, objective)  # type: ignore[arg-type]
    searcher.use_scores(scores)  # type: ignore[attr-defined]
    return provenance


def _from_store(measure: str, oracle: Oracle) -> np.ndarray:
    """``measure``'s values in the default results store (``robnas measures compute``'s
    cache), refused in one line naming the command that computes them when they are missing."""
    from robnas.evaluation.measures._load import load_measures
    from robnas.evaluation.measures._registry import MeasureError
    from robnas.evaluation.measures._store import MeasureStore

    dataset = oracle.dataset.value
    hint = f"compute them with: robnas measures compute -m {measure} --archs all --dataset {dataset}"
    store = MeasureStore()
    if not store.path.is_file():  # reading must not create an empty store
        raise PriorError(f"no {measure} scores for {dataset}: no results store at {store.path}; {hint}")
    try:
        frame = load_measures(store.path, [measure], dataset=dataset)
    except (MeasureError, RobnasError):
        raise PriorError(f"no {measure} scores for {dataset} (batch size 64, seed 0, at "
                         f"initialisation) in the results store {store.path}; {hint}") from None
    frame = frame[np.isfinite(frame[measure].to_numpy())].reset_index()
    try:
        return _from_frame(frame, measure, oracle, f"{measure} in the results store {store.path}")
    except PriorError as err:
        raise PriorError(f"{err}; {hint}") from None


def _score_column(frame: pd.DataFrame, path: Path) -> str:
    if "score" in frame.columns:
        return "score"
    numeric = [c for c in frame.select_dtypes("number").columns
               if c not in NOT_SCORES and not str(c).endswith("_seconds")]
    if len(numeric) != 1:
        raise PriorError(f"scores file {path} needs a 'score' column (or exactly one numeric "
                         f"column besides index/arch); it has {list(frame.columns)}")
    return str(numeric[0])


def _whole(value: object, row: int) -> int:
    """An index column's ``value`` as an int; 0.9 is no NB201 index (``int()`` would read 0)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not float(value).is_integer():
        raise ValueError(f"index {value!r} (row {row}) is not a whole number")
    return int(value)


def _check_same_cells(frame: pd.DataFrame, codes: list[int], named_by: str, oracle: Oracle, what: str) -> None:
    """Refuse a row whose other cell column (``nb201_index``, ``arch``) names another cell than
    ``named_by``, the column the scores go by: it may hold row numbers (``reset_index()``
    writes them as ``index``)."""
    for other in (c for c in (*INDEX_COLUMNS, "arch") if c in frame.columns and c != named_by):
        for row, (code, key) in enumerate(zip(codes, frame[other], strict=True), start=1):
            cell = Arch.from_string(str(key)) if other == "arch" else oracle.parse_arch(_whole(key, row))
            if cell.code != code:
                raise PriorError(f"{what}: row {row}: {named_by} names {Arch.from_code(code).to_string()}, "
                                 f"its {other} {cell.to_string()}; the columns must name the same cell "
                                 "(or give one of them)")


def _from_frame(frame: pd.DataFrame, column: str, oracle: Oracle, what: str) -> np.ndarray:
    from robnas.isomorphism import class_code_array

    try:
        index_column = next((c for c in INDEX_COLUMNS if c in frame.columns), None)
        if index_column is not None:
            codes = [oracle.parse_arch(_whole(i, row)).code for row, i in enumerate(frame[index_column], 1)]
            _check_same_cells(frame, codes, index_column, oracle, what)
        elif "arch" in frame.columns:
            codes = [Arch.from_string(str(a)).code for a in frame["arch"]]
        else:
            raise PriorError(f"{what}: needs an 'index', 'nb201_index' or 'arch' column; "
                             f"it has {list(frame.columns)}")
    except (RobnasError, ValueError) as err:
        if isinstance(err, PriorError):
            raise
        raise PriorError(f"{what}: {err}") from None
    try:
        scores = frame[column].to_numpy(dtype=float)
    except (TypeError, ValueError):
        import pandas as pd

        bad = frame[column][pd.to_numeric(frame[column], errors="coerce").isna()]
        raise PriorError(f"{what}: score {bad.iloc[0]!r} (row {int(bad.index[0]) + 1}) is not a "
                         "number") from None
    if not np.isfinite(scores).all():
        raise PriorError(f"{what}: {int((~np.isfinite(scores)).sum())} scores are not finite")
    unique, first_row = np.unique(codes, return_index=True)
    if unique.size < len(codes):  # which of two scores is meant is not ours to guess
        twice = np.setdiff1d(np.arange(len(codes)), first_row)[0]
        earlier = codes.index(codes[twice])
        raise PriorError(f"{what}: cell {Arch.from_code(codes[twice]).to_string()} is listed twice "
                         f"(rows {earlier + 1} and {int(twice) + 1}); give each cell one score")
    classes = class_code_array()
    sums = np.bincount(classes[codes], weights=scores, minlength=NUM_CELLS)
    counts = np.bincount(classes[codes], minlength=NUM_CELLS)
    missing = np.setdiff1d(np.unique(classes), np.flatnonzero(counts))
    if missing.size:
        raise PriorError(f"{what}: no score for {missing.size} of {np.unique(classes).size} classes "
                         f"(e.g. {Arch.from_code(int(missing[0])).to_string()})")
    out = sums[classes] / counts[classes]
    out[codes] = scores  # a listed cell keeps its own score
    return out
