"""The loss views draw headless, and the explorer's callback redraws."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

from ceec_lab.losses import StageChange
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
    assert isinstance(fig, Figure) and len(fig.axes) == panels
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
    assert len(fig.axes) == 3 and list(_lines(fig.axes[1])) == ["d = 0"]


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
