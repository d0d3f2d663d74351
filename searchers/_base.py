"""The searcher protocol and the few helpers every searcher shares.

A searcher proposes cells (:meth:`Searcher.ask`) and learns their values
(:meth:`Searcher.tell`). It never calls an oracle and never reads files, so it cannot tell
tabular from live mode; :func:`robnas.loop.run_search` is the only place that joins a searcher
and an oracle.

The contract the loop relies on (checked for every searcher by :mod:`robnas.searchers.testing`):

* Values are maximised (every robnas objective is an accuracy; larger is better).
* Multi-objective searchers (:data:`robnas.searchers.MULTI_OBJECTIVE_SEARCHERS`, driven by
  :func:`robnas.multi_loop.run_multi_search`) are told a tuple of floats, one per objective,
  every component larger-is-better (the loop negates minimised objectives such as ``params``).
* ``ask()`` returns an :class:`~robnas.arch.Arch`; the loop answers every ``ask()`` with exactly
  one ``tell()`` of that cell. With one worker the tell comes before the next ask; with
  ``workers=N`` (:func:`robnas.loop.run_search`) up to N proposals are *pending* (asked, not
  yet told) and their tells come in the order the evaluations finish, which need not be the
  order of the asks. A searcher must accept that, must not propose a pending class again (the
  loop would answer it when the pending one finishes, at no cost, but it wastes a proposal),
  and documents how it chooses while results are pending: random search and evolution treat
  pending cells as seen; local search walks on through the neighbourhood; Optuna's TPE uses a
  constant liar (``constant_liar=True``); the predictor excludes pending classes from the
  candidates and proposes the next ones of its current batch; the multi-objective searchers
  treat pending cells as seen (NSGA-II and MOTPE as running trials).
* ``tell()`` may also be called with a cell the searcher did not ask for (the loop's
  anti-stall guard, or a resumed run whose replay diverged): searchers must accept it and
  simply learn from it.
* A proposal isomorphic to an already told cell is allowed: it costs no budget and the loop
  answers it with the known value. Searchers should still avoid it where they can, and must
  not get stuck proposing known cells.
* Constructors follow scikit-learn: every hyperparameter an explicit keyword with a default,
  stored unchanged as an attribute of the same name, no work in ``__init__``. ``seed`` feeds
  a private :class:`numpy.random.Generator` created on first use; nothing touches global RNGs.
* Hyperparameters are checked in one pure place per searcher, its ``validate_params()``
  (composed from :func:`check_int`, :func:`check_choice` and :func:`check_seed`), which
  raises :class:`~robnas.errors.InvalidParameterError` (a ``RobnasError`` and a
  ``ValueError``) without building anything; ``ask()`` calls it first, and the CLI calls it
  before a run record is created.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Collection, Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robnas.arch import CLASS_COUNT, NUM_CELLS, NUM_EDGES, NUM_OPS, Arch
from robnas.errors import InvalidParameterError, InvalidSearcherError, ScoresNotGivenError
from robnas.isomorphism import class_code, class_code_array

_REJECTION_TRIES = 256
MAX_SEED = 2**32 - 1
"""Largest seed accepted (Optuna's samplers seed NumPy's legacy ``RandomState``, which stops here)."""
_KEYWORD_KINDS = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@runtime_checkable
class Searcher(Protocol):
    """What the search loop needs from a searcher."""

    seed: int | None

    def ask(self) -> Arch:
        """Propose the next cell to evaluate."""
        ...

    def tell(self, arch: Arch, value: float) -> None:
        """Learn that ``arch`` has ``value`` (larger is better)."""
        ...


def get_params(searcher: object) -> dict[str, Any]:
    """The constructor keywords of ``searcher`` with their current values (as in scikit-learn).

    >>> from robnas.searchers import RegularizedEvolution
    >>> get_params(RegularizedEvolution(sample_size=5, seed=3))
    {'population_size': 30, 'sample_size': 5, 'warmup': None, 'design': 'random', 'seed': 3}
    """
    signature = inspect.signature(type(searcher).__init__)
    return {
        name: getattr(searcher, name)
        for name, parameter in signature.parameters.items()
        if name != "self" and parameter.kind in _KEYWORD_KINDS
    }


def check_param_names(searcher_class: type, name: str, params: Iterable[str], *,
                      set_apart: Collection[str] = (), none: str = "none") -> None:
    """Refuse the keywords in ``params`` that ``searcher_class`` (called ``name``) does not take,
    before it is built: a typo would otherwise be a bare ``TypeError``, or drop silently out of a
    comparison's labels. ``set_apart`` are keywords the caller gives by an option of its own (the
    CLI's ``--seed``, a comparison's seeds): left out of the valid ones listed, and refused in
    ``params``. ``none`` is what the listing says when nothing is left.

    >>> from robnas.searchers import RandomSearch
    >>> check_param_names(RandomSearch, "random", ["sample_size"], set_apart=["seed"])
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidSearcherError: searcher random has no parameter 'sample_size'; valid: none

    Raises:
        InvalidSearcherError: naming the first unknown keyword (sorted) and every valid one, in
            the constructor's order.
    """
    valid = [key for key, parameter in inspect.signature(searcher_class.__init__).parameters.items()
             if key != "self" and parameter.kind in _KEYWORD_KINDS and key not in set_apart]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise InvalidSearcherError(f"searcher {name} has no parameter {unknown[0]!r}; "
                                   f"valid: {', '.join(valid) if valid else none}")


def default_params(searcher_class: type) -> dict[str, Any]:
    """What a run record written before a parameter existed counts it as on resume: the
    constructor defaults of ``searcher_class``, except where the class's ``PARAMS_BEFORE_ADDED``
    names the behaviour in effect before the parameter was added (a default that is not that
    behaviour, e.g. a feature made the default later); nothing for a class that needs arguments.

    >>> from robnas.searchers import PredictorSearch
    >>> default_params(PredictorSearch)["twins"], PredictorSearch().twins
    (False, True)
    """
    try:
        defaults = get_params(searcher_class())
    except TypeError:
        return {}
    return {**defaults, **getattr(searcher_class, "PARAMS_BEFORE_ADDED", {})}


def params_repr(searcher: object) -> str:
    """``ClassName(param=value, ...)`` with the parameters that differ from their defaults.

    This is how scikit-learn shows an estimator (``print_changed_only``); every searcher's
    ``__repr__`` is this, so a repr can be pasted back as the constructor call.

    >>> from robnas.searchers import RegularizedEvolution
    >>> params_repr(RegularizedEvolution(population_size=50, seed=0))
    'RegularizedEvolution(population_size=50, seed=0)'
    >>> params_repr(RegularizedEvolution())
    'RegularizedEvolution()'
    """
    signature = inspect.signature(type(searcher).__init__)
    changed = [
        f"{name}={value!r}"
        for name, value in get_params(searcher).items()
        if not _same(value, signature.parameters[name].default)
    ]
    return f"{type(searcher).__name__}({', '.join(changed)})"


def _same(value: Any, default: Any) -> bool:
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):  # e.g. an array-valued parameter
        return False


def random_unseen(rng: np.random.Generator, seen: set[int]) -> Arch:
    """A uniformly random cell whose isomorphism class is not in ``seen`` (class codes).

    Draws cells uniformly (as random search on NB201 does) and rejects known classes; when
    that keeps failing (most classes seen) it draws uniformly among the remaining cells.

    Raises:
        ValueError: if every class is in ``seen``.
    """
    for _ in range(_REJECTION_TRIES):
        arch = Arch.random(rng)
        if class_code(arch) not in seen:
            return arch
    classes = class_code_array()
    free = np.flatnonzero(~np.isin(classes, np.fromiter(seen, dtype=np.int64, count=len(seen))))
    if free.size == 0:
        raise ValueError(f"all isomorphism classes of the {NUM_CELLS} cells have been seen")
    return Arch.from_code(int(rng.choice(free)))


def orthogonal_array_cells(rng: np.random.Generator) -> list[Arch]:
    """The 25 cells of a randomised orthogonal array OA(25, 6, 5, 2), in random order.

    Every pair of edges shows every pair of operations exactly once (strength 2), so 25 cells
    cover every one- and two-edge pattern of the space evenly, where 25 random cells leave some
    patterns out and repeat others: the classical design for categorical factors. Built by
    scipy's orthogonal-array Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube` with
    ``strength=2``: 25 = 5**2 rows, 6 = 5 + 1 columns, each column's levels scrambled), each
    coordinate's stratum read as the edge's operation; the rows are shuffled, so any prefix is
    a random part of the design. Two rows may be cells of one isomorphism class.
    """
    from scipy.stats import qmc

    sample = qmc.LatinHypercube(d=NUM_EDGES, strength=2, rng=rng).random(NUM_OPS**2)
    ops = np.floor(sample * NUM_OPS).astype(np.int64)[rng.permutation(NUM_OPS**2)]
    weights = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1, dtype=np.int64)
    return [Arch.from_code(int(code)) for code in ops @ weights]


def next_queued(queue: deque[int], seen: set[int]) -> Arch | None:
    """Pop class codes off ``queue`` until one not in ``seen``; that class's cell, or ``None``
    when the queue runs out (model-based searchers then refit and queue a new batch).

    >>> queue = deque([5, 7])
    >>> next_queued(queue, {5}).code, queue
    (7, deque([]))
    """
    while queue:
        code = queue.popleft()
        if code not in seen:
            return Arch.from_code(code)
    return None


WARMUP_POOL = 1000
"""Random cells (distinct classes) a warm start ranks by score (after Abdelfattah et al., 2021,
"Zero-cost proxies for lightweight NAS", whose warm-up ranks a random pool by a proxy)."""
SCORE_PARAMS = ("prior", "warmup")
"""Constructor keywords that name a per-cell measure the searcher needs scores of."""


def wanted_measure(searcher: object) -> str | None:
    """The measure ``searcher`` needs per-cell scores of (its ``prior`` or ``warmup``), if any.

    Such a searcher learns the scores through ``searcher.use_scores(scores)``; resolving the
    name to scores is the caller's job (:func:`robnas.priors.provide_scores`), since searchers
    never read files.

    >>> from robnas.searchers import RegularizedEvolution
    >>> wanted_measure(RegularizedEvolution(warmup="params")), wanted_measure(RegularizedEvolution())
    ('params', None)
    """
    for name in SCORE_PARAMS:
        value = getattr(searcher, name, None)
        if value is not None:
            return str(value)
    return None


def check_scores(scores: np.ndarray) -> np.ndarray:
    """``scores`` as a read-only float ``(15625,)`` array (one per :attr:`Arch.code`), checked.

    Raises:
        ValueError: wrong shape, or a value that is not finite.
    """
    array = np.array(scores, dtype=float)
    if array.shape != (NUM_CELLS,):
        raise ValueError(f"scores must have one value per cell, shape ({NUM_CELLS},), got {array.shape}")
    return _finite_read_only(array)


def _finite_read_only(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only, refused if a value is not finite."""
    if not np.isfinite(array).all():
        raise ValueError(f"scores must be finite; {int((~np.isfinite(array)).sum())} are not")
    array.setflags(write=False)
    return array


