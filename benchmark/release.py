"""The official release layout: ``<root>/meta.json`` and ``<root>/<dataset>/<key>_<measure>.json``.

Each result file nests ``{dataset: {key: {measure: {id: value}}}}``, keyed by the 6,466
representative NB201 indices (as strings). ``clean`` holds a number per id, an attack a list
aligned with ``meta.json["epsilons"][key]``, a corruption a list of 5 severities, and a ``cm``
file a 10x10 (or classes x classes) confusion matrix.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple
from pathlib import Path
from typing import Any

from robnas.errors import DataFormatError, DataNotFoundError, DataUnreadableError
from robnas.vocabulary import Dataset, Measure, all_keys


def result_path(root: Path, dataset: Dataset, key: str, measure: Measure | str) -> Path:
    """Where the release keeps ``key``'s ``measure`` for ``dataset``."""
    return Path(root) / Dataset(dataset).value / f"{key}_{Measure(measure).value}.json"


class ResultFile(namedtuple("ResultFile", ["dataset", "key", "measure", "path"])):
    """One result file that is present in a data root."""

    __slots__ = ()
    dataset: Dataset
    key: str
    measure: Measure
    path: Path

    @property
    def relative(self) -> str:
        """Path relative to the data root, as SHA256SUMS names it (without ``./``)."""
        return f"{self.dataset.value}/{self.path.name}"


def folder_names(folder: Path) -> set[str]:
    """The names in ``folder``; none where it does not exist (or is a file): not installed.

    Raises:
        DataUnreadableError: ``folder`` is there but cannot be listed (no permission), which is
            not "not installed", naming it.
    """
    try:
        return set(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return set()
    except OSError as err:
        raise DataUnreadableError(f"cannot read the folder {folder}: {err.strerror or err}") from None


def inventory(root: Path) -> list[ResultFile]:
    """Every result file of the release vocabulary present under ``root``.

    Raises:
        DataUnreadableError: a dataset's folder is there but cannot be searched (no permission).
    """
    found = []
    for dataset in Dataset:
        names = folder_names(Path(root) / dataset.value)
        for key in all_keys():
            for measure in Measure:
                path = result_path(root, dataset, key, measure)
                if path.name in names and path.is_file():
                    found.append(ResultFile(dataset, key, measure, path))
    return found


def read_result_file(path: Path, dataset: Dataset, key: str, measure: Measure | str) -> dict[str, Any]:
    """The ``{id: value}`` mapping of one result file, checked against its expected nesting.

    Raises:
        DataNotFoundError: the file is missing (named, with the dataset's folder).
        DataFormatError: the file is not JSON or not nested as the release nests it.
    """
    measure = Measure(measure)
    if not path.is_file():
        raise DataNotFoundError(
            f"{dataset.value}/{path.name} is not in {path.parent.parent} "
            f"(needed for {key} {measure.value} on {dataset.value})"
        )
    try:
        with path.open("rb") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as err:
        raise DataFormatError(f"{path} is not a readable JSON file: {err}") from None
    try:
        values = document[dataset.value][key][measure.value]
    except (KeyError, TypeError):
        raise DataFormatError(
            f"{path} does not hold {dataset.value} -> {key} -> {measure.value} as the release does"
        ) from None
    if not isinstance(values, dict) or not values:
        raise DataFormatError(f"{path}: expected a non-empty mapping of ids to values")
    return values


def read_meta(path: Path) -> dict[str, Any]:
    """The parsed ``meta.json`` (``ids`` and ``epsilons``), with its top level checked."""
    if not path.is_file():
        raise DataNotFoundError(f"{path} is missing: the data root needs the release's meta.json")
    try:
        with path.open("rb") as handle:
            meta = json.load(handle)
    except (OSError, ValueError) as err:
        raise DataFormatError(f"{path} is not a readable JSON file: {err}") from None
    if not isinstance(meta, dict) or "ids" not in meta or "epsilons" not in meta:
        raise DataFormatError(f"{path} lacks the 'ids' and 'epsilons' of the release's meta.json")
    return meta
