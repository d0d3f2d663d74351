"""``--executor`` and ``--ray-address``: where a command's many independent tasks run."""

from __future__ import annotations

import argparse
from typing import Any

from robnas.vocabulary import Engine


def add_executor_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--executor local|ray`` and ``--ray-address ADDRESS``."""
    parser.add_argument("--executor", choices=[e.value for e in Engine], default=Engine.LOCAL.value,
                        help="where the tasks run: local worker processes, or Ray (a local Ray "
                             "instance, or a cluster with --ray-address) (default: %(default)s)")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="Ray cluster to join: 'auto' (the cluster `ray start --head` started on "
                             "this machine) or ray://HOST:10001 (default: start a local Ray instance)")


def build_executor(args: argparse.Namespace, jobs: int | None = None) -> Any:
    """The :class:`~robnas.execution.Executor` the options ask for (the caller closes it)."""
    from robnas.execution import make_executor

    return make_executor(args.executor, jobs=jobs, address=args.ray_address)
