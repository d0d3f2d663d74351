"""``--workers`` of ``robnas search``: the executor of a live search, and the workers line."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from robnas.cli.executor_options import build_executor, gpus_per_task
from robnas.errors import RobnasError


def check_executor_options(args: argparse.Namespace, settings: dict[str, Any]) -> None:
    """Refuse executor options where no executor runs (tabular mode simulates the workers)."""
    given = [option for option, used in (("--executor ray", args.executor != "local"),
                                         ("--ray-address", args.ray_address is not None),
                                         ("--gpus-per-task", bool(args.gpus_per_task))) if used]
    if given and settings["mode"] != "live":
        raise RobnasError(f"{given[0]} applies to live evaluation (--mode live); tabular mode "
                          "simulates --workers without an executor")
    gpus_per_task(args)


@contextlib.contextmanager
def live_executor(args: argparse.Namespace, settings: dict[str, Any]) -> Iterator[Any]:
    """The executor of a live search with several workers (closed on exit), else ``None``."""
    if settings["mode"] != "live" or settings["workers"] == 1:
        yield None
        return
    with build_executor(args, settings["workers"]) as executor:
        yield executor


def workers_line(result: Any, settings: dict[str, Any]) -> str:
    """``workers`` line: evaluations in flight, and the simulated makespan in tabular mode."""
    from robnas.arch import Arch
    from robnas.schedule import simulated_cost

    workers = result.workers
    if result.simulated_time is None:
        return f"workers         {workers} (wall time {result.wall_seconds:.1f} s)"
    alone = sum(simulated_cost(Arch.from_string(t["arch"]), settings["dataset"]) for t in result.trials)
    return (f"workers         {workers}, simulated makespan {result.simulated_time:.1f} mean "
            f"evaluations ({alone / max(result.simulated_time, 1e-12):.2f}x one worker's "
            f"{alone:.1f}; cost model: each cell's FLOPs)")
