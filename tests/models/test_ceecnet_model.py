"""The mantis models on the tiny preset: outputs, gradients, sizes, configs, dtypes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ceec_lab.models import create_model
from ceec_lab.models.ceecnet import (
    MODEL_PRESETS,
    VARIANTS,
    CEECNet,
    CEECNetConfig,
    CEECNetSegmentation,
    ceecnet_segmentation,
    ceecnet_v1,
    create_ceecnet,
)
from ceec_lab.models.nn import FracTALSimilarity

CHANGE_MODELS = ["ceecnet_v1", "ceecnet_v2", "fractal_resnet"]
SIZE = 32  # the tiny preset needs multiples of 2^(4 − 1 + 3 − 1) = 32


def pair(batch: int = 2, size: int = SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.rand(batch, 3, size, size), torch.rand(batch, 3, size, size)


def assert_multitask_probs(outputs: tuple[torch.Tensor, ...], shape: tuple[int, ...]) -> None:
    segmentation, _, distance = outputs
    for out in outputs:
        assert out.shape == shape
        assert torch.isfinite(out).all() and ((out >= 0) & (out <= 1)).all()
    ones = torch.ones(shape[0], *shape[2:])
    torch.testing.assert_close(segmentation.sum(1), ones)
    torch.testing.assert_close(distance.sum(1), ones)


def backward_and_check(model: nn.Module, outputs: tuple[torch.Tensor, ...]) -> None:
    sum(out.square().mean() for out in outputs).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.head.segmentation_head[-1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", CHANGE_MODELS)
def test_change_model_forward_backward(name: str) -> None:
    model = create_model(name, preset="ceecnet-tiny", norm="group")
    assert isinstance(model, CEECNet)
    assert (model.task, model.output) == ("change", "multitask")
    outputs = model(*pair())
    assert_multitask_probs(outputs, (2, 2, SIZE, SIZE))
    backward_and_check(model, outputs)


@pytest.mark.parametrize("unit", ["ceec_v1", "fractal_resnet"])
def test_segmentation_variant_forward_backward(unit: str) -> None:
    model = create_model("ceecnet_segmentation", preset="ceecnet-tiny", num_classes=5, unit=unit)
    assert isinstance(model, CEECNetSegmentation)
    assert (model.task, model.output) == ("segmentation", "multitask")
    outputs = model(pair()[0])
    assert_multitask_probs(outputs, (2, 5, SIZE, SIZE))
    backward_and_check(model, outputs)


def test_upfuse_and_per_level_widths() -> None:
    model = ceecnet_v1(preset="ceecnet-tiny", upfuse=True, widths=(1, 2, 1, 1))
    assert len(model.encoder[1]) == 2 and len(model.decoder.units[2]) == 2  # units[0] is level 3
    assert_multitask_probs(model(*pair(batch=1)), (1, 2, SIZE, SIZE))


def test_the_two_dates_are_not_interchangeable_once_attention_is_on() -> None:
    model = ceecnet_v1(preset="ceecnet-tiny").eval()
    with torch.no_grad():
        model.fuse_first.relative_12.gamma.fill_(1.0)
    x1, x2 = pair(batch=1)
    with torch.no_grad():
        assert not torch.allclose(model(x1, x2)[0], model(x2, x1)[0])


# ----------------------------------------------------------------------------- sizes


def test_size_multiple() -> None:
    assert CEECNetConfig().size_multiple == 256  # D6, psp_depth 4
    assert CEECNetConfig.from_preset("ceecnet-tiny").size_multiple == SIZE


@pytest.mark.parametrize(("size", "nearest"), [(48, 64), (20, 32), (100, 96)])
def test_invalid_size_names_the_nearest_valid_size(size: int, nearest: int) -> None:
    model = ceecnet_v1(preset="ceecnet-tiny")
    x = torch.rand(1, 3, size, SIZE)
    with pytest.raises(ValueError, match=f"x1 has height {size}, which is not a multiple of 32"):
        model(x, x)
    with pytest.raises(ValueError, match=f"nearest valid size, {nearest}$"):
        model(x, x)


def test_bad_channels_and_mismatched_dates_are_rejected() -> None:
    model = ceecnet_v1(preset="ceecnet-tiny")
    with pytest.raises(ValueError, match=r"x1 has 4 channels but the model was built with"):
        model(torch.rand(1, 4, SIZE, SIZE), torch.rand(1, 4, SIZE, SIZE))
    with pytest.raises(ValueError, match="same shape"):
        model(torch.rand(1, 3, SIZE, SIZE), torch.rand(1, 3, 2 * SIZE, SIZE))


# ----------------------------------------------------------------------------- configs


def test_presets_and_factory_arguments() -> None:
    model = ceecnet_v1(preset="ceecnet-tiny", norm="group", num_classes=1, in_channels=4)
    config = model.config
    assert (config.depth, config.nfilters, config.nheads_start, config.psp_depth) == (4, 16, 2, 3)
    assert (config.norm, config.num_classes, config.in_channels) == ("group", 1, 4)
    assert set(MODEL_PRESETS) == {"ceecnet-d6nf32", "ceecnet-tiny"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_one_factory_builds_every_variant_with_its_unit(variant: str) -> None:
    model = create_ceecnet(variant, preset="ceecnet-tiny", attention_depth=2)
    model_class, unit = VARIANTS[variant]
    assert type(model) is model_class
    assert model.config.unit == (unit or "ceec_v1")
    assert model.config.attention_depth == 2
    similarities = [m for m in model.modules() if isinstance(m, FracTALSimilarity)]
    assert similarities and {m.attention_depth for m in similarities} == {2}
    named = create_model(variant, preset="ceecnet-tiny", attention_depth=2)
    assert sum(p.numel() for p in named.parameters()) == sum(p.numel() for p in model.parameters())


def test_preset_conflicts_and_unknown_names_raise() -> None:
    with pytest.raises(ValueError, match="preset 'ceecnet-tiny' sets depth=4"):
        ceecnet_v1(preset="ceecnet-tiny", depth=5)
    with pytest.raises(
        ValueError, match="preset 'ceecnet-tiny' sets depth=4; drop preset or depth=6"
    ):
        ceecnet_v1(preset="ceecnet-tiny", depth=6)  # the default value conflicts too
    assert ceecnet_v1(preset="ceecnet-tiny", depth=4).config.depth == 4  # agreeing is fine
    with pytest.raises(ValueError, match="unknown preset"):
        ceecnet_v1(preset="ceecnet-huge")
    with pytest.raises(ValueError, match="unit must be one of"):
        ceecnet_segmentation(unit="resnet")
    with pytest.raises(ValueError, match="ceecnet_v2 is built from 'ceec_v2' units"):
        create_ceecnet("ceecnet_v2", unit="fractal_resnet")
    with pytest.raises(ValueError, match="unknown CEECNet variant 'ceecnet_v3'"):
        create_ceecnet("ceecnet_v3")


@pytest.mark.parametrize("name", [*CHANGE_MODELS, "ceecnet_segmentation"])
def test_weights_path_round_trip(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    trained = create_model(name, preset="ceecnet-tiny").eval()
    path = tmp_path / f"{name}.pt"
    torch.save(trained.state_dict(), path)
    torch.manual_seed(1)  # a different random initialisation...
    loaded = create_model(name, preset="ceecnet-tiny", weights_path=path).eval()
    x1, x2 = pair(batch=1)
    inputs = (x1, x2) if loaded.task == "change" else (x1,)
    with torch.no_grad():
        for out, ref in zip(loaded(*inputs), trained(*inputs), strict=True):
            torch.testing.assert_close(out, ref)  # ...overwritten


def test_weights_path_of_another_size_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pt"
    torch.save(ceecnet_v1(preset="ceecnet-tiny").state_dict(), path)
    with pytest.raises(ValueError, match=r"tiny\.pt: does not fit CEECNet: .*shape"):
        ceecnet_v1(preset="ceecnet-tiny", num_classes=3, weights_path=path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(norm="batchnorm"), "norm must be one of"),
        (dict(depth=0), "depth must be an int >= 1"),
        (dict(attention_depth=2.5), "attention_depth must be an int >= 0"),
        (dict(widths=(1, 2)), "widths must be"),
    ],
)
def test_config_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CEECNetConfig(**kwargs)


# ----------------------------------------------------------------------------- dtypes, layouts


def test_channels_last_matches_contiguous() -> None:
    model = ceecnet_v1(preset="ceecnet-tiny").eval()
    x1, x2 = pair(batch=1)
    with torch.no_grad():
        expected = model(x1, x2)
        model = model.to(memory_format=torch.channels_last)
        cl = torch.channels_last
        outputs = model(x1.to(memory_format=cl), x2.to(memory_format=cl))
    for out, ref in zip(outputs, expected, strict=True):
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["ceecnet_v1", "fractal_resnet"])
def test_bf16_autocast_gives_finite_gradients(name: str) -> None:
    model = create_model(name, preset="ceecnet-tiny", norm="group")
    for p in model.parameters():  # switch every attention on
        if p.numel() == 1:
            nn.init.constant_(p, 0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs = model(*pair())
    assert all(torch.isfinite(out).all() for out in outputs)
    sum(out.float().square().mean() for out in outputs).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
