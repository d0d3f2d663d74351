"""The Python API: one import path (``robnas``), resolved lazily; every error class in one module."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import robnas
from robnas import errors
from robnas.errors import InvalidSearcherError, RobnasError
from tests.installed_modules import installed_modules


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_error_class_lives_in_robnas_errors_and_is_exported() -> None:
    for name in installed_modules():
        if not name.endswith(".__main__"):  # running it is its only job
            importlib.import_module(name)
    classes = {c for c in _all_subclasses(RobnasError) if c.__module__.startswith("robnas")}
    elsewhere = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if c.__module__ != "robnas.errors")
    assert elsewhere == []
    defined = {c.__name__ for c in classes} | {"RobnasError"}
    assert defined == set(errors.__all__)
    for name in errors.__all__:
        assert getattr(robnas, name) is getattr(errors, name)
        assert name in robnas.__all__


def test_error_classes_are_still_importable_where_they_were() -> None:
    from robnas.benchmark import ChecksumMismatchError, DownloadError, UnsafeArchiveError
    from robnas.benchmark.archive import ChecksumMismatchError as archive_mismatch
    from robnas.benchmark.download import DownloadError as download_error
    from robnas.evaluation import StoreError, UnsafePickleError
    from robnas.evaluation.safe_pickle import UnsafePickleError as pickle_error
    from robnas.evaluation.store import StoreError as store_error
    from robnas.run_record import RunRecordError

    assert RunRecordError is errors.RunRecordError
    assert ChecksumMismatchError is archive_mismatch is errors.ChecksumMismatchError
    assert DownloadError is download_error is errors.DownloadError
    assert UnsafeArchiveError is errors.UnsafeArchiveError
    assert UnsafePickleError is pickle_error is errors.UnsafePickleError
    assert StoreError is store_error is errors.StoreError


def test_the_main_entry_points_import_from_robnas_lazily() -> None:
    code = (
        "import sys, robnas\n"
        "early = sorted(m for m in ('numpy', 'pandas', 'robnas.loop', 'robnas.run_record') if m in sys.modules)\n"
        "from robnas import run_search, SearchResult, RunRecord, RobnasError\n"
        "from robnas import plan_runs, run_comparison, write_reports, load_trajectories\n"
        "from robnas import run_multi_search, MultiSearchResult, ParetoProblem\n"
        "import robnas.loop, robnas.run_record, robnas.compare, robnas.multi_loop\n"
        "assert run_multi_search is robnas.multi_loop.run_multi_search\n"
        "assert run_search is robnas.loop.run_search and SearchResult is robnas.loop.SearchResult\n"
        "assert RunRecord is robnas.run_record.RunRecord\n"
        "assert run_comparison is robnas.compare.run_comparison\n"
        "print('EARLY', early)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "EARLY []" in out
    for name in robnas.__all__:
        assert getattr(robnas, name) is not None


def test_run_search_takes_a_searcher_name(cifar10_oracle) -> None:
    from robnas.searchers import RegularizedEvolution

    by_name = robnas.run_search("re", cifar10_oracle, "pgd@1/255", 30, params={"seed": 3})
    by_object = robnas.run_search(RegularizedEvolution(seed=3), cifar10_oracle, "pgd@1/255", 30)
    assert [t["arch"] for t in by_name.trials] == [t["arch"] for t in by_object.trials]
    tuned = robnas.run_search("re", cifar10_oracle, "pgd@1/255", 30,
                              params={"seed": 3, "population_size": 5, "sample_size": 2})
    assert [t["arch"] for t in tuned.trials] != [t["arch"] for t in by_name.trials]


@pytest.mark.parametrize(
    ("searcher", "params", "message"),
    [
        ("evolution", {}, "unknown searcher 'evolution'; valid: random, re, ls, bo"),
        ("re", {"populaton_size": 5}, "searcher re has no parameter 'populaton_size'; valid: "),
    ],
)
def test_a_bad_searcher_name_or_keyword_is_one_clear_error(cifar10_oracle, searcher, params, message) -> None:
    with pytest.raises(InvalidSearcherError, match=message) as caught:
        robnas.run_search(searcher, cifar10_oracle, "pgd@1/255", 5, params=params)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, RobnasError)


def test_params_with_a_searcher_object_are_refused(cifar10_oracle) -> None:
    from robnas.searchers import RandomSearch

    with pytest.raises(InvalidSearcherError, match="set them on the object"):
        robnas.run_search(RandomSearch(seed=1), cifar10_oracle, "clean", 5, params={"seed": 2})


def test_a_searcher_class_is_refused_naming_the_call_to_write(cifar10_oracle) -> None:
    from robnas.searchers import ParetoLocalSearch, RegularizedEvolution

    # was TypeError: RegularizedEvolution.validate_params() missing 1 required positional argument
    with pytest.raises(InvalidSearcherError, match=r"got the class RegularizedEvolution: write "
                                                   r"RegularizedEvolution\(seed=\.\.\.\)"):
        robnas.run_search(RegularizedEvolution, cifar10_oracle, "pgd@1/255", 5)
    with pytest.raises(InvalidSearcherError, match="got the class ParetoLocalSearch"):
        robnas.run_multi_search(ParetoLocalSearch, cifar10_oracle, ["pgd@1/255", "clean"], 5)


def test_a_searcher_object_drives_one_search_only(cifar10_oracle) -> None:
    from robnas.searchers import ParetoLocalSearch, RegularizedEvolution

    searcher = RegularizedEvolution(seed=0)
    first = robnas.run_search(searcher, cifar10_oracle, "pgd@1/255", 30)
    # a second run went on from the first one's generator and population: seed 0 gave another run
    with pytest.raises(InvalidSearcherError, match=r"this RegularizedEvolution\(seed=0\) object already "
                                                   r"drove a search"):
        robnas.run_search(searcher, cifar10_oracle, "pgd@1/255", 30)
    again = robnas.run_search(RegularizedEvolution(seed=0), cifar10_oracle, "pgd@1/255", 30)
    assert [t["arch"] for t in again.trials] == [t["arch"] for t in first.trials]
    multi = ParetoLocalSearch(seed=0)
    robnas.run_multi_search(multi, cifar10_oracle, ["pgd@1/255", "clean"], 10)
    with pytest.raises(InvalidSearcherError, match="already drove a search"):
        robnas.run_multi_search(multi, cifar10_oracle, ["pgd@1/255", "clean"], 10)
    # a call refused before the run starts leaves the object usable
    unused = RegularizedEvolution(seed=0)
    with pytest.raises(RobnasError):
        robnas.run_search(unused, cifar10_oracle, "pgd@7/255", 30)
    assert [t["arch"] for t in robnas.run_search(unused, cifar10_oracle, "pgd@1/255", 30).trials] == \
        [t["arch"] for t in first.trials]


def test_a_result_gives_its_trials_as_a_dataframe(cifar10_oracle) -> None:
    result = robnas.run_search("re", cifar10_oracle, "pgd@1/255", 25, params={"seed": 1})
    frame = result.trials_frame()
    assert list(frame.columns[:6]) == ["n", "index", "arch", "value", "best", "clean"]
    assert frame["n"].tolist() == list(range(1, 26))
    assert frame.to_dict("records") == result.trials
    assert frame["best"].iloc[-1] == result.best_value == frame["value"].max()
    multi = robnas.run_multi_search("pls", cifar10_oracle, ["pgd@1/255", "params:min"], 12, params={"seed": 1})
    table = multi.trials_frame()
    assert list(table.columns[:5]) == ["n", "index", "arch", "pgd@1/255", "params"]  # the values list, spread
    assert "values" not in table and len(table) == 12
    assert [list(row) for row in table[["pgd@1/255", "params"]].to_numpy()] == [t["values"] for t in multi.trials]


def test_the_loops_take_a_seed_for_a_searcher_given_by_name(cifar10_oracle) -> None:
    # run_search("re", ..., seed=0) was a TypeError: the seed went through params only
    from robnas import run_multi_search, run_search
    from robnas.errors import InvalidParameterError, InvalidSearcherError
    from robnas.searchers import RegularizedEvolution

    by_keyword = run_search("re", cifar10_oracle, "pgd@1/255", 20, seed=3)
    by_params = run_search("re", cifar10_oracle, "pgd@1/255", 20, params={"seed": 3})
    other = run_search("re", cifar10_oracle, "pgd@1/255", 20, seed=4)
    assert [t["index"] for t in by_keyword.trials] == [t["index"] for t in by_params.trials]
    assert [t["index"] for t in by_keyword.trials] != [t["index"] for t in other.trials]
    front = run_multi_search("pls", cifar10_oracle, ["pgd@1/255", "clean"], 20, seed=3).front
    assert front.equals(run_multi_search("pls", cifar10_oracle, ["pgd@1/255", "clean"], 20, params={"seed": 3}).front)
    with pytest.raises(InvalidParameterError, match="give the seed once"):
        run_search("re", cifar10_oracle, "pgd@1/255", 20, params={"seed": 1}, seed=3)
    with pytest.raises(InvalidSearcherError, match="set them on the object"):
        run_search(RegularizedEvolution(seed=1), cifar10_oracle, "pgd@1/255", 20, seed=3)
