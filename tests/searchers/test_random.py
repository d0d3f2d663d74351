from __future__ import annotations

import numpy as np
import pytest

from robnas.isomorphism import class_code, class_count
from robnas.searchers import RandomSearch, random_unseen


def test_random_search_covers_every_class_once_then_stops() -> None:
    searcher = RandomSearch(seed=0)
    classes = []
    for _ in range(class_count()):
        arch = searcher.ask()
        classes.append(class_code(arch))
        searcher.tell(arch, 0.0)
    assert len(set(classes)) == class_count()
    with pytest.raises(ValueError, match="all isomorphism classes"):
        searcher.ask()


def test_random_unseen_draws_cells_uniformly() -> None:
    # Cells, not classes, are uniform: the op of edge 0 is uniform over the 5 ops.
    rng = np.random.default_rng(1)
    ops = np.array([random_unseen(rng, set()).ops[0] for _ in range(5000)])
    counts = np.bincount(ops, minlength=5)
    assert counts.min() > 900 and counts.max() < 1100
