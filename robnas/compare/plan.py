"""Planning a comparison: which runs, and the plan file that lets a comparison resume.

:func:`plan_runs` expands searchers x objectives x datasets x seeds into :class:`RunSpec` s;
:func:`load_oracles` loads one tabular oracle per dataset and validates every objective on it,
so a bad plan fails before anything is written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robnas.errors import ComparisonError

if TYPE_CHECKING:
    from robnas.benchmark import TabularOracle

PLAN_FILE = "comparison.json"
RUNS_DIR = "runs"
FIGURES_DIR = "figures"


NOT_LABELLED = ("seed", "storage", "study_name")
"""Searcher keywords that never enter a label: the seed, and where a study is kept."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison: a searcher (with hyperparameters) and a seed, on an objective
    and dataset.

    ``params`` holds the searcher's keywords that differ from its defaults, in constructor
    order (:func:`searcher_params`); ``label`` names the searcher with them, as the tables
    and figures show it.
    """

    searcher: str
    objective: str
    dataset: str
    seed: int
    budget: int
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """``re``, or ``re:warmup=params`` with hyperparameters (:func:`searcher_label`)."""
        return searcher_label(self.searcher, dict(self.params))

    @property
    def run_id(self) -> str:
        """A stable folder name, so a resumed comparison finds its runs again."""
        objective = self.objective.replace("/", "_").replace(",", "+").replace(":", "-")
        label = re.sub(r"[^A-Za-z0-9_.+-]", "_", self.label.replace(":", "-", 1).replace(",", "+"))
        return f"{self.dataset}-{objective}-{label}-s{self.seed:03d}"


def searcher_params(name: str, params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The ``params`` of searcher ``name`` that differ from its defaults, in constructor order
    (the seed and an Optuna storage left out): what tells two settings of a searcher apart.

    >>> searcher_params("re", {"sample_size": 10, "population_size": 20, "seed": 3})
    (('population_size', 20),)
    """
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, SEARCHERS, get_params

    cls = SEARCHERS.get(name) or MULTI_OBJECTIVE_SEARCHERS.get(name)
    if cls is None:
        return tuple((k, v) for k, v in params.items() if k not in NOT_LABELLED)
    defaults = get_params(cls())
    return tuple((key, params[key]) for key in defaults
                 if key in params and key not in NOT_LABELLED and params[key] != defaults[key])


def searcher_label(name: str, params: Mapping[str, Any]) -> str:
    """``name``, followed by ``:key=value,...`` for the ``params`` that differ from the
    searcher's defaults (:func:`searcher_params`): the searcher's name in tables and figures.

    >>> searcher_label("re", {"warmup": "params", "seed": 0}), searcher_label("re", {"seed": 0})
    ('re:warmup=params', 're')
    """
    given = searcher_params(name, params)
    if not given:
        return name
    return f"{name}:" + ",".join(f"{key}={_text(value)}" for key, value in given)


def config_label(searcher: Any) -> str:
    """The :func:`searcher_label` of a run record's ``config["searcher"]`` entry (a name, or
    ``{"name": ..., "params": {...}}``): how every comparison table and figure names the run.

    >>> config_label({"name": "pls", "params": {"variant": "full", "seed": 1}}), config_label("re")
    ('pls:variant=full', 're')
    """
    if not isinstance(searcher, dict):
        return str(searcher)
    name = str(searcher["name"])
    params = searcher.get("params")
    return searcher_label(name, params) if isinstance(params, dict) else name


def _text(value: Any) -> str:
    """A parameter value as ``--param`` reads it back (``true``, ``none``, ``0.5``, ``best``)."""
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return str(value)


