"""The orthogonal-array start as the searchers that take ``design="orthogonal"`` draw it."""

from __future__ import annotations

import numpy as np

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
