"""The modules robnas installs, found from ``setup.cfg`` rather than from a hand-kept list."""

from __future__ import annotations

import configparser
import importlib.util
import pkgutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def package_dirs() -> dict[str, Path]:
    """Installed package -> its source folder (``setup.cfg``'s ``packages`` and ``package_dir``)."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    options = config["options"]
    mapping = dict(
        (part.strip() for part in line.split("=", 1))
        for line in options["package_dir"].strip().splitlines()
    )
    return {name: REPO / mapping.get(name, name.replace(".", "/")) for name in options["packages"].split()}


def installed_modules() -> dict[str, Path]:
    """Every module of every installed package (packages included) -> its source file."""
    found: dict[str, Path] = {}
    for package in package_dirs():
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations, package
        names = [package] + [
            f"{package}.{info.name}"
            for info in pkgutil.iter_modules(spec.submodule_search_locations)
            if not info.ispkg
        ]
        for name in names:
            origin = importlib.util.find_spec(name).origin
            if origin and origin.endswith(".py"):
                found[name] = Path(origin).resolve()
    return found
