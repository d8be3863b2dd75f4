"""CEECNet units and the multitask head: shapes, what γ = 0 means, finite gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ceec_lab.models.ceecnet import (
    CEECUnitV1,
    CEECUnitV2,
    FracTALResNetUnit,
    MultitaskHead,
    ResNetV2Block,
)

UNITS = [CEECUnitV1, CEECUnitV2, FracTALResNetUnit]


def test_resnet_v2_block_is_pre_activation_with_one_bias() -> None:
    block = ResNetV2Block(8, groups=2)
    assert block.conv1.bias is None and block.conv2.bias is not None
    assert block.conv1.weight.shape == (8, 4, 3, 3)
    assert block(torch.randn(2, 8, 6, 6)).shape == (2, 8, 6, 6)


def test_fractal_resnet_unit_with_zero_gamma_is_a_residual_unit() -> None:
    unit = FracTALResNetUnit(8, nheads=2).eval()
    x = torch.randn(2, 8, 6, 6)
    torch.testing.assert_close(unit(x), x + unit.block(x))


@pytest.mark.parametrize("unit_cls", UNITS, ids=lambda c: c.__name__)
def test_unit_forward_backward(unit_cls: type[nn.Module]) -> None:
    torch.manual_seed(0)
    unit = unit_cls(16, nheads=2, norm="group", norm_groups=2)
    for p in unit.parameters():  # switch the attention on
        if p.numel() == 1:
            nn.init.constant_(p, 0.5)
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    out = unit(x)
    assert out.shape == x.shape
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in unit.parameters())
    assert all(p.grad.abs().sum() > 0 for p in unit.parameters() if p.numel() == 1)


@pytest.mark.parametrize("unit_cls", [CEECUnitV1, CEECUnitV2], ids=lambda c: c.__name__)
def test_ceec_unit_branches_see_half_the_channels(unit_cls: type[nn.Module]) -> None:
    unit = unit_cls(16, nheads=2)
    x = torch.randn(2, 16, 8, 8)
    assert unit.compress_expand(x).shape == (2, 8, 8, 8)
    assert unit.expand_compress(x).shape == (2, 8, 8, 8)
    assert {n for n, p in unit.named_parameters() if p.numel() == 1} >= {
        "relative_ab.gamma",
        "relative_ba.gamma",
        "self_attention.gamma",
    }


def test_ceec_unit_rejects_channels_that_do_not_split_into_heads() -> None:
    with pytest.raises(ValueError, match="multiple of 4·nheads"):
        CEECUnitV1(16, nheads=8)


def test_multitask_head_outputs_are_probabilities() -> None:
    torch.manual_seed(0)
    head = MultitaskHead(8, num_classes=3, psp_depth=3, norm="group", norm_groups=2)
    features, first = torch.randn(2, 2, 8, 16, 16)
    segmentation, boundary, distance = head(features, first)
    for out in (segmentation, boundary, distance):
        assert out.shape == (2, 3, 16, 16)
        assert ((out >= 0) & (out <= 1)).all()
    torch.testing.assert_close(segmentation.sum(1), torch.ones(2, 16, 16))
    torch.testing.assert_close(distance.sum(1), torch.ones(2, 16, 16))
    assert not torch.allclose(boundary.sum(1), torch.ones(2, 16, 16))  # not mutually exclusive


def test_multitask_head_single_class_uses_sigmoid() -> None:
    head = MultitaskHead(8, num_classes=1, psp_depth=2)
    segmentation, _, distance = head(torch.randn(2, 8, 8, 8), torch.randn(2, 8, 8, 8))
    assert segmentation.shape == (2, 1, 8, 8)
    assert ((segmentation > 0) & (segmentation < 1)).all()
    assert not torch.allclose(distance, torch.ones_like(distance))
