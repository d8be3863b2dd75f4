"""The loss views draw headless, and the explorer's callback redraws."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ceec_lab.losses import StageChange
from ceec_lab.viz.layout import FIGURE_DPI, OUTPUT_WIDTH_PX
from ceec_lab.viz.losses import (
    LossExplorer,
    explorer_figure,
    plot_crisp_sigmoid,
    plot_dice_curves,
    plot_loss_comparison,
    plot_similarity_curves,
    plot_tanimoto_landscape,
)


def _lines(ax):
    """The labelled curves of an axes (the dotted label marker has no label)."""
    return {
        line.get_label(): line.get_ydata()
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


@pytest.mark.parametrize(("mean_depth", "panels"), [(5, 4), (None, 3)])
def test_landscape_has_one_panel_per_depth(mean_depth, panels):
    fig = plot_tanimoto_landscape(depths=(0, 3, 5), mean_depth=mean_depth)
    assert isinstance(fig, Figure) and len(fig.axes) == panels + 1  # + the shared colour bar
    assert fig.axes[1].get_title() == "$T^{3}$"
    fig.canvas.draw()


def test_noise_changes_the_landscape():
    clean = plot_tanimoto_landscape(depths=(2,), mean_depth=None)
    noisy = plot_tanimoto_landscape(depths=(2,), mean_depth=None, noise=0.1)
    arrows = [fig.axes[0].collections[-1].get_offsets() for fig in (clean, noisy)]
    assert not np.allclose(*arrows)
    assert "noise 0.1" in noisy.get_suptitle()


def test_similarity_curves_peak_at_the_label():
    fig = plot_similarity_curves(label=(0.75, 0.25), depths=(0, 5))
    x = fig.axes[0].get_lines()[0].get_xdata()
    for name, values in _lines(fig.axes[0]).items():
        if name.startswith("d ="):
            assert x[np.argmax(values)] == pytest.approx(0.75) and values.max() == pytest.approx(1)


def test_dice_curves_show_d1_constant_slope():
    fig = plot_dice_curves()
    slopes = _lines(fig.axes[1])
    d1 = next(values for name, values in slopes.items() if name.startswith("D1"))
    d3 = next(values for name, values in slopes.items() if name.startswith("D3"))
    assert np.allclose(d1, 1.0, atol=1e-4)  # D1 = x along (x, 1 − x) with label (1, 0)
    assert d3[-1] == pytest.approx(0.0, abs=1e-3)  # Tanimoto flattens at the optimum


def test_crisp_sigmoid_is_steeper_for_smaller_gamma():
    fig = plot_crisp_sigmoid(gammas=(1.0, 0.61))
    lines = fig.axes[0].get_lines()
    x = lines[0].get_xdata()
    at_one = np.searchsorted(x, 1.0)
    assert lines[0].get_ydata()[len(x) // 2] == pytest.approx(0.5)
    assert lines[1].get_ydata()[at_one] == pytest.approx(1 / (1 + np.exp(-x[at_one] / 0.61)))
    assert lines[1].get_ydata()[at_one] > lines[0].get_ydata()[at_one]


def test_bad_arguments():
    with pytest.raises(ValueError, match="label must be two values in"):
        plot_tanimoto_landscape(label=(0.4, 1.6))
    with pytest.raises(ValueError, match="gammas must be positive"):
        plot_crisp_sigmoid(gammas=(0.0,))


def test_explorer_figure_depth_zero_has_one_curve():
    fig = explorer_figure(depth=0, label=0.3)
    assert len(fig.axes) == 3 + 1 and list(_lines(fig.axes[1])) == ["d = 0"]  # + colour bar


def test_explorer_redraws_on_slider_change():
    explorer = LossExplorer(depth=2, label=0.4)
    first = explorer.figure
    explorer.depth.value = 7
    assert explorer.figure is not first
    assert explorer.figure.axes[0].get_title() == "$T^{7}$, label (0.40, 0.60)"
    explorer.label.value = 0.25
    explorer.noise.value = 0.05
    assert "(0.25, 0.75)" in explorer.figure.axes[0].get_title()
    assert isinstance(explorer.redraw(), Figure)


def test_loss_comparison_draws_each_run_and_stage_changes():
    histories = {
        "CE": SimpleNamespace(
            epochs=[{"epoch": 1, "val_miou": 0.2}, {"epoch": 2, "val_miou": 0.3}]
        ),
        "evolving": SimpleNamespace(epochs=[{"epoch": 1, "val_miou": 0.1}, {"epoch": 2}]),
    }
    events = [StageChange(0, 1e-3, 0), StageChange(1, 1e-4, 10)]
    fig = plot_loss_comparison(histories, keys=("val_miou",), events=events)
    curves = _lines(fig.axes[0])
    assert list(curves["CE"]) == [0.2, 0.3] and list(curves["evolving"]) == [0.1]
    dashed = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_xdata()[0] == 1.5


def _colour_bar_levels(fig):
    """The contour levels behind each colour bar of ``fig``."""
    return [ax._colorbar.mappable.levels for ax in fig.axes if hasattr(ax, "_colorbar")]


def test_explorer_landscape_has_a_colour_bar_on_fixed_levels(smallest_text_px):
    for depth, label in ((0, 0.4), (10, 0.9)):
        fig = explorer_figure(depth=depth, label=label)
        (levels,) = _colour_bar_levels(fig)
        np.testing.assert_allclose(levels, np.linspace(0, 1, 21))  # same colours every redraw
    assert fig.get_figwidth() * FIGURE_DPI <= OUTPUT_WIDTH_PX
    assert smallest_text_px(fig) >= 10


def test_landscape_panels_share_one_colour_bar():
    fig = plot_tanimoto_landscape(depths=(0, 5), mean_depth=None)
    assert len(_colour_bar_levels(fig)) == 1


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_optimum_star_stays_whole_at_a_corner(label):
    fig = explorer_figure(depth=3, label=label)
    landscape = fig.axes[0]
    (star,) = [line for line in landscape.get_lines() if line.get_marker() == "*"]
    assert tuple(star.get_xydata()[0]) == (label, 1 - label)
    x0, x1 = landscape.get_xlim()
    y0, y1 = landscape.get_ylim()
    assert x0 <= label <= x1 and y0 <= 1 - label <= y1
    assert not star.get_clip_on()  # half of it would be cut at the axes' edge
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    extent = star.get_window_extent(renderer)
    assert fig.bbox.contains(extent.x0, extent.y0) and fig.bbox.contains(extent.x1, extent.y1)


def test_explorer_sliders_wrap_instead_of_overflowing():
    row = LossExplorer().widget.children[0]
    assert row.layout.flex_flow == "row wrap" and row.layout.width == "100%"
