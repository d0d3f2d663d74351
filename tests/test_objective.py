from __future__ import annotations

import pytest

from robnas.errors import InvalidObjectiveError
from robnas.objective import Grid, Objective, Term, default_grid_points

RELEASE_EPSILONS = {
    "aa_apgd-ce@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0],
    "aa_square@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0],
    "fgsm@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 255.0],
    "pgd@Linf": [0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0],
}
GRID = Grid(default_grid_points(RELEASE_EPSILONS))


@pytest.mark.parametrize(
    ("text", "key", "point", "canonical"),
    [
        ("pgd@8/255", "pgd@Linf", 8.0, "pgd@8/255"),
        ("PGD@8/255", "pgd@Linf", 8.0, "pgd@8/255"),
        ("fgsm@0.5/255", "fgsm@Linf", 0.5, "fgsm@0.5/255"),
        ("apgd@1/255", "aa_apgd-ce@Linf", 1.0, "apgd@1/255"),
        ("apgd-ce@1/255", "aa_apgd-ce@Linf", 1.0, "apgd@1/255"),
        ("aa_apgd-ce@Linf@1/255", "aa_apgd-ce@Linf", 1.0, "apgd@1/255"),
        ("square@2/255", "aa_square@Linf", 2.0, "square@2/255"),
        ("fgsm@255/255", "fgsm@Linf", 255.0, "fgsm@255/255"),
        ("pgd@0.1", "pgd@Linf", 0.1, "pgd@0.1/255"),
        # the epsilon is a number as every numeric option reads it, canonicalised
        ("pgd@1e0/255", "pgd@Linf", 1.0, "pgd@1/255"),
        ("pgd@1.0/255", "pgd@Linf", 1.0, "pgd@1/255"),
        ("fgsm@.5/255", "fgsm@Linf", 0.5, "fgsm@0.5/255"),
        ("fgsm@5e-1/255", "fgsm@Linf", 0.5, "fgsm@0.5/255"),
        ("apgd@8e0", "aa_apgd-ce@Linf", 8.0, "apgd@8/255"),
        ("clean", "clean", None, "clean"),
        ("gaussian_noise@3", "gaussian_noise", 3, "gaussian_noise@3"),
    ],
)
def test_parse_spellings(text: str, key: str, point, canonical: str) -> None:
    objective = Objective.parse(text)
    assert (objective.key, objective.point, str(objective)) == (key, point, canonical)
    assert Objective.parse(str(objective)) == objective  # canonical text round-trips
    assert len(objective.terms(GRID)) == 1


def test_aggregates_expand_to_the_grid() -> None:
    assert len(Objective.parse("pgd@mean").terms(GRID)) == 7
    assert len(Objective.parse("fgsm@mean").terms(GRID)) == 11
    assert len(Objective.parse("adversarial@mean").terms(GRID)) == 7 + 7 + 11 + 7
    assert len(Objective.parse("mean-adversarial").terms(GRID)) == 32
    corruption = Objective.parse("corruption@mean").terms(GRID)
    assert len(corruption) == 75 and corruption[0] == Term("gaussian_noise", 1)
    assert [t.point for t in Objective.parse("snow@mean").terms(GRID)] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pgd@7/255", "valid choices: pgd@0.1/255, pgd@0.5/255, pgd@1/255, pgd@2/255"),
        ("square@255/255", "valid choices: square@0.1/255"),
        ("gaussian_noise@6", "gaussian_noise@1, gaussian_noise@2"),
    ],
)
def test_off_grid_points_list_the_valid_choices(text: str, message: str) -> None:
    with pytest.raises(InvalidObjectiveError, match=message):
        Objective.parse(text).terms(GRID)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty objective"),
        ("pgd", "needs a point"),
        ("pgd@x", "cannot read the epsilon"),
        ("pgd@8/256", "must be written as N/255"),
        ("pgd@8/255.0", "must be written as N/255"),  # were read as 8/255: the unit has one spelling
        ("pgd@8/2.55e2", "must be written as N/255"),
        ("pgd@8/+255", "must be written as N/255"),
        ("pgd@-1/255", "non-negative"),
        ("cw@1/255", "unknown objective 'cw'; valid names: clean, fgsm, pgd"),
        ("gaussian_noise@1.5", "integer 1..5"),
        ("adversarial@3", "use adversarial@mean"),
        ("clean@1/255", "clean takes no epsilon, severity or mean: write just 'clean'"),
        ("clean@mean", "clean takes no epsilon"),
        # were "unknown objective 'flops'; valid names: ..., params, flops"
        ("flops@mean", "flops is the cell's cost, with no epsilon, severity or mean: write just 'flops'"),
        ("Params@1/255", "params is the cell's cost, with no epsilon"),
        ("pgd@mean@mean", "has more than one '@'; write NAME@POINT"),
        ("pgd@1/255@1", "has more than one '@'"),
        ("pgd@\u0663/255", "in ASCII digits"),  # Arabic-Indic three: float() would read 3.0
        ("pgd@\uff13/255", "in ASCII digits"),  # fullwidth three
        ("gaussian_noise@\u0663", "integer 1..5 in ASCII digits"),  # int() would read 3
        ("pgd@nan/255", "cannot read the epsilon"),
        ("pgd@1_0/255", "cannot read the epsilon"),
        ("pgd@1e400/255", "finite non-negative"),
        ("clean,pgd@1/255", r"'clean,pgd@1/255' is several objectives \(a comma\): where one is read, give "
                            r"each on its own \(-O clean -O pgd@1/255; in Python, a list\)"),  # was 'clean,pgd'
    ],
)
def test_malformed_objectives_fail_with_one_line(text: str, message: str) -> None:
    with pytest.raises(InvalidObjectiveError, match=message) as info:
        Objective.parse(text)
    assert "\n" not in str(info.value)


