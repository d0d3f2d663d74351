"""The first run works: fetch a dataset's released table when it is installed nowhere.

When a command that reads the table is given no data location (no ``--data``, no
``$ROBNAS_DATA``) and the per-user data folder lacks ``meta.json`` or every accuracy file of
the dataset asked for, :func:`fetch_missing` downloads exactly what that needs, ``meta.zip``
and ``<dataset>-accuracies.zip``, through :func:`robnas.benchmark.install.download_release`
(resumable, progress bar, pinned SHA-256, all-or-nothing install). A location the user named
is never filled behind their back: there the usual "no robustness data" error stands.

``offline=True`` (``--offline`` on the CLI) or ``ROBNAS_OFFLINE=1`` turns this off. The
archives come from ``$ROBNAS_BASE_URL`` when set (a mirror, or a test server), else
:data:`~robnas.benchmark.install.DEFAULT_BASE_URL`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from robnas.benchmark.location import DATA_ENV, META_FILE, default_data_dir
from robnas.errors import RobnasError
from robnas.vocabulary import Dataset, Measure, parse_dataset

OFFLINE_ENV = "ROBNAS_OFFLINE"
BASE_URL_ENV = "ROBNAS_BASE_URL"
_FALSE = ("", "0", "false", "no", "off")


def offline(flag: bool = False) -> bool:
    """Whether fetching is off: ``flag``, or ``$ROBNAS_OFFLINE`` set to anything but 0/false/no/off."""
    return flag or os.environ.get(OFFLINE_ENV, "").strip().lower() not in _FALSE


def base_url() -> str:
    """Where the release archives are: ``$ROBNAS_BASE_URL``, else the official address."""
    from robnas.benchmark.install import DEFAULT_BASE_URL

    return os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL


def missing_archives(dataset: Dataset | str, data: str | os.PathLike[str] | None = None) -> list[str]:
    """The archives to fetch so that ``dataset`` can be read, or ``[]``.

    Always ``[]`` when ``data`` or ``$ROBNAS_DATA`` names a location (the user chose it).
    """
    from robnas.benchmark.install import archive_names

    if data is not None or os.environ.get(DATA_ENV):
        return []
    chosen = parse_dataset(dataset)
    root = default_data_dir()
    wanted = []
    for name, of in archive_names([chosen], [Measure.ACCURACY]):
        present = (root / META_FILE).is_file() if of is None else any(
            (root / of.value).glob("*_accuracy.json"))
        if not present:
            wanted.append(name)
    return wanted


def fetch_missing(
    datasets: list[Dataset | str] | tuple[Dataset | str, ...],
    data: str | os.PathLike[str] | None = None,
    *,
    offline_flag: bool = False,
    progress: bool = False,
    announce: Callable[[str], None] | None = None,
) -> Path | None:
    """Download what ``datasets`` need into the per-user data folder, if it lacks them.

    Args:
        datasets: the datasets a command is about to read.
        data: the data location the command was given (``None``: none).
        offline_flag: the ``--offline`` option (``$ROBNAS_OFFLINE`` also counts).
        progress: show download progress bars on stderr.
        announce: called with one line saying what is fetched and where, before fetching.

    Returns:
        The data folder written, or ``None`` when nothing was fetched.

    Raises:
        RobnasError: the fetch failed (one line; nothing was installed).
    """
    if offline(offline_flag):
        return None
    names = list(dict.fromkeys(n for d in datasets for n in missing_archives(d, data)))
    if not names:
        return None
    from robnas.benchmark.install import download_release

    dest, url = default_data_dir(), base_url()
    chosen = [parse_dataset(d) for d in datasets]
    if announce is not None:
        announce(f"fetching {' and '.join(names)} from {url} into {dest} "
                 f"(first use of {', '.join(d.value for d in chosen)}; --offline to turn off)")
    try:
        download_release(dest, chosen, ("accuracy",), base_url=url, progress=progress)
    except RobnasError as err:
        raise RobnasError(
            f"could not fetch the {', '.join(d.value for d in chosen)} data, nothing was installed "
            f"({err}); retry, use `robnas data import`, or pass --data PATH"
        ) from None
    return dest
