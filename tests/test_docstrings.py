"""Run the examples in the public modules' docstrings."""

from __future__ import annotations

import doctest
import importlib

import pytest

PURE_MODULES = [
    "robnas.arch",
    "robnas.cost",
    "robnas.isomorphism",
    "robnas.encodings",
    "robnas.objective",
    "robnas.vocabulary",
    "robnas.pareto",
    "robnas.multi_objective",
    "robnas.searchers",
    "robnas.searchers._pareto_local_search",
    "robnas.searchers._parego",
    "robnas.searchers._optuna_multi",
]


@pytest.mark.parametrize("name", PURE_MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_tabular_oracle_examples(release_root, monkeypatch) -> None:
    monkeypatch.setenv("ROBNAS_DATA", str(release_root))
    result = doctest.testmod(importlib.import_module("robnas.benchmark.tabular_oracle"))
    assert result.attempted >= 4 and result.failed == 0
