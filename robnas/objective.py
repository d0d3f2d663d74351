"""Objectives: what a search maximises, parsed once from text.

Grammar (dataset is chosen separately)::

    clean                         clean test accuracy
    <attack>@<eps>/255            e.g. pgd@8/255, fgsm@0.5/255, apgd@1/255, square@2/255
    <attack>@<eps>                the same, epsilon in units of 1/255 as in the release
    <corruption>@<severity>       e.g. gaussian_noise@3 (severity 1..5)
    <attack>@mean                 mean over that attack's epsilons
    <corruption>@mean             mean over that corruption's 5 severities
    adversarial@mean              mean over all attacks and epsilons ("mean adversarial
                                  robust accuracy" of the paper)
    corruption@mean               mean over all corruptions and severities
    params, flops                 the network's cost (:mod:`robnas.cost`): millions of
                                  parameters, millions of multiply-accumulates per image

``<eps>`` is an ASCII decimal number, read as every numeric option is (``8``, ``0.5``, ``.5``,
``1e0``) and canonicalised: ``pgd@1e0/255`` and ``pgd@1.0/255`` are ``pgd@1/255`` everywhere
(run records, table columns, the check for an objective given twice). The unit is written
``/255`` exactly; another denominator (``8/256``, ``8/255.0``, ``8/2.55e2``) is refused.

Attack names: the release's keys (``pgd@Linf``, ``aa_apgd-ce@Linf``, ...) or the short names
``fgsm``, ``pgd``, ``apgd`` / ``apgd-ce``, ``square``. Every objective is an accuracy (a fraction
in [0, 1]); larger is better. The two cost metrics are the exception: they are not in the
release's files but computed for every cell, and smaller is better (:attr:`Objective.is_cost`);
they serve as constraints and table columns, not as something to maximise.

>>> obj = Objective.parse("pgd@8/255")
>>> obj.key, obj.point, str(obj)
('pgd@Linf', 8.0, 'pgd@8/255')
>>> grid = Grid({"clean": (), "pgd@Linf": (0.1, 1.0, 8.0)})
>>> obj.terms(grid)
(Term(key='pgd@Linf', point=8.0),)
>>> [t.point for t in Objective.parse("pgd@mean").terms(grid)]
[0.1, 1.0, 8.0]
>>> cost = Objective.parse("params")
>>> cost.is_cost, cost.terms(grid), str(cost)
(True, (Term(key='params', point=None),), 'params')
"""

from __future__ import annotations

import math
import re
from collections import namedtuple
from collections.abc import Mapping

from robnas.cost import METRICS as COST_METRICS
from robnas.errors import InvalidObjectiveError
from robnas.vocabulary import CLEAN, SEVERITIES, Attack, Corruption

ADVERSARIAL = "adversarial"
"""Aggregate group: every attack at every epsilon."""
CORRUPTION = "corruption"
"""Aggregate group: every corruption at every severity."""