def standardised(columns: np.ndarray) -> np.ndarray:
    """Each column shifted to mean 0 and scaled to standard deviation 1 (a constant column is
    only shifted): extra surrogate features on comparable scales.

    >>> standardised(np.array([[1.0, 5.0], [3.0, 5.0]])).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    spread = columns.std(axis=0)
    return (columns - columns.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def warm_start(
    rng: np.random.Generator, scores: np.ndarray, seen: set[int], count: int, pool: int = WARMUP_POOL
) -> list[Arch]:
    """The ``count`` best-scored of ``pool`` random cells of distinct unseen classes, best first.

    A warm start from a cheap per-cell measure: the first cells a searcher proposes are the best
    of a random pool by that measure instead of plain random cells.
    """
    classes = class_code_array()
    drawn: dict[int, Arch] = {}
    known, total = set(seen), CLASS_COUNT
    while len(drawn) < pool and len(known) < total:
        arch = random_unseen(rng, known)
        known.add(class_code(arch))
        drawn[class_code(arch)] = arch
    ranked = sorted(drawn.values(), key=lambda a: (-scores[a.code], classes[a.code]))
    return ranked[:count]


def check_score_columns(scores: np.ndarray) -> np.ndarray:
    """Multi-objective scores as a read-only float ``(15625, k)`` array (one row per
    :attr:`Arch.code`, one column per objective, larger = better), checked; a ``(15625,)``
    array is one column.

    Raises:
        ValueError: wrong shape, or a value that is not finite.
    """
    array = np.array(scores, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] != NUM_CELLS or array.shape[1] < 1:
        raise ValueError(f"scores must have one row per cell and one column per objective, "
                         f"shape ({NUM_CELLS}, k), got {array.shape}")
    return _finite_read_only(array)


def front_order(scores: np.ndarray, count: int) -> list[int]:
    """The ``count`` classes (class codes) a multi-objective warm start proposes first: the
    prior's best non-dominated fronts (:func:`robnas.pareto.non_dominated_ranks`, every column
    larger-is-better), front by front; within a front, spread out: the member best on the first
    column, then repeatedly the member farthest (Euclidean, each column scaled by its range over
    the front) from those already taken, so any prefix covers the front from end to end.
    Deterministic (ties: the smaller class code).

    >>> scores = np.zeros((NUM_CELLS, 2))  # the last four cells are classes of their own
    >>> scores[15621:] = (0.6, 0.6), (0.5, 0.5), (0.0, 1.0), (1.0, 0.0)
    >>> front_order(scores, 3), front_order(scores, 4)  # 15622 is on the second front
    ([15624, 15623, 15621], [15624, 15623, 15621, 15622])
    """
    from robnas.pareto import non_dominated_ranks

    classes = np.unique(class_code_array())
    points = np.asarray(scores, dtype=float)[classes]
    ranks = non_dominated_ranks(points, [True] * points.shape[1])
    chosen: list[int] = []
    for rank in np.unique(ranks):
        if len(chosen) >= count:
            break
        members = np.flatnonzero(ranks == rank)  # sorted by class code
        front = points[members]
        span = front.max(axis=0) - front.min(axis=0)
        scaled = front / np.where(span > 0, span, 1.0)
        taken = [int(np.argmax(front[:, 0]))]  # argmax: the first (smallest code) of ties
        nearest = np.linalg.norm(scaled - scaled[taken[0]], axis=1)
        while len(taken) < min(len(members), count - len(chosen)):
            nearest[taken] = -1.0
            pick = int(np.argmax(nearest))
            taken.append(pick)
            nearest = np.minimum(nearest, np.linalg.norm(scaled - scaled[pick], axis=1))
        chosen += [int(classes[members[i]]) for i in taken]
    return chosen[:count]


# -- parameter validation: pure checks each searcher's ``validate_params`` composes ------------
def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is an ``int`` in ``low..high``.

    Floats (even ``30.0``) and booleans are refused: a count must be recorded as an integer.

    >>> check_int("population_size", 1e9, 1, 6466)
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: population_size must be an integer in 1..6466, got 1000000000.0 (float)
    """
    span = f"in {low}..{high}" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(
            f"{name} must be an integer {span}, got {value!r} ({type(value).__name__})"
        )
    if value < low or (high is not None and value > high):
        raise InvalidParameterError(f"{name} must be an integer {span}, got {value}")


