"""The orthogonal-array start as the searchers that take ``design="orthogonal"`` draw it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.searchers import orthogonal_array_cells


def design_classes(seed: int, count: int = 25) -> list[int]:
    """The distinct classes, in order, of the first ``count`` cells of the orthogonal array a
    searcher seeded ``seed`` draws first from its generator."""
    classes: list[int] = []
    for arch in orthogonal_array_cells(np.random.default_rng(seed))[:count]:
        if class_code(arch) not in classes:
            classes.append(class_code(arch))
    return classes


def first_classes(searcher: Any, count: int, value_of: Callable[[Arch], float]) -> list[int]:
    """The classes of ``searcher``'s first ``count`` proposals, each told ``value_of`` it."""
    asked = []
    for _ in range(count):
        arch = searcher.ask()
        asked.append(class_code(arch))
        searcher.tell(arch, value_of(arch))
    return asked
