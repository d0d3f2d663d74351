from __future__ import annotations

import numpy as np
import pytest

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.searchers import RegularizedEvolution
from tests.searchers.design import design_classes, first_classes


def _differing_edges(a: Arch, b: Arch) -> int:
    return sum(x != y for x, y in zip(a.ops, b.ops, strict=True))


def test_oldest_member_dies() -> None:
    searcher = RegularizedEvolution(population_size=4, sample_size=2, seed=0)
    told = []
    for value in (0.9, 0.1, 0.2, 0.3, 0.4, 0.5):
        arch = searcher.ask()
        searcher.tell(arch, value)
        told.append((arch, value))
    # the best member (0.9) was the oldest and died anyway: aging, not fitness, removes members
    assert searcher.population == told[-4:]


def test_children_mutate_one_edge_of_the_tournament_winner() -> None:
    # sample_size == population_size: the tournament always picks the population's best
    searcher = RegularizedEvolution(population_size=5, sample_size=5, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(5):
        searcher.tell(searcher.ask(), float(rng.random()))
    for _ in range(30):
        best = max(searcher.population, key=lambda member: member[1])[0]
        child = searcher.ask()
        assert _differing_edges(child, best) == 1
        searcher.tell(child, float(rng.random()))


def test_first_population_is_random_and_children_are_new_classes() -> None:
    searcher = RegularizedEvolution(population_size=10, sample_size=3, seed=2)
    seen = set()
    for step in range(200):
        arch = searcher.ask()
        assert class_code(arch) not in seen
        seen.add(class_code(arch))
        searcher.tell(arch, float(sum(arch.ops)) + step * 1e-6)


def test_bad_sizes_raise_on_first_ask() -> None:
    searcher = RegularizedEvolution(population_size=3, sample_size=5)
    with pytest.raises(ValueError, match="sample_size"):
        searcher.ask()


@pytest.mark.parametrize("population_size", [30, 12])
def test_orthogonal_design_is_the_first_population(population_size) -> None:
    seed = 4
    design = design_classes(seed, population_size)
    searcher = RegularizedEvolution(population_size=population_size, design="orthogonal", seed=seed)
    asked = first_classes(searcher, population_size, lambda arch: float(sum(arch.ops)))
    # the design's cells first, in its order (a second cell of a class is skipped), then random
    assert asked[: len(design)] == design
    assert len(set(asked)) == population_size
    assert not set(asked[len(design):]) & set(design)
    # the default start is random cells: it shares almost nothing with the design
    plain = RegularizedEvolution(population_size=population_size, seed=seed)
    assert len({class_code(plain.ask()) for _ in range(population_size)} & set(design)) < 3

