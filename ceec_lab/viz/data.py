"""Figures and a widget for looking at data: scenes, change pairs, targets, augmentations.

Every function returns a matplotlib ``Figure`` so it works the same in a
notebook, a script and a headless test.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ceec_lab.data.synthetic import CLASS_COLOURS, SEGMENTATION_CLASSES, make_change_pair
from ceec_lab.data.targets import multitask_targets
from ceec_lab.viz.layout import FIGURE_WIDTH, control_row

Array = np.ndarray | torch.Tensor


def to_display(image: Array) -> np.ndarray:
    """``(C, H, W)`` or ``(H, W, C)`` image -> ``(H, W, 3)`` in [0, 1] for ``imshow``.

    Normalised images (values outside [0, 1]) are min-max rescaled per channel.
    """
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    array = array[..., :3].astype(np.float32)
    if array.min() < 0 or array.max() > 1:
        low = array.min(axis=(0, 1), keepdims=True)
        high = array.max(axis=(0, 1), keepdims=True)
        array = (array - low) / np.maximum(high - low, 1e-8)
    return array


def difference_magnitude(image1: Array, image2: Array) -> np.ndarray:
    """Per-pixel Euclidean norm of ``image2 − image1`` over the bands, ``(H, W)``."""
    return np.linalg.norm(to_display(image2) - to_display(image1), axis=-1)


def as_numpy(mask: Array) -> np.ndarray:
    """A tensor (any device) or array as a NumPy array."""
    return mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)


def _axes_off(axes: Sequence[plt.Axes]) -> None:
    for ax in axes:
        ax.set_axis_off()


#: Fixed colour range of ``|date2 − date1|`` panels. The norm over three bands in [0, 1]
#: can reach √3, but fewer than 0.1 % of synthetic pixels pass 1 even at difficulty 1. A
#: fixed range (not one rescaled per pair) lets two difficulties be compared by colour.
DIFFERENCE_RANGE = (0.0, 1.0)


def plot_change_sample(sample: dict[str, Array], title: str | None = None) -> Figure:
    """Date 1, date 2, ``|date2 − date1|``, the change mask, and a ``"prediction"`` if present.

    The difference panel has a colour bar on the fixed scale :data:`DIFFERENCE_RANGE`.
    """
    low, high = DIFFERENCE_RANGE
    panels = [
        ("date 1", to_display(sample["image1"]), {}),
        ("date 2", to_display(sample["image2"]), {}),
        (
            "|difference|",
            difference_magnitude(sample["image1"], sample["image2"]),
            {"cmap": "magma", "vmin": low, "vmax": high},
        ),
        ("true change", as_numpy(sample["mask"]), {"cmap": "gray", "vmin": 0, "vmax": 1}),
    ]
    if "prediction" in sample:
        panels.append(
            ("prediction", as_numpy(sample["prediction"]), {"cmap": "gray", "vmin": 0, "vmax": 1})
        )
    # Constrained layout keeps the suptitle clear of the panel titles.
    fig = plt.figure(figsize=(FIGURE_WIDTH, 2.9), layout="constrained")
    axes = fig.subplots(1, len(panels))
    for ax, (name, image, kwargs) in zip(axes, panels, strict=True):
        shown = ax.imshow(image, **kwargs)
        ax.set_title(name)
        if name == "|difference|":  # a colour bar exactly as tall as the image
            fig.colorbar(shown, cax=ax.inset_axes((1.04, 0.0, 0.06, 1.0)))
    _axes_off(axes)
    if title:
        fig.suptitle(title)
    return fig


_CLASS_CMAP = ListedColormap(CLASS_COLOURS)


def plot_segmentation_sample(sample: dict[str, Array], title: str | None = None) -> Figure:
    """The image and its class mask (and a ``"prediction"`` if present), with a legend."""
    panels = [("image", to_display(sample["image"]), {}), ("mask", as_numpy(sample["mask"]), None)]
    if "prediction" in sample:
        panels.append(("prediction", as_numpy(sample["prediction"]), None))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (name, image, kwargs) in zip(axes[0], panels, strict=True):
        style = kwargs if kwargs is not None else {"cmap": _CLASS_CMAP, "vmin": 0, "vmax": 4}
        ax.imshow(image, interpolation="nearest", **style)
        ax.set_title(name)
    _axes_off(axes[0])
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in CLASS_COLOURS]
    fig.legend(handles, SEGMENTATION_CLASSES, loc="lower center", ncol=5, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_targets(mask: Array) -> Figure:
    """The multitask targets of a change mask: one-hot, boundary and distance, per channel."""
    targets = multitask_targets(np.asarray(as_numpy(mask), dtype=np.int64))
    fig, axes = plt.subplots(2, 3, figsize=(9, 6))
    for row, name in enumerate(("no change", "change")):
        for col, key in enumerate(("segmentation", "boundary", "distance")):
            axes[row, col].imshow(targets[key][row], cmap="viridis", vmin=0, vmax=1)
            axes[row, col].set_title(f"{key} [{name}]")
    _axes_off(axes.ravel())
    fig.tight_layout()
    return fig


def plot_augmented(samples: Sequence[dict[str, Array]], title: str | None = None) -> Figure:
    """Several augmented versions of a pair, one row each: date 1, date 2, mask."""
    fig, axes = plt.subplots(len(samples), 3, figsize=(7.5, 2.5 * len(samples)), squeeze=False)
    for row, sample in zip(axes, samples, strict=True):
        row[0].imshow(to_display(sample["image1"]))
        row[1].imshow(to_display(sample["image2"]))
        row[2].imshow(as_numpy(sample["mask"]), cmap="gray", vmin=0, vmax=1)
    for ax, name in zip(axes[0], ("date 1", "date 2", "mask"), strict=True):
        ax.set_title(name)
    _axes_off(axes.ravel())
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class ChangePairExplorer:
    """Widget: a ``difficulty`` slider and a seed that redraw a synthetic pair,
    its image difference and the true change.

    The lesson: as nuisance grows, ``|date2 − date1|`` lights up everywhere while
    the true change stays put. ``draw(difficulty, seed)`` is the callback (it can
    be called without a browser); ``widget`` is what a notebook displays.
    """

    def __init__(self, size: int = 128, seed: int = 0, difficulty: float = 0.5) -> None:
        self.size = size
        self.difficulty = widgets.FloatSlider(
            value=difficulty, min=0.0, max=1.0, step=0.05, description="difficulty"
        )
        self.seed = widgets.IntText(value=seed, description="seed")
        self.output = widgets.Output()
        self.figure: Figure | None = None  # the last figure drawn
        for control in (self.difficulty, self.seed):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([control_row(self.difficulty, self.seed), self.output])

    def draw(self, difficulty: float, seed: int) -> Figure:
        """Generate the pair for ``(difficulty, seed)`` and return its figure."""
        pair = make_change_pair(seed, self.size, difficulty)
        noise = difference_magnitude(pair["image1"], pair["image2"])[pair["mask"] == 0].mean()
        title = f"difficulty {difficulty:.2f}: mean |difference| off the change = {noise:.3f}"
        return plot_change_sample(pair, title=title)

    def _on_change(self, _change: dict) -> None:
        self.output.clear_output(wait=True)
        self.figure = self.draw(self.difficulty.value, self.seed.value)
        with self.output:
            display(self.figure)
        plt.close(self.figure)

    def show(self) -> widgets.VBox:
        """Draw once and return the widget for display."""
        self._on_change({})
        return self.widget


def differencing_by_difficulty(
    difficulties: Sequence[float],
    n: int = 8,
    size: int = 64,
    seed: int = 0,
    without: Sequence[str] = (),
) -> list[dict[str, float]]:
    """How well plain ``|date2 − date1|`` separates change from no change, per difficulty.

    For each difficulty, ``n`` synthetic pairs are scored pixel by pixel with the
    difference magnitude and compared with the true change by ROC AUC
    (torchmetrics): 1 means a threshold exists that finds all change and nothing
    else, 0.5 is a coin toss. Nuisance drags the AUC down; that is the gap a
    learned change detector has to close. ``without`` switches nuisance factors off
    (see :func:`~ceec_lab.data.synthetic.make_change_pair`).

    Returns:
        One row per difficulty: ``{"difficulty", "auc", "inside", "outside"}``, the
        last two the mean difference on true change and elsewhere.
    """
    from torchmetrics.functional.classification import binary_auroc

    rows = []
    for difficulty in difficulties:
        pairs = [make_change_pair(seed + i, size, difficulty, without=without) for i in range(n)]
        scores = np.concatenate(
            [difference_magnitude(p["image1"], p["image2"]).ravel() for p in pairs]
        )
        labels = np.concatenate([p["mask"].ravel() for p in pairs])
        auc = binary_auroc(torch.from_numpy(scores), torch.from_numpy(labels).long())
        rows.append(
            {
                "difficulty": float(difficulty),
                "auc": float(auc),
                "inside": float(scores[labels == 1].mean()),
                "outside": float(scores[labels == 0].mean()),
            }
        )
    return rows


def plot_difference_vs_difficulty(rows: Sequence[dict[str, float]]) -> Figure:
    """The rows of :func:`differencing_by_difficulty`: mean difference on and off true change,
    and the ROC AUC of differencing, against the nuisance difficulty."""
    difficulties = [row["difficulty"] for row in rows]
    inside = [row["inside"] for row in rows]
    outside = [row["outside"] for row in rows]
    aucs = [row["auc"] for row in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(difficulties, inside, "o-", label="on true change")
    left.plot(difficulties, outside, "o-", label="elsewhere (nuisance)")
    left.set(xlabel="difficulty", ylabel="mean |date2 − date1|", title="difference magnitude")
    left.legend()
    right.plot(difficulties, aucs, "o-", color="C3")
    right.axhline(0.5, color="gray", ls="--", lw=1)
    right.set(
        xlabel="difficulty", ylabel="ROC AUC", ylim=(0.4, 1.02), title="differencing as a detector"
    )
    fig.tight_layout()
    return fig
