"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from robnas.vocabulary import Dataset


class StoreOnce(argparse.Action):
    """``store``, but an option given twice is an error instead of the last one silently winning."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        previous = getattr(namespace, self.dest, None)
        if previous is not None and previous != self.default:
            raise argparse.ArgumentError(
                self, f"given twice ({previous!r} and {values!r}); this command takes one"
            )
        setattr(namespace, self.dest, values)


STRICT_DATA_HELP = (
    "refuse a release file whose SHA-256 differs from its pin (default: warn on every use; "
    "tables you built yourself have no pins); also accepted before the command"
)
DATASET_CHOICES: tuple[str, ...] = tuple(d.value for d in Dataset)
"""The dataset names ``--dataset`` lists (its value is read with :func:`parse_dataset`, which
also accepts spellings such as ``CIFAR-10``)."""


def add_data_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, dataset: bool = True,
                     dataset_default: str | None = Dataset.CIFAR10.value, dataset_action: str | type = "store",
                     strict: bool = True) -> None:
    """Add ``--data PATH``, ``--strict-data`` (unless ``strict=False``: commands that read no
    result file) and (unless ``dataset=False``) ``--dataset D``."""
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="folder of the released data (default: $ROBNAS_DATA, else the per-user data dir)",
    )
    if strict:
        add_strict_data_option(parser)
    if dataset:
        default = f"default: {dataset_default}" if dataset_default else "default: cifar10"
        parser.add_argument(
            "--dataset",
            default=dataset_default,
            action=dataset_action,
            metavar="D",
            help=f"dataset: {', '.join(DATASET_CHOICES)} ({default})",
        )


def add_strict_data_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--strict-data`` on a data-reading command (the same flag is global: ``robnas --strict-data``).

    The subcommand's flag only ever sets it, so ``robnas --strict-data query ...`` is not undone
    by the subcommand's default.
    """
    parser.add_argument("--strict-data", action="store_true", default=argparse.SUPPRESS,
                        help=STRICT_DATA_HELP)


def add_objective_option(parser: argparse.ArgumentParser, *, multiple: bool = False) -> None:
    """Add ``--objective O`` (repeatable when ``multiple``)."""
    help_text = (
        "what to maximise: clean, pgd@8/255, fgsm@0.5/255, apgd@1/255, square@2/255, "
        "gaussian_noise@3, pgd@mean, adversarial@mean, corruption@mean"
    )
    if multiple:
        parser.add_argument("--objective", "-O", action="append", required=True, metavar="O",
                            help=help_text + " (repeat for several)")
    else:
        parser.add_argument("--objective", "-O", action=StoreOnce, required=True, metavar="O", help=help_text)


def print_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON on stdout."""
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
