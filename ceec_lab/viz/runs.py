"""Several training runs side by side: their histories, a sweep over nuisance levels, scores.

:func:`plot_histories` draws the runs of :mod:`ceec_lab.experiments` (``train_model``,
``train_change_baseline`` ...) epoch by epoch; :func:`plot_sweep` draws the rows of
``experiments.nuisance_sweep``, one line per model across the difficulty levels;
:func:`plot_scores` draws one bar per model and metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from ceec_lab.experiments import RunResult


def plot_histories(results: Iterable[RunResult], keys: Sequence[str] = ("val_loss",)) -> Figure:
    """One panel per history key (e.g. ``"val_loss"``, ``"val_f1"``), one line per run.

    Args:
        results: runs with a ``name`` and a ``history``; a shipped run (empty history)
            draws no line.
        keys: epoch-record keys; epochs where a key is missing are skipped.
    """
    results = list(results)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for result in results:
            points = [(e["epoch"], e[key]) for e in result.history.epochs if e.get(key) is not None]
            if points:
                epochs, values = zip(*points, strict=True)
                ax.plot(epochs, values, "o-", ms=3, label=result.name)
        ax.set(xlabel="epoch", title=key)
        if ax.lines:  # shipped runs alone draw nothing
            ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_sweep(rows: Sequence[dict[str, Any]], metrics: Sequence[str] = ("f1", "iou")) -> Figure:
    """Validation metrics against nuisance difficulty, one line per model.

    Args:
        rows: ``{"model", "difficulty", **metrics}`` dicts, as
            ``experiments.nuisance_sweep`` and ``evaluate_across_difficulties`` return.
        metrics: one panel each, on a 0-1 axis.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.8 * len(metrics), 3.6), squeeze=False)
    models = list(dict.fromkeys(row["model"] for row in rows))
    for ax, metric in zip(axes[0], metrics, strict=True):
        for name in models:
            points = [(r["difficulty"], r[metric]) for r in rows if r["model"] == name]
            ax.plot(*zip(*points, strict=True), "o-", label=name)
        ax.set(xlabel="nuisance difficulty", ylabel=f"{metric} (change class)", ylim=(0, 1))
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_scores(
    rows: Sequence[dict[str, Any]], metrics: Sequence[str] = ("precision", "recall", "f1")
) -> Figure:
    """Grouped horizontal bars: one group per model (``row["model"]``), one bar per metric.

    Args:
        rows: one dict per model with the ``metrics`` on a 0-1 scale, e.g. the rows of
            :func:`ceec_lab.transfer.leave_some_out`.
        metrics: bar per metric, each labelled with its value.
    """
    height = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 + 0.55 * len(rows) * len(metrics) ** 0.5))
    for j, metric in enumerate(metrics):
        positions = [i + (j - (len(metrics) - 1) / 2) * height for i in range(len(rows))]
        bars = ax.barh(positions, [r[metric] for r in rows], height, label=metric)
        ax.bar_label(bars, fmt="%.2f", fontsize="small", padding=2)
    ax.set_yticks(range(len(rows)), [r["model"] for r in rows])
    ax.invert_yaxis()  # first row on top, as in the table
    ax.set(xlim=(0, 1.08), xlabel="change class")
    ax.legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig
