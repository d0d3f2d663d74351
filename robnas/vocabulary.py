"""Closed vocabularies of the release: datasets, attack keys, corruptions, measures.

These are string-valued enums; the CLI derives its choices from them, and
:func:`parse_dataset` accepts the spellings users type.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from robnas.errors import InvalidDatasetError, InvalidParameterError


class Dataset(str, Enum):
    """A dataset of the release, valued by its folder name."""

    CIFAR10 = "cifar10"
    CIFAR100 = "cifar100"
    IMAGENET16_120 = "ImageNet16-120"

    def __str__(self) -> str:
        return self.value


class Attack(str, Enum):
    """An adversarial attack key of the release (L-infinity, epsilons in units of 1/255)."""

    FGSM = "fgsm@Linf"
    PGD = "pgd@Linf"
    APGD_CE = "aa_apgd-ce@Linf"
    SQUARE = "aa_square@Linf"

    def __str__(self) -> str:
        return self.value


class Corruption(str, Enum):
    """A common-corruption key of the release (CIFAR-10-C / CIFAR-100-C, severities 1..5)."""

    GAUSSIAN_NOISE = "gaussian_noise"
    SHOT_NOISE = "shot_noise"
    IMPULSE_NOISE = "impulse_noise"
    DEFOCUS_BLUR = "defocus_blur"
    GLASS_BLUR = "glass_blur"
    MOTION_BLUR = "motion_blur"
    ZOOM_BLUR = "zoom_blur"
    SNOW = "snow"
    FROST = "frost"
    FOG = "fog"
    BRIGHTNESS = "brightness"
    CONTRAST = "contrast"
    ELASTIC_TRANSFORM = "elastic_transform"
    PIXELATE = "pixelate"
    JPEG_COMPRESSION = "jpeg_compression"

    def __str__(self) -> str:
        return self.value


class Measure(str, Enum):
    """A measure of the release: per-file suffix ``<key>_<measure>.json``."""

    ACCURACY = "accuracy"
    CONFIDENCE = "confidence"
    CM = "cm"

    def __str__(self) -> str:
        return self.value


class Engine(str, Enum):
    """Where many independent tasks run (:mod:`robnas.execution`): ``--executor`` choices."""

    LOCAL = "local"
    RAY = "ray"

    def __str__(self) -> str:
        return self.value


CLEAN = "clean"
"""The release key of clean (unattacked, uncorrupted) test accuracy."""

SEVERITIES = (1, 2, 3, 4, 5)
"""Corruption severities, in the order the release lists them."""

_DATASET_ALIASES = {
    "cifar10": Dataset.CIFAR10,
    "cifar-10": Dataset.CIFAR10,
    "cifar100": Dataset.CIFAR100,
    "cifar-100": Dataset.CIFAR100,
    "imagenet16-120": Dataset.IMAGENET16_120,
    "imagenet16": Dataset.IMAGENET16_120,
    "imagenet": Dataset.IMAGENET16_120,
}


def parse_dataset(text: str | Dataset) -> Dataset:
    """Return the :class:`Dataset` that ``text`` names (case-insensitive, common spellings).

    >>> parse_dataset("CIFAR-10")
    <Dataset.CIFAR10: 'cifar10'>
    >>> parse_dataset("imagenet16-120").value
    'ImageNet16-120'
    """
    if isinstance(text, Dataset):
        return text
    found = _DATASET_ALIASES.get(str(text).strip().lower())
    if found is None:
        choices = ", ".join(d.value for d in Dataset)
        raise InvalidDatasetError(f"unknown dataset {text!r}; choose one of: {choices}")
    return found


def name_list(value: Any, what: str) -> list[Any]:
    """``value`` as a list, where a list of names (objectives, measures, searchers, formats)
    belongs; a lone string is refused: iterated, ``"clean"`` would be five one-letter names and
    the error would name ``'c'``.

    >>> name_list(("clean", "pgd@1/255"), "objectives")
    ['clean', 'pgd@1/255']
    >>> name_list("clean", "objectives")
    Traceback (most recent call last):
    ...
    robnas.errors.InvalidParameterError: objectives must be a list (e.g. ['clean']), got 'clean'
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidParameterError(f"{what} must be a list (e.g. [{value!r}]), got {value!r}")
    return list(value)


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless one (regular nouns: ``run``, ``objective``).

    >>> counted(1, "run"), counted(3, "run"), counted(0, "objective")
    ('1 run', '3 runs', '0 objectives')
    """
    return f"{number} {noun}{'' if number == 1 else 's'}"


def all_keys() -> list[str]:
    """Every result key of the release: clean, the four attacks, the 15 corruptions."""
    return [CLEAN, *(a.value for a in Attack), *(c.value for c in Corruption)]
