"""One run's figure (``robnas search --plot``): what it draws is the record's own data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D

from robnas.cli.main import main
from robnas.compare.run_figure import plot_run, run_figure
from robnas.errors import RobnasError
from robnas.loop import run_search
from robnas.multi_loop import run_multi_search
from robnas.searchers import HypervolumeImprovementSearch, RegularizedEvolution
from tests.compare.helpers import plotting_state_after


def _trials(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "trials.jsonl").open()]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_single_objective_figure_draws_every_value_the_best_so_far_and_the_optimum(
    cifar10_oracle, tmp_path
) -> None:
    run_dir = tmp_path / "run"
    result = run_search(RegularizedEvolution(population_size=10, sample_size=3, seed=2), cifar10_oracle,
                        "pgd@1/255", 40, record_dir=run_dir)
    fig, stem = run_figure(run_dir)
    (ax,) = fig.axes
    trials = _trials(run_dir)
    (dots,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert np.allclose(dots.get_offsets(), [[t["n"], t["value"]] for t in trials])
    lines = [line for line in ax.lines if isinstance(line, Line2D)]
    best, optimum = lines[0], lines[1]
    assert np.allclose(best.get_ydata(), np.maximum.accumulate([t["value"] for t in trials]))
    assert set(optimum.get_ydata()) == {result.optimum} and result.optimum == pytest.approx(0.588)
    assert stem == "anytime"
    assert ax.get_title() == "cifar10 · pgd@1/255 · re:population_size=10,sample_size=3, seed 2"
    (path,) = plot_run(run_dir)
    assert path == run_dir / "anytime.png" and min(_png_size(path)) > 100


def test_constrained_run_marks_cells_outside_the_limits_and_the_feasible_optimum(cifar10_oracle, tmp_path) -> None:
    run_dir = tmp_path / "run"
    result = run_search(RegularizedEvolution(seed=0), cifar10_oracle, "pgd@1/255", 40, record_dir=run_dir,
                        min_clean=0.9)
    fig, _ = run_figure(run_dir)
    (ax,) = fig.axes
    trials = _trials(run_dir)
    inside, outside = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert np.allclose(inside.get_offsets(), [[t["n"], t["value"]] for t in trials if t["feasible"]])
    assert np.allclose(outside.get_offsets(), [[t["n"], t["value"]] for t in trials if not t["feasible"]])
    best = ax.lines[0].get_ydata()
    assert np.allclose(best, [np.nan if t["best"] is None else t["best"] for t in trials], equal_nan=True)
    labels = ax.get_legend_handles_labels()[1]
    assert f"feasible optimum ({result.optimum:.3f})" in labels and result.optimum < 0.588


def test_front_figure_draws_the_cells_the_front_found_and_the_true_front(cifar10_oracle, tmp_path) -> None:
    run_dir = tmp_path / "run"
    objectives = ["pgd@1/255", "params:min"]
    run_multi_search(HypervolumeImprovementSearch(seed=3), cifar10_oracle, objectives, 40, record_dir=run_dir)
    fig, stem = run_figure(run_dir)
    (ax,) = fig.axes
    values = np.array([t["values"] for t in _trials(run_dir)])
    cells, true = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert np.allclose(cells.get_offsets(), values)
    # the front found, by brute force: no other cell has pgd >= and params <= with one strict
    front = [v for v in values if not any(
        o[0] >= v[0] and o[1] <= v[1] and (o[0] > v[0] or o[1] < v[1]) for o in values)]
    (line,) = ax.lines
    drawn = set(zip(line.get_xdata(), line.get_ydata(), strict=True))
    assert {tuple(v) for v in front} <= drawn
    summary = json.loads((run_dir / "summary.json").read_text())
    assert np.allclose(true.get_offsets(), [[row["pgd@1/255"], row["params"]] for row in summary["true_front"]])
    assert stem == "front" and ax.get_ylabel() == "parameters (millions; lower is better)"
    assert ax.get_xlabel() == "pgd@1/255 accuracy (higher is better)"


def test_plot_run_refuses_an_empty_record_and_a_bad_format(cifar10_oracle, tmp_path) -> None:
    run_dir = tmp_path / "run"
    run_search(RegularizedEvolution(seed=0), cifar10_oracle, "clean", 3, record_dir=run_dir)
    with pytest.raises(RobnasError, match="unknown figure format 'gif'"):
        plot_run(run_dir, formats=("gif",))
    (run_dir / "trials.jsonl").write_text("")
    with pytest.raises(RobnasError, match="holds no trial"):
        plot_run(run_dir)


def test_figures_change_no_process_wide_state(cifar10_oracle, tmp_path) -> None:
    # No backend switch and no pyplot, for one run's figure and for compare's fronts figure.
    run_dir = tmp_path / "run"
    run_multi_search(HypervolumeImprovementSearch(seed=1), cifar10_oracle, ["pgd@1/255", "clean"], 20,
                     record_dir=run_dir)
    state = plotting_state_after(
        "from robnas.compare.run_figure import plot_run\n"
        "from robnas.compare.fronts import load_front_runs, plot_fronts\n"
        f"paths = plot_run({str(run_dir)!r}) + plot_fronts(load_front_runs([{str(run_dir)!r}]), "
        f"{str(tmp_path / 'fig')!r})")
    assert state == "BACKEND svg PYPLOT False 2"


def test_cli_plot_writes_and_names_the_figure(release_root, capsys, tmp_path) -> None:
    common = ["--budget", "15", "--seed", "0", "--data", str(release_root), "--plot"]
    assert main(["search", "-O", "pgd@1/255", "-O", "clean", *common, "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    (figure,) = (tmp_path / "m").rglob("front.png")
    assert f"figure          {figure}" in out
    assert main(["search", "-O", "clean", *common, "--json", "--out", str(tmp_path / "s")]) == 0
    payload = json.loads(capsys.readouterr().out)
    (figure,) = (tmp_path / "s").rglob("anytime.png")
    assert payload["figures"] == [str(figure)]


def test_cli_plot_without_matplotlib_is_refused_before_the_run(release_root, tmp_path) -> None:
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "from robnas.cli.main import main\n"
        f"sys.exit(main(['search', '-O', 'clean', '--budget', '5', '--plot', '--data', {str(release_root)!r}, "
        f"'--out', {str(tmp_path / 'runs')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "robnas: error: --plot needs matplotlib, which the search extra installs: pip install 'robnas[search]'"]
    assert not (tmp_path / "runs").exists()
