"""Every baseline built by name: conventions, forward/backward, input checks."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.models import create_model, list_models

SEGMENTATION = ["fcn32s", "fcn16s", "fcn8s", "unet", "deeplabv3", "deeplabv3plus"]
CHANGE_TRAINABLE = ["fc_ef", "fc_siam_conc", "fc_siam_diff", "unet_early_fusion"]
BASELINES = [*SEGMENTATION, *CHANGE_TRAINABLE, "differencing_otsu"]


def _forward(model: torch.nn.Module, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    return model(x1, x2) if model.task == "change" else model(x1)


def test_every_baseline_is_registered() -> None:
    assert set(BASELINES) <= set(list_models())


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown model name 'fcn4s'.*fc_siam_diff.*fcn8s"):
        create_model("fcn4s")


@pytest.mark.parametrize("name", BASELINES)
def test_conventions(name: str) -> None:
    model = create_model(name)
    expected_task = "segmentation" if name in SEGMENTATION else "change"
    assert model.task == expected_task
    assert model.output == ("probs" if name == "differencing_otsu" else "logits")
    assert "shape" in (type(model).__doc__ or "").lower()  # documents its input/output shapes


@pytest.mark.parametrize("name", SEGMENTATION + CHANGE_TRAINABLE)
def test_forward_backward(name: str) -> None:
    torch.manual_seed(0)
    num_classes = 3
    model = create_model(name, in_channels=4, num_classes=num_classes)
    x1 = torch.rand(2, 4, 64, 64)
    x2 = torch.rand(2, 4, 64, 64)
    logits = _forward(model, x1, x2)
    assert logits.shape == (2, num_classes, 64, 64)
    assert torch.isfinite(logits).all()
    logits.logsumexp(dim=1).mean().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for param_name, param in trainable:
        assert param.grad is not None, f"{param_name} gets no gradient"
        assert torch.isfinite(param.grad).all(), param_name
    assert any(param.grad.abs().sum() > 0 for _, param in trainable)


@pytest.mark.parametrize("name", BASELINES)
def test_wrong_channel_count_names_expected_and_found(name: str) -> None:
    model = create_model(name, in_channels=3).eval()
    x = torch.rand(2, 5, 64, 64)
    arg = "x1" if model.task == "change" else "x"
    with pytest.raises(ValueError, match=rf"{arg} has 5 channels.*in_channels=3"):
        _forward(model, x, x)


@pytest.mark.parametrize("name", [*CHANGE_TRAINABLE, "differencing_otsu"])
def test_mismatched_dates_are_rejected(name: str) -> None:
    model = create_model(name).eval()
    with pytest.raises(ValueError, match=r"x1 and x2 must have the same shape"):
        model(torch.rand(2, 3, 64, 64), torch.rand(1, 3, 64, 64))


@pytest.mark.parametrize(
    ("name", "size", "nearest"),
    [
        ("fcn8s", 70, 64),
        ("fcn32s", 90, 96),
        ("deeplabv3", 60, 64),
        ("deeplabv3plus", 72, 80),
        ("fc_ef", 40, 48),
        ("fc_siam_diff", 36, 32),
    ],
)
def test_invalid_size_gives_nearest_valid_size(name: str, size: int, nearest: int) -> None:
    model = create_model(name).eval()
    x = torch.rand(2, 3, 64, size)
    arg = "x1" if model.task == "change" else "x"
    with pytest.raises(ValueError, match=rf"{arg} has width {size}.*valid size, {nearest}$"):
        _forward(model, x, x)


@pytest.mark.parametrize("name", ["unet", "unet_early_fusion", "differencing_otsu"])
def test_any_size_is_accepted(name: str) -> None:
    model = create_model(name).eval()
    x = torch.rand(1, 3, 37, 50)
    with torch.no_grad():
        out = _forward(model, x, x.flip(-1))
    assert out.shape[-2:] == (37, 50)


@pytest.mark.parametrize("name", [*BASELINES, "ceecnet_v1"])
def test_input_multiple_says_which_sizes_work(name: str) -> None:
    kwargs = {"preset": "ceecnet-tiny"} if name == "ceecnet_v1" else {}
    model = create_model(name, **kwargs).eval()
    multiple = model.input_multiple
    side = multiple * max(1, 32 // multiple)
    with torch.no_grad():
        _forward(model, torch.rand(1, 3, side, side), torch.rand(1, 3, side, side))
    if multiple > 1:
        x = torch.rand(1, 3, side, side + multiple // 2)
        with pytest.raises(ValueError, match="multiple"):
            _forward(model, x, x)
