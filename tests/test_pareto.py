"""robnas.pareto against independent brute-force computations (Optuna's functions are private)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from robnas.pareto import (
    ParetoError,
    dominated_by_any,
    dominates,
    hypervolume,
    hypervolume_improvements,
    non_dominated_mask,
    non_dominated_ranks,
    reference_point,
)


def _brute_dominates(a, b, maximize) -> bool:
    better_or_equal = all((x >= y) if m else (x <= y) for x, y, m in zip(a, b, maximize, strict=True))
    strictly = any((x > y) if m else (x < y) for x, y, m in zip(a, b, maximize, strict=True))
    return better_or_equal and strictly


def _brute_ranks(points, maximize) -> list[int]:
    remaining, ranks, rank = set(range(len(points))), [0] * len(points), 0
    while remaining:
        front = {i for i in remaining
                 if not any(_brute_dominates(points[j], points[i], maximize) for j in remaining)}
        for i in front:
            ranks[i] = rank
        remaining -= front
        rank += 1
    return ranks


def _lattice_hypervolume(points, reference) -> int:
    """Unit cubes of the integer lattice dominated by some point (minimisation), counted."""
    count = 0
    ranges = [range(int(p), int(r)) for p, r in zip(points.min(axis=0), reference, strict=True)]
    for corner in itertools.product(*ranges):
        if any((np.asarray(corner) >= p).all() for p in points):
            count += 1
    return count


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranks_and_mask_equal_brute_force(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 6, size=(40, k)).astype(float)  # many ties and duplicates
    maximize = [bool(m) for m in rng.integers(0, 2, size=k)]
    expected = _brute_ranks(points.tolist(), maximize)
    assert non_dominated_ranks(points, maximize).tolist() == expected
    assert non_dominated_mask(points, maximize).tolist() == [r == 0 for r in expected]
    for i, j in [(0, 1), (2, 3), (4, 4)]:
        assert dominates(points[i], points[j], maximize) == _brute_dominates(points[i], points[j], maximize)
    assert dominated_by_any(points[5], points, maximize) == (expected[5] > 0)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_hypervolume_equals_lattice_count(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    losses = rng.integers(0, 8, size=(12, k)).astype(float)
    reference = np.full(k, 9.0)
    expected = _lattice_hypervolume(losses, reference)
    assert hypervolume(losses, reference, [False] * k) == pytest.approx(expected)
    # maximising the negated values is the same problem
    assert hypervolume(-losses, -reference, [True] * k) == pytest.approx(expected)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hypervolume_improvements_equal_lattice_differences(k: int, seed: int) -> None:
    # Integer points with ties, duplicates, candidates on and off the front, some outside the
    # reference box: each improvement is the lattice count with the candidate minus without.
    rng = np.random.default_rng(seed)
    front = rng.integers(0, 7, size=(6, k)).astype(float)
    candidates = np.vstack([rng.integers(0, 9, size=(10, k)).astype(float), front[:2], [[0.0] * k]])
    reference = np.full(k, 8.0)
    maximize = [bool(m) for m in rng.integers(0, 2, size=k)]
    sign = np.where(maximize, -1.0, 1.0)  # the lattice count works on losses
    base = _lattice_hypervolume(front, reference)
    expected = [_lattice_hypervolume(np.vstack([front, c]), reference) - base for c in candidates]
    got = hypervolume_improvements(candidates * sign, front * sign, reference * sign, maximize)
    assert got == pytest.approx(expected)
    assert hypervolume_improvements(candidates, np.zeros((0, k)), reference, [False] * k) == pytest.approx(
        [_lattice_hypervolume(c[None], reference) if (c < reference).all() else 0 for c in candidates])


def test_points_outside_the_reference_add_nothing() -> None:
    points = np.array([[0.5, 0.9], [0.2, 0.95]])
    assert hypervolume(points, [0.3, 0.8], [True, True]) == pytest.approx(0.2 * 0.1)
    assert hypervolume(points[1:], [0.3, 0.8], [True, True]) == 0.0
    assert hypervolume(np.zeros((0, 2)), [0.3, 0.8], [True, True]) == 0.0


def test_reference_point_is_the_nadir_moved_out_by_a_tenth_of_the_range() -> None:
    front = np.array([[0.588, 0.825], [0.438, 0.946]])
    ref = reference_point(front, [True, True])
    assert ref == pytest.approx([0.438 - 0.015, 0.825 - 0.0121])
    mixed = np.array([[0.588, 0.10], [0.509, 0.07]])  # params minimised: outward is larger
    assert reference_point(mixed, [True, False]) == pytest.approx([0.509 - 0.0079, 0.10 + 0.003])
    single = reference_point(np.array([[0.5, 2.0]]), [True, False])  # zero range: 10% of |x|
    assert single == pytest.approx([0.45, 2.2])


def test_bad_shapes_and_nan_are_refused() -> None:
    with pytest.raises(ParetoError, match=r"\(n, 2\) array"):
        non_dominated_mask(np.zeros((3, 3)), [True, True])
    with pytest.raises(ParetoError, match="NaN"):
        hypervolume([[np.nan, 1.0]], [0.0, 0.0], [True, True])


@pytest.mark.parametrize("maximize", [["max", "min"], "max", None, [1, 0], [], [[True, False]]])
def test_direction_flags_must_be_booleans(maximize) -> None:
    """["max", "min"] read as flags would be two Trues (non-empty strings are true): the
    answers would be silently those of two maximised objectives."""
    for call in (lambda: hypervolume([[0.5, 0.2]], [0.0, 1.0], maximize),
                 lambda: non_dominated_mask([[0.5, 0.2], [0.5, 0.1]], maximize),
                 lambda: dominates([0.5, 0.2], [0.5, 0.1], maximize),
                 lambda: reference_point([[0.5, 0.2]], maximize)):
        with pytest.raises(ParetoError, match="maximize must be a list of booleans"):
            call()
    # numpy booleans and tuples are flags
    assert hypervolume([[0.5, 0.2]], [0.0, 1.0], np.array([True, False])) == pytest.approx(0.4)
    assert non_dominated_mask([[0.5, 0.2], [0.5, 0.1]], (True, False)).tolist() == [False, True]


@pytest.mark.parametrize("margin", [-1, float("nan"), float("inf"), "0.1", True])
def test_a_bad_reference_margin_is_refused(margin) -> None:
    with pytest.raises(ParetoError, match="margin must be a finite number >= 0"):
        reference_point([[0.5, 0.2], [0.4, 0.3]], [True, True], margin=margin)


def test_ragged_or_text_values_are_refused_in_one_line() -> None:
    for points in ([[1.0, 2.0], [1.0, 2.0, 3.0]], [["a", "b"]]):
        with pytest.raises(ParetoError, match=r"expected an \(n, 2\) array"):
            non_dominated_mask(points, [True, True])


def test_optuna_private_names_are_guarded_and_pinned() -> None:
    # robnas.pareto relies on two private Optuna names: setup.cfg pins the range they were
    # tested with, the installed Optuna is in it, and a missing name is a one-line ParetoError.
    import configparser
    from importlib.metadata import version
    from pathlib import Path

    from packaging.specifiers import SpecifierSet

    from robnas.pareto import OPTUNA_TESTED, _optuna_private

    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    requirements = config["options.extras_require"]["search"].split()
    assert f"optuna{OPTUNA_TESTED}" in requirements
    assert version("optuna") in SpecifierSet(OPTUNA_TESTED)
    assert callable(_optuna_private("optuna._hypervolume", "compute_hypervolume"))
    with pytest.raises(ParetoError, match=r"private optuna\._hypervolume\.gone .*optuna>=5\.0,<6"):
        _optuna_private("optuna._hypervolume", "gone")
