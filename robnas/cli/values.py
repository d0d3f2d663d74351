"""Strict readers for option values: whole numbers, fractions, name lists and searcher params.

Python's ``int()`` and ``float()`` accept more than a command line should: non-ASCII digits
(``int("١٠") == 10``), ``"nan"``, ``"inf"``, ``"1_000"``, surrounding spaces. These readers accept
plain ASCII numbers only and name the option, the valid range and the text they got, so every
refusal is one line of the form ``--budget needs a whole number in 1..6466, got '١٠'``.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from robnas.errors import InvalidParameterError, RobnasError

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _span(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" in {low:g}..{high:g}" if isinstance(low, float) else f" in {low}..{high}"
    if low is not None:
        return f" >= {low}"
    return ""


def parse_int(text: str, option: str, low: int | None = None, high: int | None = None) -> int:
    """``text`` as an integer in ``low..high`` (ASCII digits only).

    >>> parse_int("300", "--budget", 1, 6466)
    300
    >>> parse_int("١٠", "--budget", 1, 6466)
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: --budget needs a whole number in 1..6466, got '١٠'
    """
    what = f"{option} needs a whole number{_span(low, high)}"
    if not isinstance(text, str) or not _INT.fullmatch(text):
        raise InvalidParameterError(f"{what}, got {text!r}")
    value = int(text)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidParameterError(f"{what}, got {value}")
    return value


def parse_float(text: str, option: str, low: float, high: float, *, low_open: bool = False,
                unit: str = "") -> float:
    """``text`` as a finite number in ``low..high`` (ASCII, no ``nan``/``inf``); above ``low``
    with ``low_open``; ``unit`` (e.g. ``"millions"``) is named in the error.

    >>> parse_float("0.8", "--min-clean", 0.0, 1.0)
    0.8
    >>> parse_float("0", "--max-flops", 0.0, 10000.0, low_open=True, unit="millions")
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: --max-flops needs a number > 0 and <= 10000 (millions), got 0
    """
    span = f"> {low:g} and <= {high:g}" if low_open else f"in {low:g}..{high:g}"
    what = f"{option} needs a number {span}" + (f" ({unit})" if unit else "")
    if not isinstance(text, str) or not _FLOAT.fullmatch(text):
        raise InvalidParameterError(f"{what}, got {text!r}")
    value = float(text)
    if not math.isfinite(value) or not low <= value <= high or (low_open and value == low):
        raise InvalidParameterError(f"{what}, got {text}")
    return value


def parse_names(text: str, option: str, choices: Iterable[str] | None = None, what: str = "name") -> list[str]:
    """A comma-separated list, each name among ``choices`` (when given), without repeats.

    >>> parse_names("re, ls", "--searchers", ["random", "re", "ls", "bo"], "searcher")
    ['re', 'ls']
    """
    names = [part.strip() for part in str(text).split(",")]
    valid = list(choices) if choices is not None else None
    listing = f"; choose from {', '.join(valid)}" if valid is not None else ""
    if not any(names):
        raise RobnasError(f"{option} needs a comma-separated list{listing}, got {text!r}")
    if "" in names:
        raise RobnasError(f"{option} has an empty name in {text!r}{listing}")
    for name in names:
        if valid is not None and name not in valid:
            raise RobnasError(f"{option}: unknown {what} {name!r}{listing}")
    return list(dict.fromkeys(names))


def parse_param(item: str) -> tuple[str, Any]:
    """``NAME=VALUE`` of ``--param``: an ASCII integer becomes an ``int``, an ASCII decimal a
    ``float``, ``true``/``false``/``none`` a bool or ``None``, anything else stays text.

    The searcher's own ``validate_params`` then decides what the value may be (e.g. a count
    must be an ``int``: ``population_size=1e9`` is refused, never recorded as a float).

    >>> parse_param("num_init=5"), parse_param("variant=first"), parse_param("x=1e9")
    (('num_init', 5), ('variant', 'first'), ('x', 1000000000.0))
    """
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise RobnasError(f"--param needs NAME=VALUE, got {item!r} (e.g. population_size=50)")
    if key == "seed":
        raise RobnasError("give the seed with --seed, not --param")
    if _INT.fullmatch(text):
        return key, int(text)
    if _FLOAT.fullmatch(text):
        return key, float(text)
    return key, {"true": True, "false": False, "none": None}.get(text.lower(), text)


def param_text(value: Any) -> str:
    """``value`` as ``--param`` spells it (:func:`parse_param`'s inverse for its own types).

    >>> param_text(True), param_text(None), param_text(0.5), param_text("orthogonal")
    ('true', 'none', '0.5', 'orthogonal')
    """
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "none"}[value]
    return str(value)


def int_option(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` that reads a whole number in ``low..high`` with :func:`parse_int`.

    >>> int_option(1)("3")
    3
    """

    def whole_number(text: str) -> int:
        try:
            return parse_int(text, "value", low, high)
        except InvalidParameterError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None

    return whole_number
