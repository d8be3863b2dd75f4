"""Sizes that make the explorers fit a JupyterLab notebook in a 1280-px-wide window.

A notebook output area is narrower than the window: measured in JupyterLab 4.6 with
Chromium at 1280×800 and the file browser open, it is 848 px wide. Two things follow.

* Controls: a row of widgets wider than that scrolls sideways and squeezes sliders to
  their handle, so each explorer puts its controls on rows that wrap
  (:func:`control_row`) and gives every control a width that fits.
* Figures: inline figures are saved at ``FIGURE_DPI`` and the browser shrinks any image
  wider than the output area. A figure at most :data:`FIGURE_WIDTH` inches wide is never
  shrunk, so 10-pt text stays 10 pt × 100/72 ≈ 14 px on screen.
"""

from __future__ import annotations

import ipywidgets as widgets

#: Output-area width (px) of a JupyterLab notebook in a 1280-px window, file browser open.
OUTPUT_WIDTH_PX = 848
#: Resolution of inline figures (matplotlib's default, which matplotlib-inline keeps).
FIGURE_DPI = 100
#: Widest explorer figure (inches) that the browser shows at full size.
FIGURE_WIDTH = 8.4


def control_row(*children: widgets.Widget) -> widgets.HBox:
    """A row of controls that wraps onto a new line instead of overflowing the output area."""
    return widgets.HBox(
        list(children),
        layout=widgets.Layout(width="100%", flex_flow="row wrap", align_items="center"),
    )
