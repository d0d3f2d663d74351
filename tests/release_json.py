"""Expected values read straight from the released JSON files, without robnas' own readers.

Tests compare robnas' answers with these, so an expectation is never a number robnas produced.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path


@cache
def _document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def representative(root: Path, index: int) -> int:
    """The representative NB201 index (``isomorph`` in ``meta.json``) of ``index``."""
    return int(_document(root / "meta.json")["ids"][str(index)]["isomorph"])


def released(root: Path, dataset: str, key: str, epsilon: float | None = None) -> dict[int, float]:
    """Representative id -> accuracy of ``key`` (at ``epsilon``, in units of 1/255, for attacks)."""
    values = _document(root / dataset / f"{key}_accuracy.json")[dataset][key]["accuracy"]
    if epsilon is None:
        return {int(i): float(v) for i, v in values.items()}
    column = _document(root / "meta.json")["epsilons"][key].index(epsilon)
    return {int(i): float(v[column]) for i, v in values.items()}


def optimum(root: Path, dataset: str, key: str, epsilon: float | None = None,
            min_clean: float | None = None) -> float:
    """The best value over all classes (with clean accuracy >= ``min_clean`` when given)."""
    values = released(root, dataset, key, epsilon)
    if min_clean is None:
        return max(values.values())
    clean = released(root, dataset, "clean")
    return max(v for i, v in values.items() if clean[i] >= min_clean)
