from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["robnas.compare.trajectories", "robnas.compare.stats",
                                  "robnas.compare.plots"])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
