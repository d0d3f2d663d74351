"""Where the released robustness data lives, and where robnas caches what it derives from it.

Data root, first match wins:
1. an explicit path (``--data PATH`` on the CLI, ``data=`` in Python);
2. the environment variable ``ROBNAS_DATA``;
3. the per-user data directory, ``$XDG_DATA_HOME/robnas/robustness-data`` on Linux
   (``~/.local/share/robnas/robustness-data``), where ``robnas data download`` puts it.

Cache directory: ``ROBNAS_CACHE_DIR`` if set, else the per-user cache directory
(``~/.cache/robnas`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

from robnas.errors import DataNotFoundError

DATA_ENV = "ROBNAS_DATA"
CACHE_ENV = "ROBNAS_CACHE_DIR"
META_FILE = "meta.json"


def default_data_dir() -> Path:
    """The per-user place for the data (created by ``robnas data download``)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("robnas", appauthor=False)) / "robustness-data"


def default_cache_dir() -> Path:
    """The directory robnas caches parsed tables in."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("robnas", appauthor=False))


def resolve_data_root(data: str | os.PathLike[str] | None = None) -> Path:
    """The data root to read, following the order in the module docs.

    Raises:
        DataNotFoundError: no ``meta.json`` where the data should be; the message says how to
            get the data.
    """
    if data is not None and not str(data).strip():
        raise DataNotFoundError("--data needs a folder holding the release's meta.json, got ''")
    if data is not None:
        candidates = [("--data", Path(data))]
    elif os.environ.get(DATA_ENV):
        candidates = [(f"${DATA_ENV}", Path(os.environ[DATA_ENV]))]
    else:
        candidates = [("the default data directory", default_data_dir())]
    origin, root = candidates[0]
    root = root.expanduser()
    if not (root / META_FILE).is_file():
        raise DataNotFoundError(
            f"no robustness data at {root} ({origin}): run `robnas data download`, "
            f"or pass --data PATH / set {DATA_ENV} to a folder holding {META_FILE}"
        )
    return root.resolve()


def download_command(root: Path, dataset: str) -> str:
    """The command that installs ``dataset`` into the data root ``root``.

    ``--dest`` is left out where ``robnas data download`` installs by default (``$ROBNAS_DATA``,
    else the per-user data directory).
    """
    return f"robnas data download --datasets {dataset}{dest_option(root)}"


def dest_option(root: Path) -> str:
    """`` --dest ROOT`` for the install commands, or ``""`` where they install into ``root`` by
    default (``$ROBNAS_DATA``, else the per-user data directory)."""
    import shlex

    default = Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else default_data_dir()
    if Path(root).expanduser().resolve() != default.expanduser().resolve():
        return f" --dest {shlex.quote(str(root))}"
    return ""


def missing_dataset_error(root: Path, dataset: str) -> DataNotFoundError:
    """The error for a data root that holds no results of ``dataset``: which, and how to get it."""
    return DataNotFoundError(
        f"dataset {dataset} is not installed in {root} (no {dataset}/*_accuracy.json there); "
        f"get it with: {download_command(root, dataset)}"
    )


def missing_files_error(root: Path, dataset: str, keys: list[str], objective: str) -> DataNotFoundError:
    """The error for an objective that needs released files (of ``keys``) a copy of the release lacks."""
    files = [f"{dataset}/{key}_accuracy.json" for key in keys]
    named = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return DataNotFoundError(
        f"{objective} needs {named}, which {'is' if len(files) == 1 else 'are'} missing from {root} "
        f"(a copy of the release); get {'it' if len(files) == 1 else 'them'} with: "
        f"{download_command(root, dataset)}"
    )
