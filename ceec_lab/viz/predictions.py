"""Predictions next to the truth: colour-coded change errors and class maps.

Change maps follow the paper's figures (Figs. 1, 14, 20): true positives in
white, false positives (false alarms) in red, false negatives (missed change)
in blue, true negatives in black. The brightness is the model's confidence in
its own decision, so hesitant pixels look dim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ceec_lab.data.synthetic import CLASS_COLOURS
from ceec_lab.viz.data import as_numpy, to_display

_ERROR_COLOURS = {
    "TP": (1.0, 1.0, 1.0),
    "FP": (0.9, 0.1, 0.1),
    "FN": (0.15, 0.35, 1.0),
}


def change_error_map(mask: torch.Tensor, probs: torch.Tensor, threshold: float = 0.5) -> np.ndarray:
    """RGB ``(H, W, 3)`` error map of a change prediction, shaded by confidence.

    Args:
        mask: ``(H, W)`` true change in {0, 1}.
        probs: ``(K, H, W)`` class probabilities (channel 1 = change) or ``(H, W)``
            change probabilities.
        threshold: decision threshold on the change probability.
    """
    change = probs[1] if probs.ndim == 3 else probs
    change = change.detach().float().cpu().numpy()
    truth = as_numpy(mask).astype(bool)
    if change.shape != truth.shape:
        raise ValueError(f"probs give a {change.shape} map but mask is {truth.shape}")
    predicted = change >= threshold
    confidence = np.where(predicted, change, 1.0 - change)  # in [0.5, 1]
    shade = 0.35 + 0.65 * (confidence - 0.5) / 0.5
    image = np.zeros((*truth.shape, 3), np.float32)
    for name, where in (
        ("TP", predicted & truth),
        ("FP", predicted & ~truth),
        ("FN", ~predicted & truth),
    ):
        image[where] = np.array(_ERROR_COLOURS[name], np.float32) * shade[where, None]
    return image


def _legend(fig: Figure) -> None:
    handles = [
        plt.Rectangle((0, 0), 1, 1, fc=c, ec="black", lw=0.5) for c in _ERROR_COLOURS.values()
    ]
    labels = ["true positive", "false positive", "false negative"]
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)


def plot_change_predictions(
    samples: Sequence[Mapping[str, torch.Tensor]],
    predictions: Mapping[str, Sequence[torch.Tensor]],
    threshold: float = 0.5,
) -> Figure:
    """One row per sample: both dates, the truth, then each model's error map.

    Args:
        samples: change samples (``image1``, ``image2``, ``mask``).
        predictions: model name -> one ``(K, H, W)`` probability map per sample.
    """
    columns = 3 + len(predictions)
    fig, axes = plt.subplots(
        len(samples), columns, figsize=(2.4 * columns, 2.5 * len(samples) + 0.5), squeeze=False
    )
    for row, (sample, ax_row) in enumerate(zip(samples, axes, strict=True)):
        ax_row[0].imshow(to_display(sample["image1"]))
        ax_row[1].imshow(to_display(sample["image2"]))
        ax_row[2].imshow(as_numpy(sample["mask"]), cmap="gray", vmin=0, vmax=1)
        for ax, probs in zip(ax_row[3:], predictions.values(), strict=True):
            ax.imshow(change_error_map(sample["mask"], probs[row], threshold))
    for ax, title in zip(axes[0], ["date 1", "date 2", "truth", *predictions], strict=True):
        ax.set_title(title, fontsize="medium")
    for ax in axes.ravel():
        ax.set_axis_off()
    _legend(fig)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_segmentation_predictions(
    samples: Sequence[Mapping[str, torch.Tensor]],
    predictions: Mapping[str, Sequence[torch.Tensor]],
) -> Figure:
    """One row per scene: the image, the true classes, then each model's arg-max classes."""
    cmap = ListedColormap(CLASS_COLOURS)
    columns = 2 + len(predictions)
    fig, axes = plt.subplots(
        len(samples), columns, figsize=(2.4 * columns, 2.5 * len(samples)), squeeze=False
    )
    for row, (sample, ax_row) in enumerate(zip(samples, axes, strict=True)):
        ax_row[0].imshow(to_display(sample["image"]))
        ax_row[1].imshow(
            as_numpy(sample["mask"]), cmap=cmap, vmin=0, vmax=4, interpolation="nearest"
        )
        for ax, probs in zip(ax_row[2:], predictions.values(), strict=True):
            classes = as_numpy(probs[row].argmax(0))
            ax.imshow(classes, cmap=cmap, vmin=0, vmax=4, interpolation="nearest")
    for ax, title in zip(axes[0], ["image", "truth", *predictions], strict=True):
        ax.set_title(title, fontsize="medium")
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_multitask_outputs(
    sample: Mapping[str, torch.Tensor], outputs: Sequence[torch.Tensor], channel: int = 1
) -> Figure:
    """CEECNet's three outputs for one pair (top) above their targets (bottom).

    Args:
        sample: a change sample with ``mask`` and, ideally, ``boundary`` and
            ``distance`` targets (``multitask=True`` datasets).
        outputs: ``(segmentation, boundary, distance)``, each ``(K, H, W)``.
        channel: which class to show (1 = change).
    """
    targets = [
        as_numpy(sample["mask"]) == channel,
        *(as_numpy(sample[k][channel]) if k in sample else None for k in ("boundary", "distance")),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(8.4, 5.8))
    for col, (name, output, target) in enumerate(
        zip(("segmentation", "boundary", "distance"), outputs, targets, strict=True)
    ):
        axes[0, col].imshow(as_numpy(output[channel].float()), cmap="viridis", vmin=0, vmax=1)
        axes[0, col].set_title(f"predicted {name}")
        if target is not None:
            axes[1, col].imshow(target, cmap="viridis", vmin=0, vmax=1)
            axes[1, col].set_title(f"target {name}")
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_loss_and_depth(history: Any) -> Figure:
    """Training and validation loss per epoch, with the loss depth as a step line.

    With the evolving loss (paper §4) the loss jumps up when the depth rises:
    a deeper fractal Tanimoto is a stricter judge of the same predictions, so
    compare loss values only within one stage.
    """
    epochs = history.column("epoch")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for key in ("train_loss", "val_loss"):
        points = [(e, v) for e, v in zip(epochs, history.column(key), strict=True) if v is not None]
        if points:
            ax.plot(*zip(*points, strict=True), "o-", ms=3, label=key)
    ax.set(xlabel="epoch", ylabel="loss  (1 − FTC_D)")
    depth_ax = ax.twinx()
    depth_ax.step(epochs, history.column("loss_depth"), where="mid", color="gray", ls="--")
    depth_ax.set_ylabel("loss depth D", color="gray")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
