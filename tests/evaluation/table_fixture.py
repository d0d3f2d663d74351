"""A source ``meta.json`` with only a few isomorphism classes, so a *complete* table is small.

Every NB201 index is assigned to one of ``representatives`` (the classes are arbitrary, not
NB201's isomorphism: the readers take the classes from ``meta.json``), so a table over those
few cells covers the whole space and :class:`TabularOracle` reads it like the release.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robnas.arch import NUM_CELLS, Arch

REPRESENTATIVES = (3, 101, 2024, 5000, 9999, 15000)
EPSILONS = {"fgsm@Linf": [0.5, 1.0, 2.0], "pgd@Linf": [1.0, 8.0]}


def write_coarse_meta(root: Path, representatives: tuple[int, ...] = REPRESENTATIVES) -> Path:
    """Write ``root/meta.json`` whose classes are ``representatives``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    reps = sorted(representatives)
    ids = {}
    for index in range(NUM_CELLS):
        rep = index if index in reps else reps[index % len(reps)]
        ids[str(index)] = {"nb201-string": Arch.from_code(index).to_string(), "isomorph": str(rep)}
    (root / "meta.json").write_text(json.dumps({"ids": ids, "epsilons": EPSILONS}))
    return root


def write_build_source(base: Path, n_images: int) -> tuple[Path, Path, Path]:
    """A table build's inputs under ``base``: a coarse ``meta.json`` (:data:`REPRESENTATIVES`),
    a NATS-format archive of those cells (CIFAR-10, 200 epochs, seed 777) and ``n_images``
    CIFAR-10 test images. Returns (data, weights, images) folders."""
    from tests.evaluation.dataset_fixtures import write_cifar10
    from tests.evaluation.nats_fixture import write_nats_archive

    data = write_coarse_meta(base / "data")
    write_nats_archive(base / "weights", {r: Arch.from_code(r) for r in REPRESENTATIVES},
                       datasets=("cifar10",), epochs=(200,), seeds=(777,))
    write_cifar10(base / "images", n=n_images)
    return data, base / "weights", base / "images"


def run_table_build(argv: list[str], capsys: Any) -> tuple[int, Any]:
    """``robnas table build ARGV`` in-process: ``(exit code, the --json payload)`` on success,
    ``(exit code, stderr)`` otherwise."""
    from robnas.cli.main import main

    code = main(["table", "build", *argv])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else out.err)
