from __future__ import annotations

from itertools import pairwise

import pytest

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.searchers import LocalSearch
from tests.searchers.design import design_classes, first_classes


def _run(oracle, searcher: LocalSearch, steps: int) -> None:
    for _ in range(steps):
        arch = searcher.ask()
        searcher.tell(arch, oracle.value(arch, "clean"))


@pytest.mark.parametrize("variant", ["best", "first"])
def test_climbs_to_a_local_optimum_then_restarts(cifar10_oracle, variant: str) -> None:
    searcher = LocalSearch(variant=variant, num_init=3, seed=0)
    _run(cifar10_oracle, searcher, 400)
    path = searcher.trajectory
    assert path[0][0] == "start"
    assert searcher.restarts >= 1
    assert sum(how == "restart" for how, _, _ in path) in (searcher.restarts, searcher.restarts - 1)
    for (_, old, old_value), (how, new, new_value) in pairwise(path):
        assert old_value == cifar10_oracle.value(old, "clean")
        neighbour_values = [cifar10_oracle.value(n, "clean") for n in old.neighbours()]
        if how == "restart":
            assert max(neighbour_values) <= old_value  # climbing stopped at a local optimum
        else:
            assert how == "move" and new in old.neighbours() and new_value > old_value
            if variant == "best":  # the best neighbour, not just a better one
                assert new_value == max(neighbour_values)


def test_starts_from_the_best_random_start(cifar10_oracle) -> None:
    searcher = LocalSearch(num_init=5, seed=3)
    starts = []
    for _ in range(5):
        arch = searcher.ask()
        starts.append((arch, cifar10_oracle.value(arch, "clean")))
        searcher.tell(*starts[-1])
    neighbour = searcher.ask()
    assert searcher.current == max(starts, key=lambda s: s[1])
    assert neighbour in searcher.current[0].neighbours()


def test_unknown_variant_raises() -> None:
    with pytest.raises(ValueError, match="variant"):
        LocalSearch(variant="steepest").ask()


@pytest.mark.parametrize("num_init", [10, 30])
def test_orthogonal_design_gives_the_starting_cells(cifar10_oracle, num_init) -> None:
    seed = 6
    design = design_classes(seed, num_init)
    searcher = LocalSearch(num_init=num_init, design="orthogonal", seed=seed)
    asked = first_classes(searcher, num_init, lambda arch: cifar10_oracle.value(arch, "clean"))
    # the design's cells first (at most its 25; a second cell of a class is skipped), then random
    assert asked[: len(design)] == design
    assert len(set(asked)) == num_init
    start = searcher.ask()  # the climb starts from the best of them
    best = max(asked, key=lambda code: cifar10_oracle.value(Arch.from_code(code), "clean"))
    assert searcher.current is not None and class_code(searcher.current[0]) == best
    assert sum(a != b for a, b in zip(start.ops, searcher.current[0].ops, strict=True)) == 1  # its neighbour
    plain = LocalSearch(num_init=num_init, seed=seed)
    assert len({class_code(plain.ask()) for _ in range(num_init)} & set(design)) < 3

