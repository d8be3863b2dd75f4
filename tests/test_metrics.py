"""Metrics checked against confusion matrices worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from ceec_lab.metrics import (
    BoundaryMeanIoU,
    binary_inputs,
    boundary_band,
    change_metrics,
    segmentation_metrics,
)

# Binary: TP = 3, FP = 1, FN = 2, TN = 4 on ten pixels, one image (1, 2, 5).
TARGET = torch.tensor([[[1, 1, 1, 1, 1, 0, 0, 0, 0, 0]]]).view(1, 2, 5)
PREDS = torch.tensor([[[1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]]).view(1, 2, 5)
CHANGE = {
    "precision": 3 / 4,
    "recall": 3 / 5,
    "f1": 2 * 3 / (2 * 3 + 1 + 2),
    "iou": 3 / (3 + 1 + 2),
    "accuracy": 7 / 10,
    "mcc": (3 * 4 - 1 * 2) / math.sqrt(4 * 5 * 5 * 6),
    # p_o = 0.7, p_e = (4·5 + 6·5) / 100 = 0.5
    "kappa": (0.7 - 0.5) / (1 - 0.5),
}


def _check(result, expected):
    assert set(result) == set(expected)
    for key, value in expected.items():
        assert result[key].item() == pytest.approx(value, abs=1e-5), key


def test_change_metrics_from_labels():
    metrics = change_metrics()
    metrics.update(PREDS, TARGET)
    _check(metrics.compute(), CHANGE)


@pytest.mark.parametrize("channels", [1, 2])
def test_change_metrics_from_probabilities_and_one_hot_target(channels):
    change = torch.where(PREDS == 1, 0.8, 0.3)  # (1, 2, 5) probability of change
    probs = change[:, None] if channels == 1 else torch.stack([1 - change, change], dim=1)
    one_hot = torch.stack([1 - TARGET, TARGET], dim=1).float()
    _check(change_metrics()(probs, one_hot), CHANGE)


def test_change_metrics_accumulate_and_prefix():
    metrics = change_metrics().clone(prefix="val_")
    metrics.update(PREDS[..., :3], TARGET[..., :3])
    metrics.update(PREDS[..., 3:], TARGET[..., 3:])
    _check(metrics.compute(), {f"val_{key}": value for key, value in CHANGE.items()})


def test_headline_numbers_are_those_of_the_change_class():
    # Predicting "no change" everywhere: 90 % accurate, yet it finds no change at all.
    target = torch.zeros(1, 4, 5, dtype=torch.long)
    target[0, 0, :2] = 1
    result = change_metrics()(torch.zeros_like(target), target)
    assert result["accuracy"].item() == pytest.approx(0.9)
    assert result["recall"].item() == 0 and result["f1"].item() == 0 and result["iou"].item() == 0


@pytest.mark.parametrize(
    ("preds", "target", "message"),
    [
        (torch.rand(1, 3, 2, 2), torch.zeros(1, 2, 2), "preds for binary change"),
        (torch.rand(1, 2, 2), torch.zeros(1, 3, 2, 2), "target for binary change"),
        (torch.rand(1, 2, 3), torch.zeros(1, 2, 2), "must match"),
    ],
)
def test_binary_inputs_bad_shapes(preds, target, message):
    with pytest.raises(ValueError, match=message):
        binary_inputs(preds, target)


# Three classes, six pixels. Confusion matrix (rows = target, columns = prediction):
#   [[2, 1, 0],
#    [0, 1, 1],
#    [0, 0, 1]]    t = (3, 2, 1); IoU = (2/3, 1/3, 1/2)
SEG_TARGET = torch.tensor([[[0, 0, 0], [1, 1, 2]]])
SEG_PREDS = torch.tensor([[[0, 0, 1], [1, 2, 2]]])
SEGMENTATION = {
    "pixel_accuracy": 4 / 6,
    "mean_accuracy": (2 / 3 + 1 / 2 + 1) / 3,
    "miou": (2 / 3 + 1 / 3 + 1 / 2) / 3,
    "fwiou": (3 * 2 / 3 + 2 * 1 / 3 + 1 * 1 / 2) / 6,
    # Every pixel of this tiny image lies within 2 pixels of a class boundary.
    "boundary_miou": (2 / 3 + 1 / 3 + 1 / 2) / 3,
}


def test_segmentation_metrics_from_labels():
    metrics = segmentation_metrics(3)
    metrics.update(SEG_PREDS, SEG_TARGET)
    _check(metrics.compute(), SEGMENTATION)


def test_segmentation_metrics_from_probabilities_accumulated():
    probs = torch.nn.functional.one_hot(SEG_PREDS, 3).permute(0, 3, 1, 2).float() * 0.6 + 0.1
    metrics = segmentation_metrics(3)
    metrics.update(probs[..., :1], SEG_TARGET[..., :1])
    metrics.update(probs[..., 1:], SEG_TARGET[..., 1:])
    _check(metrics.compute(), SEGMENTATION)


def test_segmentation_ignore_index_and_absent_classes():
    target = torch.tensor([[[0, 0, 255, 1]]])
    preds = torch.tensor([[[0, 1, 2, 1]]])
    result = segmentation_metrics(4, ignore_index=255)(preds, target)
    # Confusion matrix over classes 0, 1 (class 3 absent from both, so skipped):
    # [[1, 1], [0, 1]]: IoU = (1/2, 1/2)
    assert result["pixel_accuracy"].item() == pytest.approx(2 / 3)
    assert result["miou"].item() == pytest.approx(0.5)
    assert result["fwiou"].item() == pytest.approx((2 * 0.5 + 1 * 0.5) / 3)


def test_segmentation_needs_two_classes():
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        segmentation_metrics(1)


def test_mcc_of_a_model_that_never_predicts_change_is_zero() -> None:
    target = torch.zeros(1, 10, 100, dtype=torch.long)
    target[0, :3] = 1
    metrics = change_metrics()
    metrics.update(torch.zeros(1, 10, 100), target)
    assert metrics.compute()["mcc"] == 0.0  # torchmetrics alone reports ~0.17 here
    metrics.reset()
    preds = torch.zeros(1, 10, 100)
    preds[0, :2] = 1.0  # 200 true positives, 100 misses, no false alarms
    metrics.update(preds, target)
    expected = (200 * 700) / ((200 * 300 * 700 * 800) ** 0.5)
    assert metrics.compute()["mcc"].item() == pytest.approx(expected, rel=1e-5)


def test_boundary_band_and_boundary_miou_by_hand():
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[..., 4:] = 1  # a vertical boundary between columns 3 and 4
    band = boundary_band(target, width=1)
    assert band[0, :, 3:5].all() and band.sum() == 16  # columns 3 and 4 only
    preds = target.clone()
    preds[..., 4] = 0  # the outline drawn one pixel too far right
    result = segmentation_metrics(2)(preds, target)
    # Everywhere: IoU 32/40 (class 0) and 24/32 (class 1). In the 2-pixel band (width 2:
    # columns 2-5): class 0 TP 16 + FP 8, class 1 TP 8 + FN 8.
    assert result["miou"].item() == pytest.approx((0.8 + 0.75) / 2)
    assert result["boundary_miou"].item() == pytest.approx((16 / 24 + 8 / 16) / 2)
    narrow = BoundaryMeanIoU(2, width=1)(preds, target)
    assert narrow.item() == pytest.approx((8 / 16 + 0) / 2)


def test_boundary_miou_keeps_the_users_ignore_index():
    target = torch.tensor([[[0, 0, 255, 1, 1, 1]]])
    preds = torch.tensor([[[0, 0, 0, 1, 1, 1]]])
    value = BoundaryMeanIoU(2, width=1, ignore_index=255)(preds, target)
    assert value.item() == pytest.approx(1.0)  # the ignored pixel never counts