def plan_runs(
    searchers: Sequence[str | tuple[str, Mapping[str, Any]]],
    objectives: Sequence[str],
    datasets: Sequence[str],
    seeds: Iterable[int],
    budget: int,
) -> list[RunSpec]:
    """Every (searcher, objective, dataset, seed) combination, validated.

    A searcher is its registry name, or ``(name, params)`` for a setting of its
    hyperparameters (keywords equal to the defaults are dropped, so ``("re", {})`` and ``"re"``
    are one searcher; two settings of one searcher are two searchers, labelled by
    :func:`searcher_label`). Whether the params are valid is the searcher's
    ``validate_params``' business, checked here (a ``prior``/``warmup`` measure is resolved
    when the runs start).

    Objective and dataset texts are canonicalised (``PGD@1/255`` -> ``pgd@1/255``); whether
    the table holds the objective is checked when the oracles load (:func:`run_comparison`).
    An objective group (``pgd@1/255,clean``: two or three objectives, see
    :mod:`robnas.multi_objective`) makes a multi-objective comparison, whose searchers come
    from :data:`~robnas.searchers.MULTI_OBJECTIVE_SEARCHERS`; a plan holds groups only or
    single objectives only.

    Raises:
        ComparisonError: unknown searcher, an empty list, or a searcher (setting), objective,
            dataset or seed given twice (also spelt apart: ``PGD@1/255`` and ``pgd@1/255``).
        InvalidSearcherError: a keyword the searcher does not take.
        InvalidParameterError: a string where a list belongs, a seed not in 0..2**32-1, a budget
            not in 1..6466 (integers), or a value the searcher's ``validate_params`` refuses.
        InvalidObjectiveError: an objective that does not parse.
    """
    from robnas.multi_objective import is_multi
    from robnas.objective import Objective
    from robnas.searchers import MULTI_OBJECTIVE_SEARCHERS, SEARCHERS, other_kind
    from robnas.vocabulary import name_list, parse_dataset

    searchers, objectives, datasets = (name_list(searchers, "searchers"), name_list(objectives, "objectives"),
                                       name_list(datasets, "datasets"))
    multi = [is_multi(o) for o in objectives]
    if any(multi) and not all(multi):
        raise ComparisonError("a comparison is single- or multi-objective: give every -O as a "
                              "group (pgd@1/255,clean) or use --multi, or none")
    registry = MULTI_OBJECTIVE_SEARCHERS if any(multi) else SEARCHERS
    settings = [(s, {}) if isinstance(s, str) else (s[0], dict(s[1])) for s in searchers]
    unknown = [name for name, _ in settings if name not in registry]
    if unknown:
        wrong = other_kind(unknown[0], multi_objective=any(multi))
        if wrong is not None:  # re in a multi-objective comparison, hvi in a single-objective one
            raise ComparisonError(wrong)
        kind = "multi-objective searcher" if any(multi) else "searcher"
        raise ComparisonError(f"unknown {kind} {unknown[0]!r}; choose from {', '.join(registry)}")
    seed_list = name_list(seeds, "seeds")
    for what, items in (("searchers", searchers), ("objectives", objectives),
                        ("datasets", datasets), ("seeds", seed_list)):
        if not items:
            raise ComparisonError(f"a comparison needs at least one of {what}")
    from robnas.loop import check_budget
    from robnas.searchers._base import check_seed

    for seed in seed_list:
        check_seed(seed)

    budget = check_budget(budget)
    for name, params in settings:
        _check_params(registry, name, params)
    parsed = [Objective.parse(o) for o in objectives if not is_multi(o)]
    costs = [str(o) for o in parsed if o.is_cost]
    if costs:
        raise ComparisonError(f"{costs[0]} is a cost, not an objective to maximise; compare on "
                              "accuracies, or give it in an objective group (pgd@1/255,params)")
    canonical_objectives = _distinct([canonical_objective(o) for o in objectives], str, "objective")
    canonical_datasets = _distinct([parse_dataset(d).value for d in datasets], str, "dataset")
    chosen = _distinct([(name, searcher_params(name, params)) for name, params in settings],
                       lambda item: searcher_label(item[0], dict(item[1])), "searcher",
                       "parameters at their defaults are dropped" if len(set(map(repr, settings))) == len(settings)
                       else "")
    _distinct([int(seed) for seed in seed_list], str, "seed")
    return [
        RunSpec(name, objective, dataset, int(seed), int(budget), params)
        for dataset in canonical_datasets
        for objective in canonical_objectives
        for name, params in chosen
        for seed in seed_list
    ]


STORAGE_IN_A_COMPARISON = ("storage is for one search (robnas search --storage URL); a comparison's "
                           "runs keep their Optuna studies in memory and their trials in the run folders")
"""Why an Optuna ``storage`` is refused in a comparison's searcher settings."""


def _check_params(registry: Mapping[str, type], name: str, params: Mapping[str, Any]) -> None:
    """Refuse keywords searcher ``name`` does not take (a typo would otherwise fall silently
    out of the labels and the runs) and values its ``validate_params`` refuses; a
    ``prior``/``warmup`` measure is resolved per run (it needs the oracle), so its scores not
    being there yet is no error here."""
    from robnas.errors import InvalidParameterError, ScoresNotGivenError
    from robnas.searchers import check_param_names, validate_params

    if "storage" in params:
        raise InvalidParameterError(f"bad parameter for searcher {name}: {STORAGE_IN_A_COMPARISON}")
    cls = registry[name]
    check_param_names(cls, name, params, set_apart=("seed",))
    try:
        validate_params(cls(**params))
    except ScoresNotGivenError:
        pass  # resolved per run, with the oracle, and checked again then
    except InvalidParameterError as err:
        raise InvalidParameterError(f"bad parameter for searcher {name}: {err}") from None


def load_oracles(
    specs: Sequence[RunSpec], data: str | os.PathLike[str] | None = None
) -> dict[str, TabularOracle]:
    """The tabular oracle of each dataset the specs use, with every objective validated.

    Raises:
        InvalidObjectiveError: an objective is not in its dataset's table (lists the choices).
        DataNotFoundError: the released data is not where robnas looked.
    """
    from robnas.benchmark import TabularOracle
    from robnas.multi_objective import class_values, is_multi, parse_objectives

    oracles = {d: TabularOracle(d, data=data) for d in unique(s.dataset for s in specs)}
    for objective, dataset in unique((s.objective, s.dataset) for s in specs):
        if is_multi(objective):
            for part in parse_objectives(objective):
                class_values(oracles[dataset], part)
        else:
            oracles[dataset].validate(objective)
    return oracles


