"""Evaluation metrics, built from torchmetrics.

Two collections, each a :class:`torchmetrics.MetricCollection` (call ``update``
per batch, ``compute`` at the end, ``reset`` between epochs):

* :func:`change_metrics` - binary change detection. **Every number is that of
  the change class** (the positive class), as the CEECNet paper and LEVIR-CD
  leaderboards report them. Averaging with the no-change class, which covers
  ~95 % of the pixels and is easy, inflates the numbers; do not compare the two.
* :func:`segmentation_metrics` - multi-class segmentation with the four
  measures of the FCN paper (Long et al. 2015, §5): with ``n_ij`` the pixels of
  class ``i`` predicted as ``j`` and ``t_i = Σ_j n_ij``,

  - pixel accuracy ``Σ_i n_ii / Σ_i t_i``,
  - mean accuracy ``(1/n_cl) Σ_i n_ii / t_i``,
  - mean IoU ``(1/n_cl) Σ_i n_ii / (t_i + Σ_j n_ji − n_ii)``,
  - frequency-weighted IoU ``(Σ_k t_k)^-1 Σ_i t_i n_ii / (t_i + Σ_j n_ji − n_ii)``.

  As torchmetrics does, the class means skip classes absent from both the
  target and the prediction. A fifth, ``boundary_miou``, is the mean IoU on the
  pixels near a class boundary only (:class:`BoundaryMeanIoU`): it shows what the
  FCN skips and U-Net's decoder buy, sharper outlines, which interior-dominated
  mean IoU hides.

Both accept predictions as class indices ``(B, H, W)`` or as probabilities
``(B, K, H, W)`` (binary: ``K`` = 1 or 2, channel 1 being "change").
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryCohenKappa,
    BinaryF1Score,
    BinaryJaccardIndex,
    BinaryMatthewsCorrCoef,
    BinaryPrecision,
    BinaryRecall,
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassJaccardIndex,
)


class FrequencyWeightedIoU(MulticlassConfusionMatrix):
    """Frequency-weighted IoU (FCN paper): per-class IoU weighted by the class's pixel share.

    torchmetrics has no such metric, so this one accumulates torchmetrics'
    confusion matrix and reduces it in :meth:`compute`.
    """

    def compute(self) -> Tensor:
        confmat = self.confmat.double()  # (K, K): rows = target, columns = prediction
        true_positives = confmat.diagonal()
        support = confmat.sum(dim=1)  # t_i
        union = support + confmat.sum(dim=0) - true_positives
        iou = torch.where(union > 0, true_positives / union.clamp(min=1), 0.0)
        return ((support * iou).sum() / support.sum().clamp(min=1)).float()


def boundary_band(target: Tensor, width: int = 2) -> Tensor:
    """Pixels within ``width`` pixels (Chebyshev distance) of a class boundary of ``target``.

    Args:
        target: class indices ``(B, H, W)``.

    Returns:
        A boolean ``(B, H, W)`` mask: a pixel is in the band when its
        ``(2·width+1)²`` neighbourhood holds more than one class.
    """
    labels = target[:, None].float()  # (B, 1, H, W)
    kernel = 2 * width + 1
    highest = F.max_pool2d(labels, kernel, stride=1, padding=width)
    lowest = -F.max_pool2d(-labels, kernel, stride=1, padding=width)
    return (highest != lowest)[:, 0]


class BoundaryMeanIoU(MulticlassJaccardIndex):
    """Mean IoU over the pixels of the boundary band of the target (:func:`boundary_band`).

    Interior pixels are easy and dominate ordinary mean IoU, so two models that
    draw the same blobs with blurry or crisp outlines score alike there. Counting
    only the pixels within ``width`` of a boundary (the idea of the boundary IoU of
    Cheng et al. 2021, with a band taken from the target) makes the difference visible.
    """

    def __init__(
        self, num_classes: int, width: int = 2, ignore_index: int | None = None, **kwargs: Any
    ) -> None:
        self.width = width
        self.outside = -100 if ignore_index is None else ignore_index
        super().__init__(num_classes, average="macro", ignore_index=self.outside, **kwargs)

    def update(self, preds: Tensor, target: Tensor) -> None:
        target = torch.where(boundary_band(target, self.width), target, self.outside)
        super().update(preds, target)


class MatthewsCorrCoef(BinaryMatthewsCorrCoef):
    """torchmetrics' binary MCC, except that an undefined MCC is 0 (sklearn's convention).

    When a row or column of the confusion matrix is empty (e.g. a model that
    predicts no change at all) the MCC is 0/0; its limiting value is 0.
    torchmetrics 1.x substitutes an epsilon there and reports, for instance,
    0.17 for such a do-nothing model (torchmetrics issue #3355), which would
    flatter an untrained network in the kit's tables.
    """

    def compute(self) -> Tensor:
        (tn, fp), (fn, tp) = self.confmat.tolist()
        if 0 in (tp + fp, tp + fn, tn + fp, tn + fn):
            return torch.zeros((), device=self.confmat.device)
        return super().compute()


class ChangeMetrics(MetricCollection):
    """A collection of binary metrics that also takes ``(B, K, H, W)`` probabilities.

    torchmetrics' binary metrics want ``(B, H, W)`` change probabilities or
    labels; this class picks the change channel first.
    """

    def update(self, preds: Tensor, target: Tensor) -> None:
        super().update(*binary_inputs(preds, target))

    def forward(self, preds: Tensor, target: Tensor) -> dict[str, Any]:
        return super().forward(*binary_inputs(preds, target))


def binary_inputs(preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Predictions and target as torchmetrics' binary metrics want them, ``(B, H, W)`` each.

    Args:
        preds: class indices ``(B, H, W)``, change probabilities ``(B, H, W)``,
            or probabilities ``(B, 1, H, W)`` / ``(B, 2, H, W)`` (channel 1 = change).
        target: ``(B, H, W)`` in {0, 1}, ``(B, 1, H, W)`` or one-hot ``(B, 2, H, W)``.
    """
    if preds.ndim == 4:
        if preds.shape[1] not in (1, 2):
            raise ValueError(
                f"preds for binary change must have 1 or 2 channels, got {tuple(preds.shape)}"
            )
        preds = preds[:, -1]  # (B, H, W) probability of change
    if target.ndim == 4:
        if target.shape[1] not in (1, 2):
            raise ValueError(
                f"target for binary change must have 1 or 2 channels, got {tuple(target.shape)}"
            )
        target = target.argmax(dim=1) if target.shape[1] == 2 else target[:, 0]
    if preds.shape != target.shape:
        raise ValueError(
            f"preds and target must match as (B, H, W), got {tuple(preds.shape)} and "
            f"{tuple(target.shape)}"
        )
    return preds, target.long()


def change_metrics(threshold: float = 0.5) -> ChangeMetrics:
    """Metrics of the **change class** for binary change detection.

    Keys: ``precision``, ``recall``, ``f1``, ``iou``, ``mcc`` (Matthews
    correlation), ``kappa`` (Cohen's kappa) and ``accuracy`` (overall accuracy;
    the only one that counts both classes). Use ``.clone(prefix="val_")`` for
    prefixed names.

    Args:
        threshold: probabilities above it count as change.
    """
    return ChangeMetrics(
        {
            "precision": BinaryPrecision(threshold=threshold),
            "recall": BinaryRecall(threshold=threshold),
            "f1": BinaryF1Score(threshold=threshold),
            "iou": BinaryJaccardIndex(threshold=threshold),
            "mcc": MatthewsCorrCoef(threshold=threshold),
            "kappa": BinaryCohenKappa(threshold=threshold),
            "accuracy": BinaryAccuracy(threshold=threshold),
        }
    )


def segmentation_metrics(num_classes: int, ignore_index: int | None = None) -> MetricCollection:
    """The FCN paper's four metrics for ``num_classes``-class segmentation.

    Keys: ``pixel_accuracy``, ``mean_accuracy``, ``miou`` and ``fwiou``, and
    ``boundary_miou`` (mean IoU within 2 pixels of a class boundary).

    Args:
        num_classes: number of classes ``K``.
        ignore_index: a target value to leave out (e.g. 255 for "unlabelled").
    """
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    common = {"num_classes": int(num_classes), "ignore_index": ignore_index}
    return MetricCollection(
        {
            "pixel_accuracy": MulticlassAccuracy(average="micro", **common),
            "mean_accuracy": MulticlassAccuracy(average="macro", **common),
            "miou": MulticlassJaccardIndex(average="macro", **common),
            "fwiou": FrequencyWeightedIoU(**common),
            "boundary_miou": BoundaryMeanIoU(**common),
        }
    )