def check_float(name: str, value: object, low: float, high: float | None = None, *,
                low_open: bool = False) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is a finite real number in range.

    ``low`` is included unless ``low_open``; ``high`` (if given) is included. Booleans are refused.

    >>> check_float("ridge", 0.0, 0.0, low_open=True)
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: ridge must be a number > 0.0, got 0.0
    """
    lower = f"> {low}" if low_open else f">= {low}"
    span = f"{lower} and <= {high}" if high is not None else lower
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(
            f"{name} must be a number {span}, got {value!r} ({type(value).__name__})"
        )
    number = float(value)
    if (not np.isfinite(number) or number < low or (low_open and number == low)
            or (high is not None and number > high)):
        raise InvalidParameterError(f"{name} must be a number {span}, got {value}")


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


DESIGNS = ("random", "orthogonal")
"""Where a searcher's model-free cells come from: uniformly random unseen classes; or first the
25 cells of a randomised orthogonal array (:func:`orthogonal_array_cells`), then random ones."""


def check_design(design: object, warmup: str | None) -> None:
    """Refuse a ``design`` not in :data:`DESIGNS`, or ``"orthogonal"`` together with a
    ``warmup`` measure (both would choose the first cells).

    >>> check_design("orthogonal", "synflow")
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: design=orthogonal and warmup=synflow both pick the first cells; give one
    """
    check_choice("design", design, DESIGNS)
    if design == "orthogonal" and warmup is not None:
        raise InvalidParameterError(f"design=orthogonal and warmup={warmup} both pick the first cells; "
                                    "give one")


def check_bool(name: str, value: object) -> None:
    """Refuse anything but ``True`` or ``False`` (``--param NAME=true``); not 0/1 or text.

    >>> check_bool("twins", "yes")
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: twins must be true or false, got 'yes'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be true or false, got {value!r}")


