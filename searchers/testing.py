"""The conformance suite every searcher passes (after Optuna's ``optuna/testing/pytest_samplers.py``).

Use it from a test module by subclassing :class:`SearcherConformance` and providing two
fixtures: ``make_searcher`` (a callable ``seed -> searcher``) and ``oracle`` (an
:class:`~robnas.oracle.Oracle`, e.g. the real CIFAR-10 table)::

    @pytest.fixture(params=sorted(SEARCHERS))
    def make_searcher(request):
        return lambda seed: SEARCHERS[request.param](seed=seed)

    class TestMySearchers(SearcherConformance):
        pass

The checks: ``repr`` is the constructor call (changed parameters only); proposals are valid
cells and every ask is answered before the next; the budget is met exactly; the same seed
gives the identical run and different seeds different runs; the searcher never proposes a class
it already knows (``n_known == 0``: no isomorph of an evaluated cell, so none is evaluated
twice) and the loop's anti-stall guard is never needed; the searcher maximises (objectives are
larger-is-better, and penalised values below zero are understood); cells told without being
asked are learnt; several asks before their tells (a loop with several workers) never propose
a pending class, and a 4-worker run spends its budget on distinct classes, reproducibly; a
run resumed from a truncated record equals the uninterrupted run; and the
searcher sees nothing of the searched table but what it is told (the run is unchanged when
every value it was not told is scrambled; scores handed over on purpose, a ``warmup`` or
``prior`` measure, are not scrambled). Requires pytest.

:class:`MultiObjectiveConformance` checks the same contract for multi-objective searchers,
which are told a vector (one value per objective) where a single-objective searcher is told a
number; its ``objectives`` may hold two or three, minimised ones included (``params:min``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robnas.arch import NUM_CELLS, NUM_EDGES, NUM_OPS, Arch
from robnas.isomorphism import class_code, class_code_array
from robnas.loop import SearchResult, run_search
from robnas.multi_loop import MultiSearchResult, run_multi_search
from robnas.multi_objective import evaluate_objectives, oriented, parse_objectives
from robnas.run_record import TRIALS_FILE
from robnas.searchers._base import Searcher, get_params

MakeSearcher = Callable[[int | None], Searcher]


class RecordingSearcher:
    """Wraps a searcher and records every call (a real pass-through, not a mock)."""

    def __init__(self, inner: Searcher) -> None:
        self.inner = inner
        self.seed = inner.seed
        self.calls: list[tuple[str, Arch, Any]] = []

    def ask(self) -> Arch:
        arch = self.inner.ask()
        self.calls.append(("ask", arch, None))
        return arch

    def tell(self, arch: Arch, value: Any) -> None:
        self.calls.append(("tell", arch, value))
        self.inner.tell(arch, value)


class ScrambledOracle:
    """A real oracle over a different table: ``inner``'s values for the classes in ``keep``,
    and for every other class the value of another class (a fixed random permutation)."""

    def __init__(self, inner: Any, keep: set[int], seed: int = 0) -> None:
        self.inner = inner
        self.keep = keep
        self.dataset = inner.dataset
        self.root = getattr(inner, "root", None)  # another table, a prior's, is read unchanged
        self._classes = np.unique(class_code_array())
        self._permutation = np.random.default_rng(seed).permutation(self._classes)

    def validate(self, objective: Any) -> Any:
        return self.inner.validate(objective)

    def evaluate(self, archs: Any, objective: Any) -> Any:
        from robnas.oracle import Evaluations

        real = self.inner.evaluate(archs, objective)
        others = [a if class_code(a) in self.keep else Arch.from_code(int(
            self._permutation[np.searchsorted(self._classes, class_code(a))])) for a in archs]
        fake = self.inner.evaluate(others, objective)
        return Evaluations(fake.values, fake.clean, real.cost_seconds, real.terms)

    def optimum(self, objective: Any) -> float | None:
        return None

    def rank(self, arch: Arch, objective: Any) -> int | None:
        return None

    def provenance(self) -> dict[str, Any]:
        return {"mode": "scrambled"}

    def parse_arch(self, arch: Any) -> Arch:
        return self.inner.parse_arch(arch)


def _archs(result: SearchResult | MultiSearchResult) -> list[str]:
    return [t["arch"] for t in result.trials]


def check_constructor(searcher: Searcher, seed: int) -> None:
    """scikit-learn style: keyword-only parameters with defaults, stored unchanged, no RNG yet."""
    params = get_params(searcher)
    assert params["seed"] == seed
    signature = inspect.signature(type(searcher).__init__)
    for name, parameter in signature.parameters.items():
        if name == "self":
            continue
        assert parameter.default is not inspect.Parameter.empty, f"{name} needs a default"
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, f"{name} must be keyword-only"
    assert get_params(type(searcher)(**params)) == params
    assert not any(isinstance(v, np.random.Generator) for v in vars(searcher).values()), (
        "the random generator must be created on first use, not in __init__"
    )


def check_repr(searcher: Searcher) -> None:
    """``repr`` is the constructor call of the changed parameters (``searcher`` has seed 7)."""
    cls = type(searcher)
    text = repr(searcher)
    assert text.startswith(f"{cls.__name__}(") and "seed=7" in text
    assert get_params(eval(text, {cls.__name__: cls})) == get_params(searcher)
    assert repr(cls()) == f"{cls.__name__}()"  # defaults are left out, as scikit-learn does


def check_pending_asks(searcher: Searcher, value_of: Callable[[Arch], Any], *, width: int = 8,
                       rounds: int = 20) -> None:
    """Several asks before their tells: ``rounds`` times, ask ``width`` cells, then tell them
    (last first); no proposal may be of a class already proposed, pending or told."""
    seen: set[int] = set()
    for _ in range(rounds):
        batch = [searcher.ask() for _ in range(width)]
        for arch in batch:
            assert isinstance(arch, Arch)
            assert class_code(arch) not in seen, f"{arch.to_string()}: a pending or known class again"
            seen.add(class_code(arch))
        for arch in reversed(batch):
            searcher.tell(arch, value_of(arch))


def check_workers_run(result: SearchResult | MultiSearchResult, budget: int) -> None:
    """A run with several workers: exactly ``budget`` distinct classes, none proposed twice."""
    classes = [class_code(Arch.from_string(a)) for a in _archs(result)]
    assert len(set(classes)) == len(classes) == budget == result.n_evaluations
    assert result.n_known == 0, f"{result.n_known} proposals of classes known or pending"
    assert result.n_forced == 0 and result.n_proposals == budget


class SearcherConformance:
    """Pytest checks for one searcher (see the module docs). Override the class attributes to
    change the objective or the budget used."""

    objective: str = "pgd@1/255"
    budget: int = 40
    pending_rounds: int = 20
    """Rounds of 8 asks before their tells in ``test_several_asks_before_tells``."""

    def test_repr_is_the_constructor_call(self, make_searcher: MakeSearcher) -> None:
        check_repr(make_searcher(7))

    def test_constructor_is_scikit_learn_style(self, make_searcher: MakeSearcher) -> None:
        check_constructor(make_searcher(7), 7)

    def test_proposals_are_valid_and_answered(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        searcher = RecordingSearcher(make_searcher(0))
        run_search(searcher, oracle, self.objective, self.budget)
        calls = searcher.calls
        assert calls[0][0] == "ask"
        for (kind, arch, _), (next_kind, next_arch, value) in zip(calls[::2], calls[1::2], strict=False):
            assert kind == "ask" and next_kind == "tell" and next_arch == arch
            assert isinstance(arch, Arch) and len(arch.ops) == NUM_EDGES
            assert all(0 <= op < NUM_OPS for op in arch.ops)
            assert isinstance(value, float) and np.isfinite(value)

    @pytest.mark.parametrize("budget", [1, 7])
    def test_budget_is_exact(self, make_searcher: MakeSearcher, oracle: Any, budget: int) -> None:
        result = run_search(make_searcher(1), oracle, self.objective, budget)
        assert result.n_evaluations == len(result.trials) == budget
        assert [t["n"] for t in result.trials] == list(range(1, budget + 1))

    def test_same_seed_same_run(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        first = run_search(make_searcher(3), oracle, self.objective, self.budget)
        second = run_search(make_searcher(3), oracle, self.objective, self.budget)
        assert _archs(first) == _archs(second)
        assert [t["value"] for t in first.trials] == [t["value"] for t in second.trials]

    def test_different_seeds_differ(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        runs = [_archs(run_search(make_searcher(s), oracle, self.objective, self.budget))
                for s in (0, 1, 2)]
        assert runs[0] != runs[1] and runs[1] != runs[2] and runs[0] != runs[2]

    def test_no_class_twice_and_no_stall(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        result = run_search(make_searcher(4), oracle, self.objective, 3 * self.budget)
        classes = [class_code(Arch.from_string(a)) for a in _archs(result)]
        assert len(set(classes)) == len(classes) == 3 * self.budget
        assert result.n_known == 0, f"{result.n_known} proposals of classes already known"
        assert result.n_proposals == 3 * self.budget and result.n_forced == 0

    def test_maximises(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        # Every objective is larger-is-better: the best found must rank in the top tenth of
        # the 6,466 classes (a minimiser would end near the bottom). Random search misses the
        # top tenth in 60 draws with probability about 0.9**60 = 0.002.
        for seed in (0, 1):
            result = run_search(make_searcher(seed), oracle, "clean", 60)
            assert result.rank is not None and result.rank <= 647
            assert result.best_value == max(t["value"] for t in result.trials)

    def test_min_clean_penalty_steers_to_feasible(
        self, make_searcher: MakeSearcher, oracle: Any
    ) -> None:
        # At pgd@8/255 the optimum belongs to constant networks; with min_clean the searcher
        # is told values below zero for infeasible cells and must still find feasible ones.
        result = run_search(make_searcher(5), oracle, "pgd@8/255", self.budget, min_clean=0.85)
        feasible = [t for t in result.trials if t["feasible"]]
        assert feasible and result.best_clean is not None and result.best_clean >= 0.85
        assert result.best_value == max(t["value"] for t in feasible)

    def test_learns_unasked_tells(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        searcher = make_searcher(6)
        rng = np.random.default_rng(99)
        warm = [Arch.random(rng) for _ in range(20)]
        for arch, value in zip(warm, oracle.evaluate(warm, "clean").values, strict=True):
            searcher.tell(arch, float(value))
        known = {class_code(a) for a in warm}
        for _ in range(20):
            arch = searcher.ask()
            assert class_code(arch) not in known
            known.add(class_code(arch))
            searcher.tell(arch, float(oracle.evaluate([arch], "clean").values[0]))

    def test_resume_equals_uninterrupted(
        self, make_searcher: MakeSearcher, oracle: Any, tmp_path: Path
    ) -> None:
        whole = run_search(make_searcher(8), oracle, self.objective, self.budget,
                           record_dir=tmp_path / "whole")
        run_search(make_searcher(8), oracle, self.objective, self.budget,
                   record_dir=tmp_path / "cut")
        lines = (tmp_path / "cut" / TRIALS_FILE).read_text().splitlines(keepends=True)
        keep = self.budget // 2
        cut = "".join(lines[:keep]) + lines[keep][: len(lines[keep]) // 2]  # killed mid-line
        (tmp_path / "cut" / TRIALS_FILE).write_text(cut)
        resumed = run_search(make_searcher(8), oracle, self.objective, self.budget,
                             record_dir=tmp_path / "cut", resume=True)
        assert resumed.replay == {"trials": keep, "diverged_at": None}
        assert _archs(resumed) == _archs(whole)
        on_disk = [json.loads(line) for line in (tmp_path / "cut" / TRIALS_FILE).open()]
        assert [t["arch"] for t in on_disk] == _archs(whole)

    def test_several_asks_before_tells(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        # With several workers the loop asks again before the pending cells are told: the
        # searcher must accept it and never propose a pending class twice.
        check_pending_asks(make_searcher(10),
                           lambda arch: float(oracle.evaluate([arch], self.objective).values[0]),
                           rounds=self.pending_rounds)
        result = run_search(make_searcher(10), oracle, self.objective, self.budget, workers=4)
        check_workers_run(result, self.budget)
        again = run_search(make_searcher(10), oracle, self.objective, self.budget, workers=4)
        assert _archs(again) == _archs(result)

    def test_sees_only_what_it_is_told(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        # Scramble the value of every class the first run did not evaluate: a searcher that
        # learns only from tell() must repeat the run exactly; one that peeked at the table
        # (or at the oracle) would see other values and diverge.
        first = run_search(make_searcher(9), oracle, self.objective, self.budget)
        keep = {class_code(Arch.from_string(a)) for a in _archs(first)}
        scrambled = ScrambledOracle(oracle, keep)
        moved = [a for a in map(Arch.from_code, range(0, NUM_CELLS, 97)) if class_code(a) not in keep]
        assert (scrambled.evaluate(moved, self.objective).values
                != oracle.evaluate(moved, self.objective).values).mean() > 0.5
        second = run_search(make_searcher(9), scrambled, self.objective, self.budget)
        assert _archs(second) == _archs(first)
        assert [t["value"] for t in second.trials] == [t["value"] for t in first.trials]

class MultiObjectiveConformance:
    """Pytest checks for a multi-objective searcher: the same contract with vector values.

    The searcher is told one value per objective, every component larger-is-better (the loop
    negates minimised objectives). Fixtures as for :class:`SearcherConformance`.
    """

    objectives: tuple[str, ...] = ("pgd@1/255", "clean")
    budget: int = 40
    pending_rounds: int = 20
    """Rounds of 8 asks before their tells in ``test_several_asks_before_tells``."""

    def _run(self, searcher: Searcher, oracle: Any, budget: int, **kwargs: Any) -> MultiSearchResult:
        return run_multi_search(searcher, oracle, list(self.objectives), budget, **kwargs)

    def _told_vector(self, oracle: Any) -> Callable[[Arch], tuple[float, ...]]:
        """``arch -> vector`` as the loop tells it (minimised objectives such as ``params:min``
        negated), for the checks that drive a searcher without the loop."""
        objectives = parse_objectives(list(self.objectives))

        def vector(arch: Arch) -> tuple[float, ...]:
            return oriented(evaluate_objectives(oracle, [arch], objectives)[0][0], objectives)

        return vector

    def test_repr_is_the_constructor_call(self, make_searcher: MakeSearcher) -> None:
        check_repr(make_searcher(7))

    def test_constructor_is_scikit_learn_style(self, make_searcher: MakeSearcher) -> None:
        check_constructor(make_searcher(7), 7)

    def test_proposals_are_valid_and_told_vectors(
        self, make_searcher: MakeSearcher, oracle: Any
    ) -> None:
        searcher = RecordingSearcher(make_searcher(0))
        self._run(searcher, oracle, self.budget)
        calls = searcher.calls
        assert calls[0][0] == "ask"
        for (kind, arch, _), (next_kind, next_arch, value) in zip(calls[::2], calls[1::2], strict=False):
            assert kind == "ask" and next_kind == "tell" and next_arch == arch
            assert isinstance(arch, Arch) and all(0 <= op < NUM_OPS for op in arch.ops)
            assert isinstance(value, tuple) and len(value) == len(self.objectives)
            assert all(isinstance(v, float) and np.isfinite(v) for v in value)

    @pytest.mark.parametrize("budget", [1, 7])
    def test_budget_is_exact(self, make_searcher: MakeSearcher, oracle: Any, budget: int) -> None:
        result = self._run(make_searcher(1), oracle, budget)
        assert result.n_evaluations == len(result.trials) == budget
        assert [t["n"] for t in result.trials] == list(range(1, budget + 1))

    def test_same_seed_same_run_and_seeds_differ(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        first = self._run(make_searcher(3), oracle, self.budget)
        second = self._run(make_searcher(3), oracle, self.budget)
        assert _archs(first) == _archs(second)
        assert [t["values"] for t in first.trials] == [t["values"] for t in second.trials]
        others = [_archs(self._run(make_searcher(s), oracle, self.budget)) for s in (0, 1)]
        assert len({tuple(_archs(first)), *(tuple(o) for o in others)}) == 3

    def test_no_class_twice_and_no_stall(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        result = self._run(make_searcher(4), oracle, 3 * self.budget)
        classes = [class_code(Arch.from_string(a)) for a in _archs(result)]
        assert len(set(classes)) == len(classes) == 3 * self.budget
        assert result.n_known == 0, f"{result.n_known} proposals of classes already known"
        assert result.n_proposals == 3 * self.budget and result.n_forced == 0

    def test_follows_each_direction(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        # pgd@1/255 minimised, clean maximised: the cells found must reach the bottom tenth of
        # the 6,466 classes on pgd@1/255 and the top tenth on clean accuracy (random search
        # misses a tenth in 60 draws with probability 0.9**60 = 0.002; a searcher that ignores
        # a direction ends at the wrong end).
        pgd = np.sort(oracle.objective_values("pgd@1/255"))
        clean = np.sort(oracle.objective_values("clean"))
        for seed in (0, 1):
            result = run_multi_search(make_searcher(seed), oracle, ["pgd@1/255:min", "clean"], 60)
            found = np.asarray([t["values"] for t in result.trials])
            assert found[:, 0].min() <= pgd[len(pgd) // 10]
            assert found[:, 1].max() >= clean[-(len(clean) // 10)]

    def test_learns_unasked_tells(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        searcher = make_searcher(6)
        rng = np.random.default_rng(99)
        warm = [Arch.random(rng) for _ in range(20)]
        vector = self._told_vector(oracle)
        for arch in warm:  # told before anything was asked
            searcher.tell(arch, vector(arch))
        known = {class_code(a) for a in warm}
        for _ in range(20):
            arch = searcher.ask()
            assert class_code(arch) not in known
            known.add(class_code(arch))
            searcher.tell(arch, vector(arch))

    def test_resume_equals_uninterrupted(
        self, make_searcher: MakeSearcher, oracle: Any, tmp_path: Path
    ) -> None:
        whole = self._run(make_searcher(8), oracle, self.budget, record_dir=tmp_path / "whole")
        self._run(make_searcher(8), oracle, self.budget, record_dir=tmp_path / "cut")
        lines = (tmp_path / "cut" / TRIALS_FILE).read_text().splitlines(keepends=True)
        keep = self.budget // 2
        (tmp_path / "cut" / TRIALS_FILE).write_text("".join(lines[:keep]) + lines[keep][:20])
        resumed = self._run(make_searcher(8), oracle, self.budget, record_dir=tmp_path / "cut",
                            resume=True)
        assert resumed.replay == {"trials": keep, "diverged_at": None}
        assert _archs(resumed) == _archs(whole)
        assert resumed.hypervolume == whole.hypervolume
        on_disk = [json.loads(line) for line in (tmp_path / "cut" / TRIALS_FILE).open()]
        assert [t["values"] for t in on_disk] == [t["values"] for t in whole.trials]

    def test_several_asks_before_tells(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        check_pending_asks(make_searcher(10), self._told_vector(oracle), rounds=self.pending_rounds)
        result = self._run(make_searcher(10), oracle, self.budget, workers=4)
        check_workers_run(result, self.budget)
        assert _archs(self._run(make_searcher(10), oracle, self.budget, workers=4)) == _archs(result)

    def test_sees_only_what_it_is_told(self, make_searcher: MakeSearcher, oracle: Any) -> None:
        # As for one objective: every class the first run did not evaluate gets another class's
        # vector (the same permutation for every objective). A searcher that learns only from
        # tell() repeats the run exactly; one that peeked at the table would diverge. Both runs
        # go through the wrapper, so both read a cost as the evaluated cell's own (a tabular
        # run reads its class representative's).
        unchanged = ScrambledOracle(oracle, set(np.unique(class_code_array()).tolist()))
        first = self._run(make_searcher(9), unchanged, self.budget)
        keep = {class_code(Arch.from_string(a)) for a in _archs(first)}
        scrambled = ScrambledOracle(oracle, keep)
        moved = [a for a in map(Arch.from_code, range(0, NUM_CELLS, 97)) if class_code(a) not in keep]
        for objective in (o.name for o in parse_objectives(list(self.objectives))):
            assert (scrambled.evaluate(moved, objective).values
                    != oracle.evaluate(moved, objective).values).mean() > 0.5
        second = self._run(make_searcher(9), scrambled, self.budget)
        assert _archs(second) == _archs(first)
        assert [t["values"] for t in second.trials] == [t["values"] for t in first.trials]
