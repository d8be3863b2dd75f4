"""Figure functions for the paper's training-based figures: inputs in, a Figure out.

Every function takes the *results* of a run (epoch records, predictions, captured
maps) rather than a model to train, so it draws in milliseconds and tests run on
synthetic inputs. :mod:`ceec_lab.figures.runs` and :mod:`ceec_lab.figures.blocks`
compute the inputs; the views of :mod:`ceec_lab.viz` are reused where they exist.

Epoch records are the dicts of :attr:`ceec_lab.train.History.epochs`: ``"epoch"``
from 1, ``"train_loss"``, ``"loss_depth"``, ``"val_mcc"``, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from ceec_lab.figures.runs import channel_contrast
from ceec_lab.models.nn import AttentionMaps
from ceec_lab.viz.attention import plot_attention_maps
from ceec_lab.viz.data import as_numpy, to_display
from ceec_lab.viz.predictions import plot_change_predictions

Records = Sequence[Mapping[str, Any]]


def _series(records: Records, key: str) -> tuple[list[int], list[float]]:
    """Epochs and values of ``key`` where the records have it."""
    points = [(r["epoch"], r[key]) for r in records if r.get(key) is not None]
    if not points:
        return [], []
    epochs, values = zip(*points, strict=True)
    return list(epochs), list(values)


def _depth_changes(records: Records) -> list[tuple[int, int]]:
    """``(epoch, new depth)`` for every epoch whose loss depth differs from the previous one."""
    depths = [(r["epoch"], r.get("loss_depth")) for r in records]
    return [(e, d) for (_, before), (e, d) in pairwise(depths) if d != before]


def _mark_depth_changes(ax: Axes, records: Records) -> None:
    """Dashed lines where the depth of ``records`` changes, labelled with the new depth."""
    for epoch, depth in _depth_changes(records):
        ax.axvline(epoch - 0.5, color="grey", linestyle="--", linewidth=1)
        ax.annotate(f"D={depth}", (epoch - 0.4, 0.03), xycoords=("data", "axes fraction"))


def _plot_runs(
    ax: Axes, histories: Mapping[str, Records], key: str, ylabel: str, marks: str | None = None
) -> None:
    """One line per run of ``key`` against the epoch; ``marks`` names the run whose
    depth changes are drawn."""
    for name, records in histories.items():
        ax.plot(*_series(records, key), "o-", ms=3, label=name)
    if marks is not None:
        _mark_depth_changes(ax, histories[marks])
    ax.set(xlabel="epoch", ylabel=ylabel)
    ax.legend(fontsize="small")


def _check_histories(histories: Mapping[str, Records], keys: Sequence[str]) -> None:
    if not histories:
        raise ValueError("histories must hold at least one run, got none")
    for name, records in histories.items():
        for key in keys:
            if not _series(records, key)[0]:
                raise ValueError(f"run {name!r} has no {key!r} in its epoch records")


def fig10_block_comparison(results: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Paper Fig. 10: the building blocks compared as image classifiers.

    The paper trains the same small classifier with ResNet, FracTAL ResNet, CEEC V1
    and CEEC V2 units on CIFAR-10 and compares their validation accuracy per epoch:
    the attention units learn faster and end higher. Here the data are patches of
    the kit's synthetic scenes labelled by land cover
    (:func:`ceec_lab.figures.blocks.dominant_class_patches`; nothing is downloaded),
    the network has two levels and the budget is minutes on a CPU.

    Args:
        results: unit name → ``{"epochs": epoch records with "val_pixel_accuracy"
            and "train_loss", "parameters": int}``
            (:func:`ceec_lab.figures.blocks.train_block_comparison`).
    """
    _check_histories({k: v["epochs"] for k, v in results.items()}, ["val_pixel_accuracy"])
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax_acc, ax_loss = fig.subplots(1, 2)
    for name, result in results.items():
        label = f"{name} ({result['parameters'] / 1e3:.0f}k params)"
        ax_acc.plot(*_series(result["epochs"], "val_pixel_accuracy"), "o-", ms=3, label=label)
        ax_loss.plot(*_series(result["epochs"], "train_loss"), "o-", ms=3, label=name)
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)")
    ax_acc.legend(fontsize="small")
    fig.suptitle("building blocks as classifiers (synthetic land-cover patches)")
    return fig


