"""The block comparison of paper Fig. 10, on a classification set the kit can make.

The paper compares its building blocks as image classifiers on CIFAR-10: a plain
ResNet unit, the FracTAL ResNet unit and the CEEC units V1 and V2, each in the same
small network. Nothing may be downloaded here, so the images are patches of the
synthetic land-cover scenes (:func:`ceec_lab.data.synthetic.make_segmentation_scene`),
each labelled by its land cover: the non-background class (building, road, tree,
water) that covers most of it when it covers at least a quarter of it, background
otherwise. The scenes are mostly background, so background patches are thinned out.

The classifier ends in a ``(B, K, 1, 1)`` map of logits, so the kit's training engine
treats it as a 1×1 "segmentation": cross-entropy on logits, and the segmentation
metric ``pixel_accuracy`` is exactly the classification accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.lr_scheduler import CosineAnnealingLR

from ceec_lab.data.synthetic import SEGMENTATION_CLASSES, make_segmentation_scene, sample_seed
from ceec_lab.experiments import train_model
from ceec_lab.losses import create_loss
from ceec_lab.models.ceecnet import CEECUnitV1, CEECUnitV2, FracTALResNetUnit, ResNetV2Block
from ceec_lab.models.nn import Conv2dNormed, DownSample
from ceec_lab.train import seed_everything

#: The units compared, in the paper's order (the names :func:`make_unit` accepts).
UNIT_NAMES = ("ResNet", "FracTAL ResNet", "CEEC V1", "CEEC V2")


def patch_label(mask: np.ndarray, min_cover: float = 0.25) -> int:
    """The class of a patch: its most covered non-background class if that covers at least
    ``min_cover`` of it, else background (class 0)."""
    cover = np.bincount(mask.ravel(), minlength=len(SEGMENTATION_CLASSES)) / mask.size
    best = int(cover[1:].argmax()) + 1
    return best if cover[best] >= min_cover else 0


def dominant_class_patches(
    n_scenes: int,
    scene_size: int = 128,
    patch_size: int = 16,
    seed: int = 0,
    min_cover: float = 0.25,
) -> list[dict[str, Tensor]]:
    """Patches of synthetic scenes labelled by their land cover (:func:`patch_label`
    with ``min_cover``).

    Every scene is cut into non-overlapping ``patch_size`` squares. Background
    patches are thinned out at random to the count of the commonest other class.

    Returns:
        Samples ``{"image": (3, p, p) float32 in [0, 1], "mask": (1, 1) int64 class}``.
    """
    images, labels = [], []
    for index in range(n_scenes):
        scene = make_segmentation_scene(sample_seed(seed, index), scene_size)
        for top in range(0, scene_size - patch_size + 1, patch_size):
            for left in range(0, scene_size - patch_size + 1, patch_size):
                window = (slice(top, top + patch_size), slice(left, left + patch_size))
                images.append(np.ascontiguousarray(scene["image"][window].transpose(2, 0, 1)))
                labels.append(patch_label(scene["mask"][window], min_cover))
    keep = _thin_background(np.array(labels), np.random.default_rng(seed))
    return [
        {"image": torch.from_numpy(images[i]), "mask": torch.tensor([[labels[i]]])} for i in keep
    ]


def _thin_background(labels: np.ndarray, rng: np.random.Generator) -> list[int]:
    """All non-background indices and as many background ones as the commonest other class."""
    others = np.flatnonzero(labels != 0)
    cap = max(np.bincount(labels, minlength=len(SEGMENTATION_CLASSES))[1:].max(), 1)
    background = rng.permutation(np.flatnonzero(labels == 0))[:cap]
    return sorted([*others.tolist(), *background.tolist()])


class ResidualUnit(nn.Module):
    """The plain ResNet v2 unit ``x + block(x)``: the FracTAL ResNet unit without attention."""

    def __init__(self, channels: int, nheads: int, norm: str = "batch") -> None:
        super().__init__()
        self.block = ResNetV2Block(channels, nheads, norm)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


def make_unit(name: str, channels: int, nheads: int, norm: str = "batch") -> nn.Module:
    """One unit of :data:`UNIT_NAMES` with ``channels`` filters and ``nheads`` heads."""
    units = {
        "ResNet": lambda: ResidualUnit(channels, nheads, norm),
        "FracTAL ResNet": lambda: FracTALResNetUnit(channels, nheads, norm=norm),
        "CEEC V1": lambda: CEECUnitV1(channels, nheads, norm=norm),
        "CEEC V2": lambda: CEECUnitV2(channels, nheads, norm=norm),
    }
    if name not in units:
        raise ValueError(f"unit must be one of {UNIT_NAMES}, got {name!r}")
    return units[name]()


class BlockClassifier(nn.Module):
    """Stem, unit, downsample, unit, global pooling, 1×1 classifier: one unit type throughout.

    Args:
        unit: a name of :data:`UNIT_NAMES`.
        channels: filters of the first level (the second has twice as many).
        nheads: attention heads (= convolution groups) of the first level.
        num_classes: classes.

    Forward:
        ``x``: ``(B, 3, H, W)`` with even ``H, W``; returns logits ``(B, num_classes, 1, 1)``.
    """

    task = "segmentation"
    output = "logits"

    def __init__(
        self, unit: str, channels: int = 32, nheads: int = 2, num_classes: int = 5
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            Conv2dNormed(3, channels, 3, norm="batch"),
            nn.ReLU(),
            make_unit(unit, channels, nheads),
            DownSample(channels),
            make_unit(unit, 2 * channels, 2 * nheads),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Conv2d(2 * channels, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))  # (B, K, 1, 1)


def train_block_comparison(
    train_set: list[dict[str, Tensor]],
    val_set: list[dict[str, Tensor]],
    num_epochs: int,
    channels: int = 32,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
    units: tuple[str, ...] = UNIT_NAMES,
    **trainer_kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Train one :class:`BlockClassifier` per unit with the same data, seed and budget.

    Adam with a cosine learning-rate decay from ``lr`` to 0 over ``num_epochs``, so
    that the last epochs settle instead of jumping around at the full rate.

    Returns:
        Unit name → ``{"epochs": epoch records (``val_pixel_accuracy`` is the
        accuracy), "parameters": trainable parameters, "seconds": wall time of the training}``.
    """
    results = {}
    for name in units:
        seed_everything(seed)
        model = BlockClassifier(name, channels, num_classes=len(SEGMENTATION_CLASSES))
        run = train_model(
            name,
            model,
            create_loss("ce"),
            train_set,
            val_set,
            num_epochs=num_epochs,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
            lr=lr,
            scheduler=lambda optimizer: CosineAnnealingLR(optimizer, num_epochs),
            num_classes=len(SEGMENTATION_CLASSES),
            **trainer_kwargs,
        )
        results[name] = {
            "epochs": run.history.epochs,
            "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "seconds": run.seconds,
        }
    return results