def check_seed(seed: object) -> None:
    """Raise :class:`InvalidParameterError` unless ``seed`` is ``None`` or an int in 0..2**32-1."""
    if seed is not None:
        check_int("seed", seed, 0, MAX_SEED)


def check_measure(name: str, value: object, scores: np.ndarray | None) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is ``None``, or a measure name whose
    scores were handed over (``scores``, set by the searcher's ``use_scores``).

    Which names exist is the caller's business (:func:`robnas.priors.cell_scores` resolves them,
    since searchers never read files); a searcher only insists on having the scores.

    >>> check_measure("warmup", "params", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    robnas.errors.ScoresNotGivenError: warmup='params' needs its scores: pass them with use_scores() ...
    """
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError(
            f"{name} must be a measure name (params, flops, DATASET[/OBJECTIVE] or a scores file "
            f".csv/.parquet), got {value!r}"
        )
    if scores is None:
        raise ScoresNotGivenError(
            f"{name}={value!r} needs its scores: pass them with use_scores() "
            "(robnas.priors.provide_scores does)"
        )


MAX_COUNT = CLASS_COUNT
"""Upper bound of every count a searcher takes (population, random starts): no search can
evaluate more distinct classes than the space has."""


def validate_params(searcher: object) -> None:
    """Check ``searcher``'s hyperparameters without running it (pure: no study, no RNG).

    Calls the searcher's own ``validate_params()`` where it has one (every robnas searcher
    does); a searcher of another library without it passes unchecked.

    Raises:
        InvalidParameterError: a hyperparameter outside what the searcher accepts; the message
            names it and the valid range or choices.

    >>> from robnas.searchers import LocalSearch
    >>> validate_params(LocalSearch(num_init=0))
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: num_init must be an integer in 1..6466, got 0
    """
    check = getattr(searcher, "validate_params", None)
    if callable(check):
        check()