def fig12_static_vs_evolving(histories: Mapping[str, Records], evolving: str) -> Figure:
    """Paper Fig. 12: training with a static loss against the evolving loss.

    The paper's argument: with the same learning-rate drops, raising the fractal
    depth at each drop (0 → 10 → 20) ends better than keeping depth 0, while the
    loss *value* jumps up at each change (a deeper loss judges the same predictions
    more strictly). Left: the training loss of each run; right: validation MCC,
    the metric that can be compared across losses. Here a tiny CEECNet on synthetic
    pairs, a few epochs on a CPU (the paper: D6nf32, LEVIR-CD-scale training on GPUs).

    Args:
        histories: run name → epoch records with ``train_loss``, ``val_mcc`` and
            ``loss_depth`` (:func:`ceec_lab.figures.runs.train_schedules`).
        evolving: the run whose depth changes are marked.
    """
    _check_histories(histories, ["train_loss", "val_mcc"])
    if evolving not in histories:
        raise ValueError(f"evolving must name a run of {list(histories)}, got {evolving!r}")
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax_loss, ax_mcc = fig.subplots(1, 2)
    _plot_runs(ax_loss, histories, "train_loss", "training loss 1 − FTC_D", marks=evolving)
    _plot_runs(ax_mcc, histories, "val_mcc", "validation MCC (change)", marks=evolving)
    fig.suptitle("static vs evolving loss")
    return fig


def fig15_fixed_depths(histories: Mapping[str, Records]) -> Figure:
    """Paper Fig. 15: training from scratch with the loss at a fixed depth 0, 3 or 6.

    The paper finds that a deep loss from the first epoch trains worse than depth
    0: far from the optimum a deep fractal Tanimoto is flat (Fig. 2), so it gives
    little gradient; this is why the evolving loss starts at depth 0. Validation
    MCC and F1 of the change class per epoch; here a tiny CEECNet on synthetic pairs.

    Args:
        histories: run name (e.g. ``"D = 3"``) → epoch records with ``val_mcc`` and ``val_f1``.
    """
    _check_histories(histories, ["val_mcc", "val_f1"])
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax_mcc, ax_f1 = fig.subplots(1, 2)
    _plot_runs(ax_mcc, histories, "val_mcc", "validation MCC (change)")
    _plot_runs(ax_f1, histories, "val_f1", "validation F1 (change)")
    fig.suptitle("fixed loss depth from scratch")
    return fig


def fig17_mcc_histories(histories: Mapping[str, Records]) -> Figure:
    """Paper Fig. 17: validation MCC during training with the evolving loss.

    The paper follows the validation MCC of its models through the stages of the
    evolving loss. Here CEECNet V1 and FracTAL ResNet (tiny presets, synthetic
    pairs); dashed lines mark the depth changes of the first run, a star the best
    epoch of each run.

    Args:
        histories: model name → epoch records with ``val_mcc`` and ``loss_depth``.
    """
    _check_histories(histories, ["val_mcc"])
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    _plot_runs(ax, histories, "val_mcc", "validation MCC (change)", marks=next(iter(histories)))
    for line, records in zip(ax.get_lines(), histories.values(), strict=False):
        epochs, values = _series(records, "val_mcc")
        best = int(np.argmax(values))
        ax.plot(epochs[best], values[best], "*", ms=12, color=line.get_color())
    ax.set_title("validation MCC, evolving loss")
    return fig


def _predictions(
    samples: Sequence[Mapping[str, Tensor]], predictions: Mapping[str, Sequence[Tensor]], title: str
) -> Figure:
    """:func:`ceec_lab.viz.plot_change_predictions` with a title."""
    if not samples or any(len(p) != len(samples) for p in predictions.values()):
        raise ValueError("predictions must hold one probability map per sample")
    fig = plot_change_predictions(samples, predictions)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def fig01_change_example(
    sample: Mapping[str, Tensor], probs: Tensor, source: str, model: str = "CEECNet"
) -> Figure:
    """Paper Fig. 1: one pair, its true change and the prediction, colour-coded.

    The paper opens with a LEVIR-CD pair and CEECNet's prediction: true positives
    white, false positives red, false negatives blue, brightness the confidence.
    Here the model is the kit's tiny CEECNet; ``source`` says which data it sees.

    Args:
        sample: a change pair (``image1``, ``image2``, ``mask``).
        probs: ``(K, H, W)`` class probabilities for it.
        source: where the pair comes from, for the title.
        model: the model's name, for the column title.
    """
    return _predictions([sample], {model: [probs]}, f"change detection example ({source})")


