"""Several training runs side by side: their histories, and a sweep over nuisance levels.

:func:`plot_histories` draws the runs of :mod:`ceec_lab.experiments` (``train_model``,
``train_change_baseline`` ...) epoch by epoch; :func:`plot_sweep` draws the rows of
``experiments.nuisance_sweep``, one line per model across the difficulty levels.
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