_ATTACK_ALIASES: dict[str, str] = {
    "fgsm": Attack.FGSM.value,
    "pgd": Attack.PGD.value,
    "apgd": Attack.APGD_CE.value,
    "apgd-ce": Attack.APGD_CE.value,
    "aa_apgd-ce": Attack.APGD_CE.value,
    "square": Attack.SQUARE.value,
    "aa_square": Attack.SQUARE.value,
    **{a.value.lower(): a.value for a in Attack},
}
_SHORT_NAME = {
    Attack.FGSM.value: "fgsm",
    Attack.PGD.value: "pgd",
    Attack.APGD_CE.value: "apgd",
    Attack.SQUARE.value: "square",
}
_CORRUPTIONS = {c.value for c in Corruption}
_MEAN = "mean"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A number as users type it, in ASCII digits only (``float`` would also read ``'٣'`` or ``'nan'``)."""


def plain_number(text: str) -> float | None:
    """``text`` read as a number as users type it (ASCII digits, optional sign, point and
    exponent), or ``None`` when it is not one: ``float`` would also read ``'１'``, ``'1_0'``
    (as 10), ``'nan'`` or ``'inf'``.

    >>> plain_number("0.5"), plain_number("1e0"), plain_number("1_0"), plain_number("nan")
    (0.5, 1.0, None, None)
    """
    return float(text) if _NUMBER.fullmatch(text) else None


class Term(namedtuple("Term", ["key", "point"])):
    """One column of the release: a key and a point on its grid.

    ``point`` is an epsilon in units of 1/255 for an attack, a severity for a corruption, and
    ``None`` for ``clean``.
    """

    __slots__ = ()
    key: str
    point: float | int | None

    def __str__(self) -> str:
        return _format(self.key, self.point)


class Grid:
    """The keys a table holds and the points (epsilons or severities) of each.

    Args:
        points: release key -> its points; ``()`` for ``clean``.
    """

    def __init__(self, points: Mapping[str, tuple[float | int, ...]]) -> None:
        self.points: dict[str, tuple[float | int, ...]] = dict(points)

    def describe(self, key: str) -> str:
        """The valid choices for ``key``, as users type them."""
        pts = self.points.get(key, ())
        if key in _CORRUPTIONS:
            return ", ".join(f"{key}@{p}" for p in pts)
        return ", ".join(_format(key, p) for p in pts)

    def __repr__(self) -> str:
        return f"Grid({self.points!r})"


class Objective(namedtuple("Objective", ["key", "point", "mean"], defaults=(None, False))):
    """A parsed objective: a release key (or aggregate group) and a point, or a mean.

    Use :meth:`parse`; :meth:`terms` validates against a table's :class:`Grid` and expands
    aggregates into the columns they average.
    """

    __slots__ = ()
    key: str
    point: float | int | None
    mean: bool

    @classmethod
    def parse(cls, text: str | Objective) -> Objective:
        """Parse objective text (see the module docs for the grammar)."""
        if isinstance(text, Objective):
            return text
        if text is None or isinstance(text, (list, tuple, set, frozenset, dict)):
            # str() made "['pgd@1/255']" an unknown objective "['pgd", None one named 'None'
            raise InvalidObjectiveError(
                f"an objective is one text such as 'pgd@8/255' or 'clean', got "
                f"{type(text).__name__} {text!r}"
                + ("" if text is None else "; several objectives go to a function that takes a "
                   "list (dataframe, run_multi_search)")
            )
        raw = str(text).strip()
        if not raw:
            raise InvalidObjectiveError("empty objective; try e.g. pgd@8/255, clean, gaussian_noise@3")
        if "," in raw:  # a group of a multi-objective search, where one objective is read
            parts = " ".join(f"-O {part.strip()}" for part in raw.split(","))
            raise InvalidObjectiveError(f"{raw!r} is several objectives (a comma): where one is read, "
                                        f"give each on its own ({parts}; in Python, a list)")
        body, colon, suffix = raw.rpartition(":")
        if colon and suffix.strip().isalpha() and suffix.strip().lower() not in ("min", "max"):
            try:
                cls.parse(body)
            except InvalidObjectiveError:
                pass  # a bad name as well: the error below names it
            else:  # clean:sideways
                raise InvalidObjectiveError(f"unknown direction {suffix.strip()!r} in {raw!r}; a direction "
                                            f"(:max or :min) belongs to a multi-objective search (-O twice)")
        lowered = raw.lower()
        if lowered == CLEAN:
            return cls(CLEAN)
        if lowered in COST_METRICS:
            return cls(lowered)
        if lowered.startswith(f"{CLEAN}@"):
            raise InvalidObjectiveError(
                f"clean takes no epsilon, severity or mean: write just 'clean' (got {raw!r})"
            )
        metric = lowered.partition("@")[0]
        if metric in COST_METRICS:  # not 'unknown objective' while listing the name as valid
            raise InvalidObjectiveError(
                f"{metric} is the cell's cost, with no epsilon, severity or mean: write just "
                f"'{metric}' (got {raw!r})"
            )
        if lowered.replace("@linf", "").count("@") > 1:
            raise InvalidObjectiveError(
                f"objective {raw!r} has more than one '@'; write NAME@POINT, e.g. pgd@8/255, "
                "gaussian_noise@3 or pgd@mean"
            )
        if lowered in ("mean-adversarial", "adversarial"):
            return cls(ADVERSARIAL, mean=True)
        if lowered in ("mean-corruption", "corruption", "corruptions"):
            return cls(CORRUPTION, mean=True)
        body, colon, direction = raw.rpartition(":")
        if colon and "@" in body and direction.strip().lower() in ("min", "max"):  # pgd@1/255:min
            raise InvalidObjectiveError(f"{raw!r}: a direction (:{direction.strip().lower()}) belongs to a "
                                        f"multi-objective search (-O twice); give {body!r} alone here")
        # release keys contain '@Linf'; split on the last '@' that starts a point
        name, point_text = _split(raw)
        key = _resolve_key(name)
        if point_text is None:
            raise InvalidObjectiveError(
                f"objective {raw!r} needs a point: e.g. {_example(key)}, or {_short(key)}@mean"
            )
        if point_text.lower() == _MEAN:
            return cls(key, mean=True)
        if key in (ADVERSARIAL, CORRUPTION):
            raise InvalidObjectiveError(f"{key} is an aggregate: use {key}@mean")
        if key in _CORRUPTIONS:
            if not re.fullmatch("[0-9]+", point_text):
                raise InvalidObjectiveError(
                    f"severity of {key} must be an integer 1..5 in ASCII digits, got {point_text!r}"
                )
            return cls(key, int(point_text))
        return cls(key, _parse_epsilon(point_text, raw))

    def terms(self, grid: Grid) -> tuple[Term, ...]:
        """The columns this objective averages, validated against ``grid``.

        A cost metric is on every grid: its one term is ``Term("params", None)`` (or flops).

        Raises:
            InvalidObjectiveError: the key or point is not in the grid; the message lists the
                valid choices.
        """
        if self.is_cost:
            return (Term(self.key, None),)
        if self.key == ADVERSARIAL:
            keys = [a.value for a in Attack if a.value in grid.points]
            if not keys:
                raise InvalidObjectiveError("this table holds no attack results")
            return tuple(Term(k, p) for k in keys for p in grid.points[k])
        if self.key == CORRUPTION:
            keys = [c.value for c in Corruption if c.value in grid.points]
            if not keys:
                raise InvalidObjectiveError("this table holds no corruption results")
            return tuple(Term(k, p) for k in keys for p in grid.points[k])
        if self.key not in grid.points:
            available = ", ".join(sorted(_short(k) for k in grid.points)) or "nothing"
            raise InvalidObjectiveError(f"no {self.key} results in this table; it has: {available}")
        if self.key == CLEAN:
            return (Term(CLEAN, None),)
        points = grid.points[self.key]
        if self.mean:
            return tuple(Term(self.key, p) for p in points)
        for p in points:
            if isinstance(self.point, float) or isinstance(p, float):
                if math.isclose(float(p), float(self.point), rel_tol=0, abs_tol=1e-9):
                    return (Term(self.key, p),)
            elif p == self.point:
                return (Term(self.key, p),)
        raise InvalidObjectiveError(
            f"{self} is not on the grid; valid choices: {grid.describe(self.key)}, {_short(self.key)}@mean"
        )

    @property
    def is_cost(self) -> bool:
        """Whether this is a cost metric (``params``, ``flops``): smaller is better."""
        return self.key in COST_METRICS

    def __str__(self) -> str:
        if self.key == CLEAN or self.is_cost:
            return self.key
        if self.mean:
            return f"{_short(self.key)}@{_MEAN}"
        return _format(self.key, self.point)


def _split(raw: str) -> tuple[str, str | None]:
    if "@" not in raw:
        return raw, None
    head, _, tail = raw.rpartition("@")
    if tail.lower() == "linf":  # a bare release key such as 'pgd@Linf'
        return raw, None
    return head, tail


def _resolve_key(name: str) -> str:
    lowered = name.lower()
    if lowered in _ATTACK_ALIASES:
        return _ATTACK_ALIASES[lowered]
    if lowered in _CORRUPTIONS:
        return lowered
    if lowered in (ADVERSARIAL, "adv", CORRUPTION, "corruptions"):
        return ADVERSARIAL if lowered.startswith("adv") else CORRUPTION
    head, colon, direction = name.rpartition(":")
    if colon and direction.lower() in ("min", "max"):
        raise InvalidObjectiveError(f"{name!r}: a direction (:{direction.lower()}) belongs to a "
                                    f"multi-objective search (-O twice); give {head!r} alone here")
    choices = "clean, fgsm, pgd, apgd, square, " + ", ".join(sorted(_CORRUPTIONS)) + ", params, flops"
    raise InvalidObjectiveError(f"unknown objective {name!r}; valid names: {choices}")


def _parse_epsilon(text: str, raw: str) -> float:
    numerator, slash, denominator = text.partition("/")
    if not _NUMBER.fullmatch(numerator) or (slash and not _NUMBER.fullmatch(denominator)):
        raise InvalidObjectiveError(
            f"cannot read the epsilon of {raw!r}; write it as N/255 in ASCII digits, e.g. pgd@8/255"
        )
    if slash and denominator != "255":  # the unit, spelt one way (8/255.0 or 8/2.55e2 is no clearer)
        raise InvalidObjectiveError(
            f"epsilon in {raw!r} must be written as N/255 (the release's unit), e.g. 8/255"
        )
    value = float(numerator) + 0.0  # + 0.0: '-0' is 0, spelt pgd@0/255, not pgd@-0/255
    if not math.isfinite(value) or value < 0:
        raise InvalidObjectiveError(f"epsilon must be a finite non-negative number, got {text!r}")
    return value


def _format(key: str, point: float | int | None) -> str:
    if point is None:
        return _short(key)
    if key in _CORRUPTIONS:
        return f"{key}@{point}"
    return f"{_short(key)}@{_number(float(point))}/255"


def _number(value: float) -> str:
    """``value`` in the fewest digits that read back as it: ``8``, ``0.5``, ``1e-05``,
    ``0.1234567`` (``:g`` keeps six significant digits, so a table's grid point 0.1234567 would
    be listed as 0.123457, which is not on the grid, and two such points would share a name).

    >>> _number(8.0), _number(0.1), _number(255.0), _number(0.1234567), _number(1234567.0)
    ('8', '0.1', '255', '0.1234567', '1234567')
    """
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _short(key: str) -> str:
    return _SHORT_NAME.get(key, key)


def _example(key: str) -> str:
    return f"{key}@3" if key in _CORRUPTIONS else f"{_short(key)}@8/255"


def attack_key(name: str) -> str | None:
    """The release key of an attack name (``fgsm``, ``pgd@Linf``, ``apgd``, ...), else ``None``.

    >>> attack_key("pgd"), attack_key("aa_square@Linf"), attack_key("fog")
    ('pgd@Linf', 'aa_square@Linf', None)
    """
    return _ATTACK_ALIASES.get(name.lower())


def default_grid_points(epsilons: Mapping[str, list[float]]) -> dict[str, tuple[float | int, ...]]:
    """Grid points for every key of the release, from meta.json's ``epsilons``."""
    points: dict[str, tuple[float | int, ...]] = {CLEAN: ()}
    for attack in Attack:
        if attack.value in epsilons:
            points[attack.value] = tuple(float(e) for e in epsilons[attack.value])
    for corruption in Corruption:
        points[corruption.value] = SEVERITIES
    return points
