"""capture_attention: every FracTAL map of one forward pass, under readable names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ceec_lab.models.ceecnet import ceecnet_v1
from ceec_lab.models.nn import SelfFracTAL, capture_attention

SIZE = 32


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    model = ceecnet_v1(preset="ceecnet-tiny").eval()  # nf 16, heads 2, 4 levels
    with torch.no_grad():
        model.encoder[0][0].self_attention.gamma.fill_(0.25)
    return model


@pytest.fixture(scope="module")
def inputs() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.rand(2, 3, SIZE, SIZE), torch.rand(2, 3, SIZE, SIZE)


def all_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_every_fractal_layer_is_captured_once_per_call(model, inputs) -> None:
    with torch.no_grad(), capture_attention(model) as maps:
        model(*inputs)
    # 7 CEEC units (4 encoder + 3 decoder levels) × 3 attentions + 4 Fusions × 2
    assert len(maps) == 7 * 3 + 4 * 2
    assert {
        "fuse_first.relative_12",
        "fuse_first.relative_21",
        "encoder.0.0.self_attention",
        "encoder.3.0.relative_ab",
        "skip_fusions.2.relative_21",
        "decoder.units.0.0.relative_ba",
    } <= set(maps)
    assert len(maps["encoder.2.0.self_attention"]) == 2  # Siamese: date 1, date 2
    assert len(maps["fuse_first.relative_12"]) == 1
    assert len(maps["decoder.units.2.0.self_attention"]) == 1


def test_map_shapes_and_gamma(model, inputs) -> None:
    with torch.no_grad(), capture_attention(model) as maps:
        model(*inputs)
    level2 = maps["encoder.2.0.self_attention"][0]  # 64 channels at 8×8
    assert level2.spatial.shape == (2, 1, 8, 8) and level2.channel.shape == (2, 64, 1, 1)
    relative = maps["encoder.0.0.relative_ab"][1]  # branch width 16 / 2 at 32×32
    assert relative.spatial.shape == (2, 1, 32, 32) and relative.channel.shape == (2, 8, 1, 1)
    assert maps["encoder.0.0.self_attention"][0].gamma.item() == 0.25
    assert maps["fuse_first.relative_12"][0].gamma.item() == 0.0


def test_captured_maps_are_the_similarity_of_that_call(model, inputs) -> None:
    x1, x2 = inputs
    with torch.no_grad(), capture_attention(model) as maps:
        model(x1, x2)
        attention = model.encoder[0][0].self_attention.attention
        for date, x in enumerate((x1, x2)):
            h = model.conv_first(x)
            q, k = attention.query(h).sigmoid(), attention.key(h).sigmoid()
            spatial, channel = attention.similarity(q, k)
            torch.testing.assert_close(maps["encoder.0.0.self_attention"][date].spatial, spatial)
            torch.testing.assert_close(maps["encoder.0.0.self_attention"][date].channel, channel)
    assert all(0 < m.spatial.min() and m.spatial.max() <= 1 for m in maps["fuse_first.relative_12"])


def test_no_hooks_outside_the_context_and_same_outputs(model, inputs) -> None:
    assert all_hooks(model) == 0
    with torch.no_grad():
        expected = model(*inputs)
        with capture_attention(model):
            assert all_hooks(model) == 29
            outputs = model(*inputs)
    assert all_hooks(model) == 0
    for out, ref in zip(outputs, expected, strict=True):
        torch.testing.assert_close(out, ref)


def test_hooks_are_removed_after_an_error(model) -> None:
    with pytest.raises(ValueError, match="not a multiple"), capture_attention(model):
        model(torch.rand(1, 3, 20, 20), torch.rand(1, 3, 20, 20))
    assert all_hooks(model) == 0


def test_ungated_attention_is_named_after_itself() -> None:
    block = nn.Sequential(SelfFracTAL(8, 8, nheads=2))
    with capture_attention(block) as maps:
        block(torch.rand(1, 8, 4, 4))
    assert list(maps) == ["0"] and maps["0"][0].gamma is None
    with capture_attention(block[0]) as maps:
        block[0](torch.rand(1, 8, 4, 4))
    assert list(maps) == ["SelfFracTAL"]
