"""What an inline figure looks like in a notebook at 1280 px wide (see ceec_lab.viz.layout)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from ceec_lab.viz.layout import FIGURE_DPI, OUTPUT_WIDTH_PX


def _smallest_text_px(fig: Figure) -> float:
    """Height in screen px of the smallest visible text, once the browser has shrunk the
    figure to the output area (inline figures are saved at ``FIGURE_DPI``)."""
    fig.draw_without_rendering()  # creates the tick labels
    width_px = fig.get_figwidth() * FIGURE_DPI
    shrink = min(1.0, OUTPUT_WIDTH_PX / width_px)
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
    ]
    return min(sizes) * FIGURE_DPI / 72 * shrink


@pytest.fixture
def smallest_text_px() -> Callable[[Figure], float]:
    return _smallest_text_px