def canonical_objective(text: str) -> str:
    """``PGD@1/255`` -> ``pgd@1/255``; an objective group ``PGD@1/255, params`` ->
    ``pgd@1/255,params:min`` (see :mod:`robnas.multi_objective`)."""
    from robnas.multi_objective import is_multi, label, parse_objectives
    from robnas.objective import Objective

    return label(parse_objectives(text)) if is_multi(text) else str(Objective.parse(text))



def read_plan(out: Path) -> dict[str, dict[str, Any]]:
    """The runs of the plan file in ``out`` by run id (``{}`` where there is none yet).

    Raises:
        ComparisonError: the plan file is not one (not UTF-8, not JSON, another shape).
    """
    path = out / PLAN_FILE
    if not path.is_file():
        return {}
    try:
        runs = {r["run_id"]: dict(r) for r in json.loads(path.read_text(encoding="utf-8"))["runs"]}
    except (ValueError, KeyError, TypeError):  # UnicodeDecodeError is a ValueError
        raise ComparisonError(f"{path} is not a comparison plan") from None
    return runs


def check_plan(out: Path, specs: Sequence[RunSpec]) -> None:
    """Refuse ``specs`` that the comparison in ``out`` cannot take: its plan file is unreadable,
    or it is multi-objective and they are not, or the other way round (:func:`plan_runs` keeps
    one plan to one kind; its tables, tests and figures would mix shares of hypervolume with
    accuracies, and plot both as the one kind's metric).

    Raises:
        ComparisonError: naming the folder's objectives and the new ones.
    """
    from robnas.multi_objective import is_multi

    planned = unique(str(r.get("objective")) for r in read_plan(out).values())
    asked = unique(s.objective for s in specs)
    mixed = [o for o in asked if planned and is_multi(o) != is_multi(planned[0])]
    if mixed:
        kind = "multi-objective" if is_multi(planned[0]) else "single-objective"
        raise ComparisonError(
            f"{out} holds a {kind} comparison ({', '.join(planned)}); a comparison is single- or "
            f"multi-objective: compare {mixed[0]} in another --out folder")


def write_plan(out: Path, specs: Sequence[RunSpec]) -> None:
    path = out / PLAN_FILE
    runs = read_plan(out)
    runs.update({s.run_id: asdict(s) | {"run_id": s.run_id, "label": s.label} for s in specs})
    plan = {
        "searchers": unique(r.get("label") or r["searcher"] for r in runs.values()),
        "objectives": unique(r["objective"] for r in runs.values()),
        "datasets": unique(r["dataset"] for r in runs.values()),
        "seeds": sorted({r["seed"] for r in runs.values()}),
        "budget": max((r["budget"] for r in runs.values()), default=0),
        "runs": list(runs.values()),
    }
    path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")


def check_budgets(runs_dir: Path, specs: Sequence[RunSpec]) -> None:
    """Refuse a run already in ``runs_dir``, finished or cut short, whose budget is not its
    spec's (its trials would be cut or extended under the old run id)."""
    from robnas.compare.trajectories import read_run_info
    from robnas.run_record import CONFIG_FILE

    for spec in specs:
        run_dir = runs_dir / spec.run_id
        if (run_dir / CONFIG_FILE).is_file():
            budget = read_run_info(run_dir).budget
            if budget != spec.budget:
                raise ComparisonError(
                    f"{run_dir} was run with budget {budget}, not {spec.budget}; "
                    "use another --out folder for another budget"
                )
    # the other runs there too: the report ranks all of a folder's runs at one budget
    asked = {spec.budget for spec in specs}
    if runs_dir.is_dir():
        for run_dir in sorted(runs_dir.iterdir()):
            if (run_dir / CONFIG_FILE).is_file():
                budget = read_run_info(run_dir).budget
                if budget not in asked:
                    raise ComparisonError(
                        f"{runs_dir.parent} holds runs of budget {budget} ({run_dir.name}), not "
                        f"{', '.join(map(str, sorted(asked)))}: a comparison ranks its runs at one budget; "
                        f"give --budget {budget}, or use another --out folder")


def unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _distinct(items: list[Any], label: Callable[[Any], str], what: str, why: str = "") -> list[Any]:
    """``items`` (already canonical), refusing one given twice: a repeated searcher, objective,
    dataset or seed is a typo, not a request for the same runs twice (``robnas search`` refuses
    a repeated ``-O`` too). ``why`` says how two texts became one item, when they differ.

    >>> _distinct(["clean", "clean"], str, "objective")
    Traceback (most recent call last):
    ...
    robnas.errors.ComparisonError: objective clean is given twice; give it once
    """
    seen: set[Any] = set()
    for item in items:
        if item in seen:
            raise ComparisonError(f"{what} {label(item)} is given twice{f' ({why})' if why else ''}; give it once")
        seen.add(item)
    return items
