"""Run-record folders with known values, for the comparison tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from robnas.compare.trajectories import write_run_record


def write_comparison(
    root: Path,
    values: Callable[[str, int], Sequence[float]],
    *,
    searchers: Sequence[str] = ("random", "re"),
    seeds: Sequence[int] = range(5),
    objective: str = "pgd@1/255",
    dataset: str = "cifar10",
    optimum: float | None = 0.9,
    budget: int | None = None,
) -> Path:
    """One finished run record per searcher and seed, with ``values(searcher, seed)``."""
    for searcher in searchers:
        for seed in seeds:
            run_id = f"{dataset}-{objective.replace('/', '_')}-{searcher}-s{seed:03d}"
            write_run_record(root / run_id, searcher=searcher, objective=objective,
                             dataset=dataset, seed=seed, values=list(values(searcher, seed)),
                             optimum=optimum, budget=budget)
    return root


def plotting_state_after(plotting: str) -> str:
    """Run the Python lines ``plotting`` (which set ``paths``) in a fresh interpreter whose
    matplotlib backend is svg; returns ``BACKEND <backend> PYPLOT <imported?> <len(paths)>``:
    what a notebook would see after robnas drew its figures."""
    import subprocess
    import sys

    report = "print('BACKEND', matplotlib.get_backend(), 'PYPLOT', 'matplotlib.pyplot' in sys.modules, len(paths))"
    code = "import sys, matplotlib\nmatplotlib.use('svg')\n" + plotting + "\n" + report + "\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]