def fig14_levircd_predictions(
    samples: Sequence[Mapping[str, Tensor]],
    predictions: Mapping[str, Sequence[Tensor]],
    source: str,
) -> Figure:
    """Paper Fig. 14: predictions on LEVIR-CD test tiles, colour-coded with confidence.

    The paper shows CEECNet V1's predictions next to the truth for whole LEVIR-CD
    test tiles: few errors, mostly at building edges. Here the kit's models on the
    course's LEVIR-CD sample patches when they are configured, else on synthetic
    pairs (``source`` says which).

    Args:
        samples: change pairs. predictions: model name → one ``(K, H, W)`` per sample.
        source: the data, for the title.
    """
    return _predictions(samples, predictions, f"predictions on {source}")


def fig20_second_dataset_predictions(
    samples: Sequence[Mapping[str, Tensor]],
    predictions: Mapping[str, Sequence[Tensor]],
    source: str,
) -> Figure:
    """Paper Fig. 20: the same colour-coded predictions on the second data set.

    The paper repeats Fig. 14 on WHU building change detection. The kit has no WHU
    data, so this version shows the models on the *other* source of this run: the
    hardest synthetic nuisance when Fig. 14 used LEVIR-CD, and vice versa.

    Args:
        samples: change pairs. predictions: model name → one ``(K, H, W)`` per sample.
        source: the data, for the title.
    """
    return _predictions(samples, predictions, f"predictions on {source}")


def fig19_relative_attention(
    maps: Mapping[str, list[AttentionMaps]], images: Sequence[Tensor]
) -> Figure:
    """Paper Fig. 19: the first-level relative attention of the two dates.

    The paper shows the spatial and channel maps of the first Fusion's relative
    attention on a LEVIR-CD pair: what each date finds important given the other.
    Drawn by :func:`ceec_lab.viz.plot_attention_maps` for layer ``"fuse_first"`` of
    the kit's tiny CEECNet.

    Args:
        maps: captured by :func:`ceec_lab.models.nn.capture_attention` (batch of one).
        images: the two dates ``(3, H, W)``.
    """
    return plot_attention_maps(maps, "fuse_first", images=images)


def fig22_difference_vs_fusion(
    sample: Mapping[str, Tensor], features: Mapping[str, Tensor]
) -> Figure:
    """Paper Fig. 22: features of a plain difference against the Fusion's output.

    The paper contrasts what subtracting the two dates' features gives with what
    its Fusion layer (relative attention both ways, then a convolution) gives. Here,
    for one pair and the kit's tiny CEECNet: for each kind, the channel that best
    separates changed from unchanged pixels (:func:`ceec_lab.figures.runs.channel_contrast`),
    and every channel's contrast, sorted.

    Args:
        sample: the pair (``image1``, ``image2``, ``mask`` with some change).
        features: ``{"difference", "fusion"}``, each ``(C, H, W)``
            (:func:`ceec_lab.figures.runs.fusion_features`).
    """
    fig = Figure(figsize=(12, 6), layout="constrained")
    top, bottom = fig.subplots(2, 3)
    for ax, image, title in zip(
        top,
        (to_display(sample["image1"]), to_display(sample["image2"]), as_numpy(sample["mask"])),
        ("date 1", "date 2", "true change"),
        strict=True,
    ):
        ax.imshow(image, cmap="gray")
        ax.set_title(title)
        ax.set_axis_off()
    for ax, kind in zip(bottom[:2], ("difference", "fusion"), strict=True):
        contrast = channel_contrast(features[kind], sample["mask"])
        best = int(contrast.argmax())
        ax.imshow(as_numpy(features[kind][best]), cmap="viridis")
        ax.set_title(f"{kind}: channel {best}, contrast {float(contrast[best]):.2f}")
        ax.set_axis_off()
        bottom[2].plot(np.sort(as_numpy(contrast))[::-1], "o-", ms=3, label=kind)
    bottom[2].set(xlabel="channel (sorted)", ylabel="|on − off| / std", title="change contrast")
    bottom[2].legend()
    return fig
