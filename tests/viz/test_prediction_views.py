"""Colour-coded change errors and prediction grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ceec_lab.data import SyntheticChangeDataset, SyntheticSegmentationDataset
from ceec_lab.viz import change_error_map, plot_change_predictions, plot_segmentation_predictions


def test_error_map_colours_and_confidence() -> None:
    mask = torch.tensor([[1, 1], [0, 0]])
    change = torch.tensor([[0.9, 0.2], [0.6, 0.0]])  # TP, FN, FP, TN
    image = change_error_map(mask, torch.stack([1 - change, change]))
    tp, fn, fp, tn = image[0, 0], image[0, 1], image[1, 0], image[1, 1]
    assert tp[0] == tp[1] == tp[2] > 0.8  # confident white
    assert fp[0] > fp[2] and fp[0] < 0.7  # red, dim: only 60 % sure
    assert fn[2] > fn[0]  # blue
    np.testing.assert_array_equal(tn, 0)


def test_error_map_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="mask is"):
        change_error_map(torch.zeros(4, 4), torch.zeros(2, 4, 5))


def test_prediction_grids() -> None:
    pairs = [SyntheticChangeDataset(2, 32)[i] for i in range(2)]
    probs = [torch.rand(2, 32, 32).softmax(0) for _ in pairs]
    fig = plot_change_predictions(pairs, {"a": probs, "b": probs})
    assert len(fig.axes) == 2 * 5
    scenes = [SyntheticSegmentationDataset(1, 32)[0]]
    fig = plot_segmentation_predictions(scenes, {"m": [torch.rand(5, 32, 32)]})
    assert len(fig.axes) == 3


def test_multitask_outputs_and_loss_depth_figures() -> None:
    from ceec_lab.train import History
    from ceec_lab.viz import plot_loss_and_depth, plot_multitask_outputs

    sample = SyntheticChangeDataset(1, 32, multitask=True)[0]
    outputs = [torch.rand(2, 32, 32) for _ in range(3)]
    assert len(plot_multitask_outputs(sample, outputs).axes) == 6
    history = History()
    history.epochs = [
        {"epoch": e, "train_loss": 0.5 / e, "val_loss": 0.6 / e, "loss_depth": d}
        for e, d in ((1, 0), (2, 10), (3, 20))
    ]
    fig = plot_loss_and_depth(history)
    assert len(fig.axes) == 2 and list(fig.axes[1].lines[0].get_ydata()) == [0, 10, 20]
