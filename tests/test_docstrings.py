"""Run the examples (``>>>``) in every module's docstrings, found automatically.

The modules are not listed by hand: every module of every package that ``setup.cfg``
installs is collected, and each whose source holds ``>>>`` runs its examples. A second test
scans the source folders independently, so a module the collection missed (say, a new
subpackage not added to ``setup.cfg``) fails instead of being skipped.

Examples that read the released data take it from ``$ROBNAS_DATA`` and say so (the text
``ROBNAS_DATA`` appears in the module's examples): those need ``ROBNAS_TEST_DATA``, like every
test on the real data. The others run anywhere.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from tests.installed_modules import installed_modules, package_dirs

NEEDS_RELEASE = "ROBNAS_DATA"


def _example_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.lstrip().startswith(">>>")]


def _modules_with_examples() -> dict[str, Path]:
    """Module name -> source file, for every installed module whose source holds ``>>>``."""
    return {name: path for name, path in installed_modules().items() if _example_lines(path)}


MODULES = _modules_with_examples()


def test_every_module_with_examples_is_collected() -> None:
    """An independent scan of the package folders finds no module the collection missed."""
    folders = set(package_dirs().values())
    roots = [f for f in folders if not any(other in f.parents for other in folders)]
    # every .py file below the top folders: a subpackage missing from setup.cfg shows up here
    on_disk = {path.resolve() for root in roots for path in root.rglob("*.py") if _example_lines(path)}
    assert on_disk == set(MODULES.values())
    assert "robnas.arch" in MODULES and "robnas.benchmark.tabular_oracle" in MODULES


@pytest.mark.parametrize("name", sorted(MODULES))
def test_docstring_examples(name: str, request: pytest.FixtureRequest,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    if any(NEEDS_RELEASE in line for line in _example_lines(MODULES[name])):
        monkeypatch.setenv("ROBNAS_DATA", str(request.getfixturevalue("release_root")))
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
