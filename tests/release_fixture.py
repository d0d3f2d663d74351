"""Write small data roots in the release's exact layout, with content a test controls.

The synthetic ``meta.json`` uses robnas' own code order as the NB201 index order and robnas'
isomorphism for representatives, so values are predictable: ``value_of(index)`` below.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from robnas.arch import NUM_CELLS, Arch
from robnas.isomorphism import class_code_array

EPSILONS = {"pgd@Linf": [0.1, 1.0, 8.0], "fgsm@Linf": [0.5, 1.0]}


def representatives() -> np.ndarray:
    """Representative index of each index (index = code here)."""
    return class_code_array().copy()


def synthetic_value(index: int, column: int = 0) -> float:
    """A deterministic accuracy for a representative index and a grid column."""
    return round(((index * 7919 + column * 104729) % 1000) / 1000, 3)


def write_release(
    root: Path,
    dataset: str = "cifar10",
    keys: tuple[str, ...] = ("clean", "pgd@Linf"),
    drop_ids: int = 0,
) -> Path:
    """Write ``meta.json`` and ``<dataset>/<key>_accuracy.json`` files under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    reps = representatives()
    ids = {
        str(i): {"nb201-string": Arch.from_code(i).to_string(), "isomorph": str(int(reps[i]))}
        for i in range(NUM_CELLS)
    }
    (root / "meta.json").write_text(json.dumps({"ids": ids, "epsilons": EPSILONS}))
    unique = sorted({int(r) for r in reps})
    if drop_ids:
        unique = unique[drop_ids:]
    folder = root / dataset
    folder.mkdir(exist_ok=True)
    for key in keys:
        if key == "clean":
            values = {str(i): synthetic_value(i) for i in unique}
        else:
            width = len(EPSILONS.get(key, [1, 2, 3, 4, 5]))
            values = {str(i): [synthetic_value(i, c + 1) for c in range(width)] for i in unique}
        document = {dataset: {key: {"accuracy": values}}}
        (folder / f"{key}_accuracy.json").write_text(json.dumps(document))
    return root
