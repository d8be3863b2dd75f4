"""Data figures and the change-pair explorer run headless."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ceec_lab.data import SyntheticChangeDataset, SyntheticSegmentationDataset, change_augmentation
from ceec_lab.viz import ChangePairExplorer, plot_augmented, plot_targets, to_display
from ceec_lab.viz.data import DIFFERENCE_RANGE
from ceec_lab.viz.layout import FIGURE_DPI, OUTPUT_WIDTH_PX


def test_to_display_rescales_normalised_images() -> None:
    image = np.random.default_rng(0).normal(0, 2, (3, 8, 8)).astype(np.float32)
    shown = to_display(image)
    assert shown.shape == (8, 8, 3) and shown.min() == 0 and shown.max() == 1


def test_sample_plots_have_a_panel_per_view() -> None:
    pair = SyntheticChangeDataset(1, 32)[0]
    assert len(SyntheticChangeDataset(1, 32).plot(pair).axes) == 4
    pair["prediction"] = pair["mask"]
    assert len(SyntheticChangeDataset(1, 32).plot(pair).axes) == 5
    scene = SyntheticSegmentationDataset(1, 32)[0]
    assert len(SyntheticSegmentationDataset(1, 32).plot(scene).axes) == 2


def test_targets_and_augmented_figures() -> None:
    dataset = SyntheticChangeDataset(1, 32, transform=change_augmentation(seed=0))
    assert len(plot_targets(dataset[0]["mask"]).axes) == 6
    assert len(plot_augmented([dataset[0], dataset[0]]).axes) == 6


def test_explorer_callback_redraws_for_new_settings() -> None:
    explorer = ChangePairExplorer(size=48)
    easy, hard = explorer.draw(0.0, 1), explorer.draw(1.0, 1)
    assert isinstance(easy, Figure)
    easy_diff, hard_diff = (f.axes[2].images[0].get_array().mean() for f in (easy, hard))
    assert hard_diff > easy_diff
    explorer.difficulty.value = 0.9  # moving the slider fires the redraw
    assert "difficulty 0.90" in explorer.figure.texts[0].get_text()
    explorer.seed.value = 5
    assert explorer.figure.texts[0].get_text().startswith("difficulty 0.90")


def test_differencing_gets_worse_as_nuisance_grows() -> None:
    from ceec_lab.viz.data import differencing_by_difficulty, plot_difference_vs_difficulty

    rows = differencing_by_difficulty([0.0, 1.0], n=3, size=48)
    easy, hard = rows
    assert easy["auc"] > 0.9 and hard["auc"] < easy["auc"] - 0.1
    assert hard["outside"] > easy["outside"]  # nuisance lights up the unchanged pixels
    fig = plot_difference_vs_difficulty(rows)
    assert list(fig.axes[1].lines[0].get_ydata()) == [easy["auc"], hard["auc"]]


def test_difference_colours_are_on_one_fixed_scale_with_a_colour_bar() -> None:
    explorer = ChangePairExplorer(size=48)
    for difficulty in (0.5, 0.7):
        fig = explorer.draw(difficulty, 3)
        difference = fig.axes[2].images[0]
        assert difference.get_clim() == DIFFERENCE_RANGE  # not rescaled per pair
        colour_bar = difference.colorbar
        assert colour_bar is not None and colour_bar.ax in fig.axes[2].child_axes
        assert (colour_bar.vmin, colour_bar.vmax) == DIFFERENCE_RANGE


def test_suptitle_clears_the_panel_titles(smallest_text_px) -> None:
    fig = ChangePairExplorer(size=48).draw(0.5, 0)
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    suptitle = fig._suptitle.get_window_extent(renderer)
    for ax in fig.axes[:4]:
        title = ax.title.get_window_extent(renderer)
        assert suptitle.y0 >= title.y1, f"suptitle overlaps {ax.get_title()!r}"
    assert fig.get_figwidth() * FIGURE_DPI <= OUTPUT_WIDTH_PX
    assert smallest_text_px(fig) >= 10


def test_explorer_controls_wrap_instead_of_overflowing() -> None:
    row = ChangePairExplorer(size=48).widget.children[0]
    assert row.layout.flex_flow == "row wrap" and row.layout.width == "100%"
