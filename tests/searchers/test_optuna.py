from __future__ import annotations

import optuna
import pytest

from robnas.arch import Arch
from robnas.isomorphism import class_code
from robnas.loop import run_search
from robnas.searchers import OptunaSearch
from robnas.searchers._optuna import PARAM_NAMES
from tests.searchers.design import design_classes


def _arch_of(trial: optuna.trial.FrozenTrial) -> Arch:
    return Arch.from_names(tuple(trial.params[name] for name in PARAM_NAMES))


def test_duplicates_are_retold_without_spending_budget(cifar10_oracle) -> None:
    searcher = OptunaSearch(seed=0)
    result = run_search(searcher, cifar10_oracle, "pgd@1/255", 60)
    trials = searcher.study.get_trials(deepcopy=False)
    assert searcher.repeats_told > 0  # TPE repeats itself on this space
    assert len(trials) == 60 + searcher.repeats_told
    assert len({class_code(_arch_of(t)) for t in trials}) == result.n_evaluations == 60
    for trial in trials:  # every trial, repeat or not, carries the cell's true value
        assert trial.value == cifar10_oracle.value(_arch_of(trial), "pgd@1/255")


def test_forces_an_unseen_cell_when_optuna_keeps_repeating(cifar10_oracle) -> None:
    searcher = OptunaSearch(seed=1, max_repeats=1)
    run_search(searcher, cifar10_oracle, "pgd@1/255", 80)
    assert searcher.forced > 0
    assert len({class_code(_arch_of(t)) for t in searcher.study.trials}) == 80


def test_unasked_tells_become_finished_trials() -> None:
    searcher = OptunaSearch(seed=2)
    arch = Arch.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                            "nor_conv_3x3~1|nor_conv_3x3~2|")
    searcher.tell(arch, 0.5)
    (trial,) = searcher.study.trials
    assert _arch_of(trial) == arch and trial.value == 0.5


def test_optuna_logging_is_muted_and_restored(cifar10_oracle, capfd) -> None:
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        run_search(OptunaSearch(seed=3), cifar10_oracle, "clean", 15)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(previous)
    assert "Trial" not in capfd.readouterr().err


def test_gp_sampler_runs_and_is_seeded(cifar10_oracle) -> None:
    pytest.importorskip("torch")
    runs = [run_search(OptunaSearch(sampler="gp", n_startup_trials=4, seed=5), cifar10_oracle,
                       "clean", 8) for _ in range(2)]
    assert [t["arch"] for t in runs[0].trials] == [t["arch"] for t in runs[1].trials]
    assert runs[0].best_value >= max(t["value"] for t in runs[0].trials[:4])


def test_unknown_sampler_raises() -> None:
    with pytest.raises(ValueError, match="sampler"):
        OptunaSearch(sampler="cmaes").ask()


@pytest.mark.parametrize("n_startup_trials", [10, 30])
def test_orthogonal_design_gives_the_startup_trials(cifar10_oracle, n_startup_trials) -> None:
    seed = 3
    design = design_classes(seed, n_startup_trials)
    searcher = OptunaSearch(n_startup_trials=n_startup_trials, design="orthogonal", seed=seed)
    result = run_search(searcher, cifar10_oracle, "pgd@1/255", n_startup_trials + 5)
    asked = [class_code(Arch.from_string(arch)) for arch in (t["arch"] for t in result.trials)]
    # the design's cells first (at most its 25; a second cell of a class is told as a repeat)
    assert asked[: len(design)] == design
    assert len(set(asked)) == len(asked)
    plain = run_search(OptunaSearch(n_startup_trials=n_startup_trials, seed=seed), cifar10_oracle,
                       "pgd@1/255", n_startup_trials)
    assert len({class_code(Arch.from_string(a)) for a in (t["arch"] for t in plain.trials)} & set(design)) < 3


def test_motpe_models_the_edges_jointly_and_repeats_itself_far_less(cifar10_oracle) -> None:
    # Each edge on its own, MOTPE keeps proposing known classes (every repeat is a trial that
    # makes the next proposal slower): 327 repeats in these three 80-cell runs against 71
    # jointly. A motpe that lost multivariate=True (the default) repeats as often again.
    from robnas.multi_loop import run_multi_search
    from robnas.searchers import MultiObjectiveTPE

    repeats = {}
    for multivariate in (True, False):
        searchers = [MultiObjectiveTPE(seed=seed, multivariate=multivariate) for seed in (1, 2, 3)]
        for searcher in searchers:
            run_multi_search(searcher, cifar10_oracle, ["pgd@1/255", "clean"], 80)
        repeats[multivariate] = sum(s.repeats_told for s in searchers)
    assert MultiObjectiveTPE().multivariate is True
    assert 2 * repeats[True] < repeats[False]
