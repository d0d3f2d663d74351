"""Run the examples (``>>>``) in every module's docstrings, found automatically.

The modules are not listed by hand: every module of every package that ``setup.cfg``
installs is collected, and each whose source holds ``>>>`` runs its examples. A second test
scans the package folders independently, so a module the collection missed (a new
subpackage, say) fails instead of being skipped.

Examples that read the released data take it from ``$ROBNAS_DATA`` and say so (the text
``ROBNAS_DATA`` appears in the module's examples): those need ``ROBNAS_TEST_DATA``, like every
test on the real data. The others run anywhere.
"""

from __future__ import annotations

import configparser
import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NEEDS_RELEASE = "ROBNAS_DATA"


def _setup_options() -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return config["options"]


def _package_dirs() -> dict[str, Path]:
    """Installed package -> its source folder (``setup.cfg``'s ``package_dir``)."""
    options = _setup_options()
    mapping = dict(
        (part.strip() for part in line.split("=", 1))
        for line in options["package_dir"].strip().splitlines()
    )
    packages = options["packages"].split()
    return {name: REPO / mapping.get(name, name.replace(".", "/")) for name in packages}


def _example_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.lstrip().startswith(">>>")]


def _modules_with_examples() -> dict[str, Path]:
    """Module name -> source file, for every installed module whose source holds ``>>>``."""
    found: dict[str, Path] = {}
    for package in _package_dirs():
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations, package
        candidates = [package] + [
            f"{package}.{info.name}"
            for info in pkgutil.iter_modules(spec.submodule_search_locations)
            if not info.ispkg
        ]
        for name in candidates:
            origin = importlib.util.find_spec(name).origin
            if origin and origin.endswith(".py") and _example_lines(Path(origin)):
                found[name] = Path(origin).resolve()
    return found


MODULES = _modules_with_examples()


def test_every_module_with_examples_is_collected() -> None:
    """An independent scan of the package folders finds no module the collection missed."""
    on_disk = {
        path.resolve()
        for folder in _package_dirs().values()
        for path in folder.glob("*.py")
        if _example_lines(path)
    }
    assert on_disk == set(MODULES.values())
    assert "robnas.arch" in MODULES and "robnas.benchmark.tabular_oracle" in MODULES


@pytest.mark.parametrize("name", sorted(MODULES))
def test_docstring_examples(name: str, request: pytest.FixtureRequest,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    if any(NEEDS_RELEASE in line for line in _example_lines(MODULES[name])):
        monkeypatch.setenv("ROBNAS_DATA", str(request.getfixturevalue("release_root")))
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
