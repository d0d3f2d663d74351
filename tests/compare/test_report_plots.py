from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from robnas.compare.plots import DPI, PANEL_SIZE, anytime_curves, plot_anytime
from robnas.compare.stats import summarize
from robnas.compare.trajectories import expand_to_budget, load_trajectories
from robnas.errors import RobnasError
from tests.compare.helpers import plotting_state_after, write_comparison


def _png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _values(searcher: str, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    shift = 0.05 if searcher == "re" else 0.0
    return (rng.uniform(0.2, 0.8, size=30) + shift).round(4).tolist()


@pytest.fixture
def table(tmp_path):
    write_comparison(tmp_path / "runs", _values, seeds=range(4))
    write_comparison(tmp_path / "runs", _values, seeds=range(4), objective="clean", optimum=0.95)
    return expand_to_budget(load_trajectories(tmp_path / "runs"))


def test_curves_are_means_with_a_band_around_them(table) -> None:
    curves = anytime_curves(table)
    at = table[(table["n"] == 12) & (table["searcher"] == "re") & (table["objective"] == "clean")]
    row = curves[(curves["n"] == 12) & (curves["searcher"] == "re")
                 & (curves["objective"] == "clean")].iloc[0]
    assert row["mean"] == pytest.approx(at["best"].mean()) and row["runs"] == 4
    assert (curves["low"] <= curves["mean"] + 1e-12).all()
    assert (curves["high"] >= curves["mean"] - 1e-12).all()
    regret = anytime_curves(table, "regret")
    assert np.allclose(regret["mean"].to_numpy(), 0.9 - curves["mean"].to_numpy(), atol=0.06)


def test_png_per_panel_and_combined_with_the_expected_size(table, tmp_path) -> None:
    paths = plot_anytime(table, tmp_path / "fig", combined=True, log_x=True,
                         formats=("png", "svg", "pdf"))
    names = sorted(p.name for p in paths)
    assert names == sorted(f"anytime-{stem}.{fmt}" for stem in
                           ("cifar10-clean", "cifar10-pgd@1_255", "all")
                           for fmt in ("png", "svg", "pdf"))
    width, height = PANEL_SIZE[0] * DPI, PANEL_SIZE[1] * DPI
    assert _png_size(tmp_path / "fig" / "anytime-cifar10-clean.png") == (width, height)
    assert _png_size(tmp_path / "fig" / "anytime-all.png") == (2 * width, height)
    assert (tmp_path / "fig" / "anytime-all.pdf").read_bytes().startswith(b"%PDF")
    assert b"<svg" in (tmp_path / "fig" / "anytime-cifar10-clean.svg").read_bytes()[:2000]


def test_redrawing_gives_identical_svg(table, tmp_path) -> None:
    first = plot_anytime(table, tmp_path / "a", formats=("svg",), metric="regret")[0].read_bytes()
    second = plot_anytime(table, tmp_path / "b", formats=("svg",), metric="regret")[0].read_bytes()
    assert first == second


def test_bad_format_or_metric_is_a_robnas_error(table, tmp_path) -> None:
    with pytest.raises(RobnasError, match="unknown figure format 'jpg'"):
        plot_anytime(table, tmp_path, formats=("jpg",))
    with pytest.raises(RobnasError, match="unknown metric"):
        plot_anytime(table, tmp_path, metric="accuracy")
    with pytest.raises(RobnasError, match=r"formats must be a list \(e.g. \['png'\]\), got 'png'"):
        plot_anytime(table, tmp_path, formats="png")  # iterated: 'p', 'n', 'g'


@pytest.mark.parametrize("metric", ["value", "regret"])
def test_combined_figure_has_one_shared_legend(table, tmp_path, metric) -> None:
    plot_anytime(table, tmp_path, formats=("svg",), combined=True, metric=metric)
    svg = (tmp_path / "anytime-all.svg").read_text()
    single = (tmp_path / "anytime-cifar10-clean.svg").read_text()
    # matplotlib writes each text as an SVG comment: count legend entries by their labels
    assert svg.count("<!-- Random search -->") == 1 and svg.count("<!-- Regularized evolution -->") == 1
    if metric == "value":
        assert "<!-- optimum of the table -->" in svg and "<!-- optimum (" not in svg
        assert "<!-- optimum (0.950) -->" in single
    else:
        assert svg.count("<!-- zero regret -->") == 1 and "optimum of the table" not in svg


def test_regret_band_stops_at_zero(tmp_path) -> None:
    # regrets at the end: 0, 0, 0, 0.01 -> mean 0.0025, t-interval reaching below zero
    write_comparison(tmp_path / "runs", lambda s, seed: [0.5, 0.9 - (0.01 if seed == 3 else 0.0)],
                     searchers=("re",), seeds=range(4), optimum=0.9)
    table = expand_to_budget(load_trajectories(tmp_path / "runs"))
    regrets = np.array([0.0, 0.0, 0.0, 0.01])
    half = stats.t.ppf(0.975, 3) * regrets.std(ddof=1) / 2
    assert regrets.mean() - half < 0
    row = anytime_curves(table, "regret").query("n == 2").iloc[0]
    assert row["low"] == 0.0 and row["high"] == pytest.approx(regrets.mean() + half)
    summary = summarize(table, checkpoints=[2]).iloc[0]
    assert summary["regret_low"] == 0.0
    assert summary["regret_mean"] == pytest.approx(regrets.mean())
    assert summary["regret_high"] == pytest.approx(regrets.mean() + half)
    assert summary["best_low"] == pytest.approx(0.9 - regrets.mean() - half)  # values: not clipped


def test_bands_and_intervals_stay_within_zero_and_the_optimum(tmp_path) -> None:
    # best values at the end: 0.9 (the optimum), 0.9, 0.9, 0.0 -> a t-interval of the best
    # reaching above 0.9 and one of the regret reaching above 0.9 (a best below 0)
    write_comparison(tmp_path / "runs", lambda s, seed: [0.0, 0.0 if seed == 3 else 0.9],
                     searchers=("re",), seeds=range(4), optimum=0.9)
    table = expand_to_budget(load_trajectories(tmp_path / "runs"))
    best = np.array([0.9, 0.9, 0.9, 0.0])
    half = stats.t.ppf(0.975, 3) * best.std(ddof=1) / 2
    assert best.mean() + half > 0.9 and (0.9 - best.mean()) + half > 0.9  # both reach past it
    for metric, mean in (("value", best.mean()), ("regret", 0.9 - best.mean())):
        row = anytime_curves(table, metric).query("n == 2").iloc[0]
        assert row["mean"] == pytest.approx(mean)
        assert (row["low"], row["high"]) == (pytest.approx(max(mean - half, 0.0)), pytest.approx(0.9))
    summary = summarize(table, checkpoints=[2]).iloc[0]
    assert summary["best_high"] == pytest.approx(0.9) and summary["regret_high"] == pytest.approx(0.9)
    assert summary["regret_low"] == pytest.approx(max(0.9 - best.mean() - half, 0.0))


def test_plotting_changes_no_process_wide_state(table, tmp_path) -> None:
    """No backend switch and no pyplot: a notebook's inline backend keeps working."""
    table.to_parquet(tmp_path / "expanded.parquet")
    state = plotting_state_after(
        "import pandas as pd\n"
        "from robnas.compare.plots import plot_anytime\n"
        f"paths = plot_anytime(pd.read_parquet({str(tmp_path / 'expanded.parquet')!r}), "
        f"{str(tmp_path / 'fig')!r}, combined=True)")
    assert state == "BACKEND svg PYPLOT False 3"
    single = _png_size(tmp_path / "fig" / "anytime-cifar10-clean.png")
    assert _png_size(tmp_path / "fig" / "anytime-all.png")[0] > single[0]


def test_settings_of_one_searcher_get_their_own_colour_and_matching_band(table) -> None:
    """Two settings of ``re`` next to ``re``: three line colours, each band the colour of its line
    (a setting without a colour of its own used to take the next colour of matplotlib's cycle for
    its line and another for its band)."""
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    from robnas.compare.plots import draw_panel

    re = table[(table["searcher"] == "re") & (table["objective"] == "clean")]
    both = pd.concat([table[table["objective"] == "clean"],
                      *(re.assign(searcher=s) for s in ("re:warmup=params", "re:population_size=20"))],
                     ignore_index=True)
    ax = Figure().subplots()
    draw_panel(ax, anytime_curves(both))
    lines = {line.get_label(): to_hex(line.get_color()) for line in ax.lines
             if not line.get_label().startswith("optimum")}
    assert len(lines) == 4 and len(set(lines.values())) == 4
    bands = [to_hex(band.get_facecolor()[0][:3]) for band in ax.collections]
    assert bands == list(lines.values())


@pytest.mark.parametrize(("metric", "at"), [("value", 0.9), ("regret", 0.0)])
def test_a_searcher_at_the_optimum_is_drawn_over_the_optimum_line(tmp_path, metric, at) -> None:
    """A searcher that finds the optimum at once lies on the dashed reference line (the optimum,
    or zero regret); its curve must show there, not vanish under the black dashes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure

    from robnas.compare.plots import draw_panel

    write_comparison(tmp_path / "runs", lambda s, seed: [0.9] * 10 if s == "random" else
                     [0.5 + 0.01 * n for n in range(10)], seeds=range(3), optimum=0.9)
    curves = anytime_curves(expand_to_budget(load_trajectories(tmp_path / "runs")), metric)
    fig = Figure(figsize=PANEL_SIZE)
    canvas = FigureCanvasAgg(fig)
    ax = fig.subplots()
    draw_panel(ax, curves, metric=metric, optimum=0.9)
    ax.set_ylim(at - 0.5, at + 0.5)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(float) / 255
    (x0, y), (x1, _) = ax.transData.transform([(2, at), (9, at)])
    row = pixels[pixels.shape[0] - round(float(y)), int(x0):int(x1)]  # display y counts from the bottom
    grey = np.asarray(to_rgb("#7f7f7f"))
    assert np.abs(row - grey).max(axis=1).max() < 0.05  # random search's grey all along, no black dash


def test_a_group_panel_names_its_reference_line_the_whole_true_hypervolume(tmp_path) -> None:
    """A multi-objective panel plotted as shares named its reference line 'optimum (1.000)', as
    if the hypervolume share were an accuracy with a table optimum."""
    from matplotlib.figure import Figure

    from robnas.compare.plots import draw_panel

    write_comparison(tmp_path / "runs", _values, seeds=range(2), optimum=1.0)
    curves = anytime_curves(expand_to_budget(load_trajectories(tmp_path / "runs")), "value")
    for title, label, ylabel in (("cifar10 · pgd@1/255,clean", "the whole true hypervolume",
                                  "share of the true hypervolume"),
                                 ("cifar10 · clean", "optimum (1.000)", "best accuracy so far")):
        ax = Figure().subplots()
        draw_panel(ax, curves, metric="value", optimum=1.0, title=title)
        assert ax.get_legend_handles_labels()[1][-1] == label and ax.get_ylabel() == ylabel
