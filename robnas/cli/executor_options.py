"""``--executor`` and ``--ray-address``: where a command's many independent tasks run."""

from __future__ import annotations

import argparse
from typing import Any

from robnas.vocabulary import Engine


def add_executor_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                         gpus: bool = False) -> None:
    """Add ``--executor local|ray``, ``--ray-address ADDRESS`` and (``gpus``) ``--gpus-per-task G``."""
    parser.add_argument("--executor", choices=[e.value for e in Engine], default=Engine.LOCAL.value,
                        help="where the tasks run: local worker processes, or Ray (a local Ray "
                             "instance, or a cluster with --ray-address) (default: %(default)s)")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="Ray cluster to join: 'auto' (the cluster `ray start --head` started on "
                             "this machine) or ray://HOST:10001 (default: start a local Ray instance)")
    if gpus:
        parser.add_argument("--gpus-per-task", type=float, default=0.0, metavar="G",
                            help="GPUs each task asks of Ray; 0.25 runs four evaluations on one GPU; "
                                 "refused up front when no node of the cluster has that many (default: 0)")


def gpus_per_task(args: argparse.Namespace) -> float:
    """``--gpus-per-task``, checked: a fraction in [0, 1] or a whole number; Ray only."""
    from robnas.errors import ExecutorError

    value = float(getattr(args, "gpus_per_task", 0.0) or 0.0)
    if value < 0 or (value > 1 and not value.is_integer()):
        raise ExecutorError(f"--gpus-per-task must be a fraction in [0, 1] or a whole number, got {value:g}")
    if value and args.executor != Engine.RAY.value:
        raise ExecutorError("--gpus-per-task needs --executor ray (the local pool does not share GPUs)")
    return value


def build_executor(args: argparse.Namespace, jobs: int | None = None) -> Any:
    """The :class:`~robnas.execution.Executor` the options ask for (the caller closes it).

    With ``--gpus-per-task``, the Ray cluster is checked once it is joined: one without GPUs,
    or without a node that has as many as one task asks for, is refused here (Ray would wait
    for such a node forever), and the executor is closed again.
    """
    from robnas.execution import TaskResources, make_executor

    gpus = gpus_per_task(args)
    executor = make_executor(args.executor, jobs=jobs, address=args.ray_address)
    if gpus:
        try:
            executor.check_resources(TaskResources(gpus=gpus))
        except BaseException:
            executor.close()
            raise
    return executor
