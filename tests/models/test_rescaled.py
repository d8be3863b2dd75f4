"""Rescaled: the wrapped model sees the images shrunk, and its outputs come back full size."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ceec_lab.models import create_model
from ceec_lab.models.rescaled import Rescaled


class _Recorder(nn.Module):
    """A change model that records the size it was given and returns its mean image."""

    task, output, input_multiple = "change", "probs", 4

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        self.seen = tuple(x1.shape[-2:])
        change = (x2 - x1).abs().mean(1, keepdim=True).clamp(0, 1)
        return torch.cat([1 - change, change], dim=1)


def test_inner_model_sees_half_the_size_and_outputs_come_back_full_size() -> None:
    inner = _Recorder()
    model = Rescaled(inner, 0.5)
    assert model.input_multiple == 8 and model.output == "probs"
    x1, x2 = torch.zeros(2, 3, 64, 48), torch.ones(2, 3, 64, 48)
    probs = model(x1, x2)
    assert inner.seen == (32, 24)
    assert probs.shape == (2, 2, 64, 48)
    torch.testing.assert_close(probs.sum(1), torch.ones(2, 64, 48))  # still probabilities


def test_tiny_ceecnet_multitask_outputs_keep_the_input_size() -> None:
    model = Rescaled(create_model("ceecnet_v1", preset="ceecnet-tiny", norm="group"), 0.5).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        outputs = model(x, x)
    assert [tuple(o.shape) for o in outputs] == [(1, 2, 64, 64)] * 3


def test_bad_arguments_and_sizes_are_named() -> None:
    with pytest.raises(ValueError, match="scale must be in"):
        Rescaled(_Recorder(), 1.5)
    with pytest.raises(ValueError, match="change models"):
        Rescaled(create_model("fcn8s", num_classes=2), 0.5)
    with pytest.raises(ValueError, match="height 60, which is not a multiple of 8"):
        Rescaled(_Recorder(), 0.5)(torch.zeros(1, 3, 60, 64), torch.zeros(1, 3, 60, 64))


def test_create_model_input_scale_wraps_and_keeps_the_weights_names() -> None:
    model = create_model("ceecnet_v1", preset="ceecnet-tiny", norm="group", input_scale=0.5)
    assert isinstance(model, Rescaled) and model.input_multiple == 64
    assert all(key.startswith("model.") for key in model.state_dict())
    assert not isinstance(create_model("fc_ef"), Rescaled)
