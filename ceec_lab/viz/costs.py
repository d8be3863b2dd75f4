"""Accuracy against cost: what does each model's F1 cost in FLOPs?

Plots the rows of :func:`ceec_lab.measure.cost_table`: change-F1 against GFLOPs
per pair on a log scale (the models span orders of magnitude), the marker's area
growing with the parameter count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def plot_accuracy_vs_cost(rows: Sequence[dict[str, Any]]) -> Figure:
    """Change-F1 against GFLOPs per pair (log x), one point per model.

    A model with no counted FLOPs (differencing + Otsu) sits at the left edge, marked
    "0 FLOPs"; a model without an F1 (not trained in this budget) is a dotted vertical
    line at its cost, so the cost axis still shows where it would be.

    Args:
        rows: as :func:`ceec_lab.measure.cost_table` returns them.
    """
    if not rows:
        raise ValueError("rows is empty: pass the rows of cost_table")
    positive = [r["gflops"] for r in rows if r["gflops"] > 0]
    floor = min(positive) / 10 if positive else 1e-3
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for row in rows:
        x = row["gflops"] if row["gflops"] > 0 else floor
        label = row["model"] if row["gflops"] > 0 else f"{row['model']} (0 FLOPs)"
        if row["f1"] is None:
            _mark_untrained(ax, x, label)
            continue
        y = 100 * row["f1"]
        ax.scatter(x, y, s=30 + 200 * np.sqrt(row["params"] / 1e6), alpha=0.7)
        ax.annotate(label, (x, y), xytext=(6, 4), textcoords="offset points", fontsize="small")
    ax.set_xscale("log")
    ax.set(
        xlabel="GFLOPs per pair (log scale; multiply-add = 2 FLOPs)",
        ylabel="change-F1 (%)",
        ylim=(-2, 102),
        title="Accuracy against cost (marker area grows with the parameters)",
    )
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def _mark_untrained(ax: Axes, x: float, label: str) -> None:
    """A dotted vertical line at ``x``, labelled from the top: a cost without an F1."""
    ax.axvline(x, ls=":", color="grey", lw=1)
    ax.annotate(
        f"{label} (not trained)",
        (x, 0.98),
        xycoords=("data", "axes fraction"),
        rotation=90,
        fontsize="x-small",
        color="grey",
        ha="right",
        va="top",
    )
