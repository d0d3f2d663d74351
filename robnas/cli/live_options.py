"""Options of live evaluation shared by ``robnas verify`` and ``robnas search --mode live``."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from robnas.cli.values import int_option
from robnas.errors import RobnasError

MAX_TEST_IMAGES = 10_000
"""The largest test set of the release's datasets (CIFAR-10 and CIFAR-100; ImageNet16-120 has 6,000)."""
_DEVICE = re.compile(r"auto|cpu|cuda(?::[0-9]+)?")


def device_option(text: str) -> str:
    """argparse type of ``--device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    if not _DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu, cuda or cuda:N")
    return text


def add_live_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, required: bool = True,
                     n_images_default: str = "all") -> None:
    """``--weights``, ``--images``, ``--device``, ``--n-images``, ``--batch-size``, ``--store``
    and the attack protocol's step and query counts."""
    parser.add_argument("--weights", metavar="DIR", required=required,
                        help="NATS-Bench's NATS-tss-v1_0-3ffb9-full folder (released weights)")
    parser.add_argument("--images", metavar="DIR", required=required,
                        help="folder of the test sets (CIFAR-10/100 batches, ImageNet16, *-C)")
    parser.add_argument("--device", default=None, type=device_option, metavar="DEV",
                        help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--n-images", type=int_option(1, MAX_TEST_IMAGES), default=None, metavar="K",
                        help=f"evaluate on the first K test images, 1..{MAX_TEST_IMAGES} "
                             f"(default: {n_images_default})")
    parser.add_argument("--batch-size", type=int_option(1), default=None, metavar="B",
                        help="images per batch (default: 256)")
    parser.add_argument("--store", metavar="PATH",
                        help="SQLite file caching live results (default: in robnas' cache dir)")
    for option, field, text in _PROTOCOL_OPTIONS:
        parser.add_argument(option, type=int_option(1), default=None, metavar="N", dest=field,
                            help=text)


_PROTOCOL_OPTIONS = (
    ("--pgd-steps", "pgd_steps", "PGD iterations (default: 40, step 2.5*eps/steps)"),
    ("--apgd-steps", "apgd_steps", "APGD-CE iterations (default: 100)"),
    ("--square-queries", "square_queries", "Square attack queries per image (default: 5000)"),
)
"""Attack settings exposed on the command line: (option, AttackProtocol field, help)."""


def _protocol(args: argparse.Namespace, recorded: dict[str, Any]) -> Any:
    """The attack protocol: the recorded one on resume, the defaults otherwise, then the options."""
    from dataclasses import fields, replace

    from robnas.evaluation.attacks import AttackProtocol

    names = {f.name for f in fields(AttackProtocol)}
    base = AttackProtocol(**{k: v for k, v in (recorded.get("protocol") or {}).items() if k in names})
    given = {}
    for option, field, _ in _PROTOCOL_OPTIONS:
        value = getattr(args, field, None)
        if value is not None:
            if value < 1:
                raise RobnasError(f"{option} must be at least 1, got {value}")
            given[field] = value
    return replace(base, **given)


def attack_protocol(args: argparse.Namespace) -> Any:
    """The attack protocol of the options (the defaults, then ``--pgd-steps`` etc.)."""
    return _protocol(args, {})


def build_live_oracle(args: argparse.Namespace, dataset: str, n_images: int | None,
                      recorded: dict[str, Any] | None = None) -> Any:
    """A :class:`~robnas.evaluation.live_oracle.LiveOracle` from the options.

    ``recorded`` is the provenance of a run being resumed: what the options leave out is taken
    from it (weights, images, data root, batch size, store), and ``--n-images`` must match it.
    """
    from robnas.evaluation.live_oracle import LiveOracle

    recorded = recorded or {}
    weights = args.weights or (recorded.get("weights") or {}).get("root")
    images = args.images or recorded.get("images")
    if not weights or not images:
        raise RobnasError("live evaluation needs --weights DIR and --images DIR")
    for option, folder in (("--weights", weights), ("--images", images)):
        if not Path(folder).expanduser().is_dir():
            what = "is not a folder" if Path(folder).expanduser().exists() else "does not exist"
            raise RobnasError(f"{option} {folder} {what}")
    if recorded and n_images is not None and n_images != recorded.get("n_images"):
        raise RobnasError(f"--n-images {n_images} conflicts with the run being resumed "
                          f"({recorded.get('n_images')}); leave it out")
    if recorded:
        n_images = recorded.get("n_images")
    batch_size = args.batch_size or recorded.get("batch_size") or 256
    data = args.data
    if data is None and not os.environ.get("ROBNAS_DATA") and recorded.get("data_root"):
        data = recorded["data_root"]
    oracle = LiveOracle(
        dataset, weights=weights, images=images, data=data, n_images=n_images,
        device=args.device or "auto", batch_size=batch_size, protocol=_protocol(args, recorded),
        store=args.store or recorded.get("store"), progress=sys.stderr.isatty(),
    )
    was = (recorded.get("protocol") or {}).get("fingerprint")
    if was is not None and was != oracle.protocol.fingerprint():
        raise RobnasError(f"the run was evaluated under attack protocol {was}, this robnas uses "
                          f"{oracle.protocol.fingerprint()}: its results would not be comparable")
    return oracle


def cost_line(trials: list[dict[str, Any]], device: str) -> str:
    """``budget cost`` line: total compute seconds of the trials (GPU-seconds on CUDA)."""
    seconds = sum(float(t.get("cost_seconds") or 0.0) for t in trials)
    unit = "GPU-seconds" if device.startswith("cuda") else "CPU-seconds"
    return f"budget cost     {seconds:.1f} {unit} of live evaluation over {len(trials)} cells ({device})"
