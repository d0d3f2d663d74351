"""Fixtures of the analysis tests: the real CIFAR-10 table, and the same values read straight
from the released JSON (the independent expectation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

OBJECTIVES = ["clean", "pgd@1/255", "fgsm@1/255", "adversarial@mean"]


def released(root: Path, dataset: str) -> pd.DataFrame:
    """Per representative (index ``nb201_index``): arch and clean, pgd@1/255, fgsm@1/255 and the
    mean over every attack and epsilon, straight from the JSON files."""
    meta = json.loads((root / "meta.json").read_text())
    folder = root / dataset

    def read(key: str) -> dict[int, object]:
        raw = json.loads((folder / f"{key}_accuracy.json").read_text())[dataset][key]["accuracy"]
        return {int(k): v for k, v in raw.items()}

    attacks = ["fgsm@Linf", "pgd@Linf", "aa_apgd-ce@Linf", "aa_square@Linf"]
    tables = {key: read(key) for key in attacks}
    clean = read("clean")
    reps = sorted(clean)
    pgd_col = meta["epsilons"]["pgd@Linf"].index(1.0)
    fgsm_col = meta["epsilons"]["fgsm@Linf"].index(1.0)
    return pd.DataFrame(
        {
            "arch": [meta["ids"][str(r)]["nb201-string"] for r in reps],
            "clean": [clean[r] for r in reps],
            "pgd@1/255": [tables["pgd@Linf"][r][pgd_col] for r in reps],
            "fgsm@1/255": [tables["fgsm@Linf"][r][fgsm_col] for r in reps],
            "adversarial@mean": [np.mean([v for k in attacks for v in tables[k][r]]) for r in reps],
        },
        index=pd.Index(reps, name="nb201_index"),
    )


@pytest.fixture(scope="session")
def raw_cifar10(release_root) -> pd.DataFrame:
    return released(release_root, "cifar10")


@pytest.fixture(scope="session")
def frame(cifar10_oracle) -> pd.DataFrame:
    from robnas.analysis import class_frame

    return class_frame(cifar10_oracle, OBJECTIVES)