def test_minus_zero_is_spelt_zero() -> None:
    objective = Objective.parse("pgd@-0/255")  # was spelt pgd@-0/255, in messages and records
    assert str(objective) == "pgd@0/255" and str(Objective.parse("pgd@-0.0")) == "pgd@0/255"
    assert Objective.parse("pgd@0/255").terms(Grid({"pgd@Linf": (0.0, 1.0)})) == (Term("pgd@Linf", 0.0),)


def test_every_listed_choice_of_a_fine_grid_is_on_it() -> None:
    # a table built at epsilons with more than six significant digits: ':g' listed 0.1234567 and
    # 0.1234568 both as pgd@0.123457/255, a choice the grid then refused, and one name for two columns
    grid = Grid({"clean": (), "pgd@Linf": (0.1234567, 0.1234568, 1234567.0, 1e-05, 8.0)})
    choices = grid.describe("pgd@Linf").split(", ")
    assert choices == ["pgd@0.1234567/255", "pgd@0.1234568/255", "pgd@1234567/255", "pgd@1e-05/255",
                       "pgd@8/255"]
    for choice, point in zip(choices, grid.points["pgd@Linf"], strict=True):
        objective = Objective.parse(choice)
        assert objective.terms(grid) == (Term("pgd@Linf", point),)
        assert str(objective) == choice == str(Term("pgd@Linf", point))
    assert [str(t) for t in Objective.parse("pgd@mean").terms(grid)] == choices


def test_release_keys_with_a_point_still_parse() -> None:
    assert str(Objective.parse("pgd@Linf@8/255")) == "pgd@8/255"
    assert str(Objective.parse("aa_apgd-ce@Linf@1")) == "apgd@1/255"


def test_missing_keys_name_what_the_table_has() -> None:
    grid = Grid({"clean": (), "pgd@Linf": (1.0,)})
    with pytest.raises(InvalidObjectiveError, match="no gaussian_noise results in this table; it has: clean, pgd"):
        Objective.parse("gaussian_noise@1").terms(grid)
    with pytest.raises(InvalidObjectiveError, match="no corruption"):
        Objective.parse("corruption@mean").terms(grid)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # were "unknown objective \"['pgd\"" and "unknown objective 'None'" (str() of the value)
        (["pgd@1/255"], r"an objective is one text such as 'pgd@8/255' or 'clean', got list \['pgd@1/255'\]; "
                        r"several objectives go to a function that takes a list"),
        (("pgd@1/255", "clean"), "got tuple"),
        (None, "an objective is one text such as 'pgd@8/255' or 'clean', got NoneType None$"),
    ],
)
def test_a_value_that_is_not_text_is_named_by_its_type(value: object, message: str) -> None:
    with pytest.raises(InvalidObjectiveError, match=message):
        Objective.parse(value)  # type: ignore[arg-type]
