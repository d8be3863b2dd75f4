"""Shared CEECNet layers: normalised convs, FracTAL, Fusion, PSP pooling, crisp sigmoid, and
the dot-product attention they are compared with."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ceec_lab.losses.functional import fractal_tanimoto_complement
from ceec_lab.models.nn import (
    AttentionGate,
    CATFusion,
    ChannelLayerNorm,
    Conv2dNormed,
    CrispSigmoid,
    DownSample,
    FracTALSimilarity,
    Fusion,
    PSPPooling,
    RelativeFracTAL,
    SelfFracTAL,
    UpCombine,
    UpFuseCombine,
    dot_product_attention,
    dot_product_weights,
    grid_max_pool,
    make_norm,
)

# REFERENCE §1: one sample p, l and FTC_D over all of its elements.
P = torch.tensor([0.2, 0.9, 0.4, 0.7])
L = torch.tensor([0.0, 1.0, 1.0, 1.0])
FTC_REFERENCE = {0: 0.70769, 1: 0.70769, 3: 0.55204, 5: 0.41031}


# ----------------------------------------------------------------------------- norms, convs


@pytest.mark.parametrize(
    ("norm", "kind"),
    [
        ("batch", nn.BatchNorm2d),
        ("group", nn.GroupNorm),
        ("instance", nn.InstanceNorm2d),
        ("layer", ChannelLayerNorm),
    ],
)
def test_make_norm_kinds_have_one_affine_pair_per_channel(norm: str, kind: type) -> None:
    layer = make_norm(norm, 8, norm_groups=4)
    assert isinstance(layer, kind)
    assert sum(p.numel() for p in layer.parameters()) == 16


def test_make_norm_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="norm_groups=3"):
        make_norm("group", 8, norm_groups=3)
    with pytest.raises(ValueError, match="norm must be one of"):
        make_norm("batchnorm", 8)


def test_channel_layer_norm_normalises_each_pixel_over_channels() -> None:
    x = torch.randn(2, 6, 3, 5) * 4 + 2
    y = ChannelLayerNorm(6)(x)
    torch.testing.assert_close(y.mean(dim=1), torch.zeros(2, 3, 5), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=1, unbiased=False), torch.ones(2, 3, 5), atol=1e-3, rtol=0)


def test_conv2d_normed_has_no_bias_and_keeps_or_halves_size() -> None:
    layer = Conv2dNormed(8, 16, 3, groups=4)
    assert layer[0].bias is None
    assert layer[0].weight.shape == (16, 2, 3, 3)
    assert layer(torch.randn(2, 8, 10, 10)).shape == (2, 16, 10, 10)
    assert Conv2dNormed(8, 16, 3, stride=2)(torch.randn(2, 8, 10, 10)).shape == (2, 16, 5, 5)
    assert DownSample(8)(torch.randn(2, 8, 10, 10)).shape == (2, 16, 5, 5)


def test_conv2d_normed_rejects_groups_that_do_not_divide() -> None:
    with pytest.raises(ValueError, match="groups=3"):
        Conv2dNormed(8, 16, 3, groups=3)


# ----------------------------------------------------------------------------- FracTAL


@pytest.mark.parametrize("attention_depth", sorted(FTC_REFERENCE))
def test_similarity_maps_match_reference_numbers(attention_depth: int) -> None:
    """Spatial map (sum over C) and channel map (sum over H, W) both equal FTC_D."""
    similarity = FracTALSimilarity(attention_depth)
    spatial, _ = similarity(P.view(1, 4, 1, 1), L.view(1, 4, 1, 1))
    _, channel = similarity(P.view(1, 1, 2, 2), L.view(1, 1, 2, 2))
    assert spatial.item() == pytest.approx(FTC_REFERENCE[attention_depth], abs=1e-5)
    assert channel.item() == pytest.approx(FTC_REFERENCE[attention_depth], abs=1e-5)


def test_similarity_shapes_and_float32_for_bfloat16_inputs() -> None:
    q = torch.rand(2, 6, 5, 7).bfloat16()
    k = torch.rand(2, 6, 5, 7).bfloat16()
    spatial, channel = FracTALSimilarity(5)(q, k)
    assert spatial.shape == (2, 1, 5, 7) and channel.shape == (2, 6, 1, 1)
    assert spatial.dtype == channel.dtype == torch.float32
    assert ((spatial > 0) & (spatial <= 1)).all() and ((channel > 0) & (channel <= 1)).all()


def test_identical_queries_and_keys_are_fully_similar() -> None:
    q = torch.rand(1, 4, 3, 3)
    spatial, channel = FracTALSimilarity(5)(q, q)
    torch.testing.assert_close(spatial, torch.ones_like(spatial))
    torch.testing.assert_close(channel, torch.ones_like(channel))


def test_relative_fractal_output_is_normed_mean_of_channel_and_spatial_weighting() -> None:
    torch.manual_seed(0)
    att = RelativeFracTAL(8, 4, nheads=2, attention_depth=3)
    x_q, x_k, x_v = torch.randn(3, 2, 8, 6, 6)
    q, k, v = att.query(x_q).sigmoid(), att.key(x_k).sigmoid(), att.value(x_v).sigmoid()
    spatial = fractal_tanimoto_complement(q, k, 3, dim=1)
    channel = fractal_tanimoto_complement(q, k, 3, dim=(2, 3))
    expected = att.norm(0.5 * (channel * v + spatial * v))
    torch.testing.assert_close(att(x_q, x_k, x_v), expected)


def test_self_fractal_is_relative_on_one_input() -> None:
    torch.manual_seed(0)
    att = SelfFracTAL(8, 8, nheads=4)
    x = torch.randn(2, 8, 6, 6)
    torch.testing.assert_close(att(x), RelativeFracTAL.forward(att, x, x, x))


def test_attention_gate_starts_as_identity_and_scales_with_gamma() -> None:
    torch.manual_seed(0)
    gate = AttentionGate(SelfFracTAL(8, 8, nheads=2))
    x, target = torch.randn(2, 2, 8, 4, 4)
    assert gate.gamma.item() == 0.0
    torch.testing.assert_close(gate(target, x), target)
    with torch.no_grad():
        gate.gamma.fill_(0.5)
    torch.testing.assert_close(gate(target, x), target * (1 + 0.5 * gate.attention(x)))


def test_attention_gradients_stay_finite_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    gate = AttentionGate(SelfFracTAL(8, 8, nheads=2, attention_depth=10))
    with torch.no_grad():
        gate.gamma.fill_(1.0)
    x = torch.zeros(2, 8, 8, 8, requires_grad=True)  # all-zero input: the risky case
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = gate(x + 1, x)
    out.float().square().mean().backward()
    grads = [x.grad, *(p.grad for p in gate.parameters())]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


# ----------------------------------------------------------------------------- Fusion


def test_fusion_shapes_and_zero_gammas() -> None:
    fusion = Fusion(8, nheads=2)
    t1, t2 = torch.randn(2, 2, 8, 6, 6)
    out = fusion(t1, t2)
    assert out.shape == (2, 8, 6, 6) and (out >= 0).all()  # ends with ReLU
    assert fusion.relative_12.gamma.item() == fusion.relative_21.gamma.item() == 0.0
    assert CATFusion(8, 12, nheads=4)(t1, t2).shape == (2, 12, 6, 6)


def test_fusion_with_zero_gammas_is_conv_of_concatenation() -> None:
    fusion = Fusion(8, nheads=2).eval()
    t1, t2 = torch.randn(2, 2, 8, 6, 6)
    expected = torch.relu(fusion.fuse(torch.cat([t1, t2], dim=1)))
    torch.testing.assert_close(fusion(t1, t2), expected)


def test_fusion_is_not_symmetric_once_attention_is_on() -> None:
    torch.manual_seed(0)
    fusion = Fusion(8, nheads=2)
    with torch.no_grad():
        fusion.relative_12.gamma.fill_(1.0)
    t1, t2 = torch.randn(2, 2, 8, 6, 6)
    assert not torch.allclose(fusion(t1, t2), fusion(t2, t1))


# ----------------------------------------------------------------------------- PSP pooling


def test_grid_max_pool_by_hand() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    expected = torch.tensor(
        [[5.0, 5, 7, 7], [5, 5, 7, 7], [13, 13, 15, 15], [13, 13, 15, 15]]
    ).view(1, 1, 4, 4)
    torch.testing.assert_close(grid_max_pool(x, 2), expected)
    torch.testing.assert_close(grid_max_pool(x, 1), torch.full_like(x, 15.0))


def test_psp_pooling_shape_and_size_error() -> None:
    psp = PSPPooling(16, 8, psp_depth=4)
    assert psp(torch.randn(2, 16, 16, 16)).shape == (2, 8, 16, 16)
    with pytest.raises(ValueError, match="divisible by 8"):
        psp(torch.randn(2, 16, 12, 12))


# ----------------------------------------------------------------------------- crisp sigmoid


def test_crisp_sigmoid_by_hand_and_steeper_than_sigmoid() -> None:
    crisp = CrispSigmoid()
    gamma = 0.01 + 1 / (1 + math.exp(-1.0))  # the scale γ = 0.01 + sigmoid(g), g = 1 at init
    assert crisp.scale().item() == pytest.approx(gamma)
    assert crisp(torch.tensor([2.0])).item() == pytest.approx(1 / (1 + math.exp(-2.0 / gamma)))
    assert crisp(torch.tensor([1.0])).item() > torch.sigmoid(torch.tensor(1.0)).item()
    crisp(torch.randn(10)).sum().backward()
    assert torch.isfinite(crisp.g.grad).all()


# ----------------------------------------------------------------------------- decoder combine


def test_up_combine_shapes() -> None:
    low, skip = torch.randn(2, 16, 4, 4), torch.randn(2, 8, 8, 8)
    assert UpCombine(8)(low, skip).shape == (2, 8, 8, 8)
    assert UpFuseCombine(8, nheads=2)(low, skip).shape == (2, 8, 8, 8)


# ----------------------------------------------------------------------------- dot-product


def test_dot_product_weights_compare_every_pixel_with_every_pixel() -> None:
    q, k = torch.rand(2, 4, 3, 5), torch.rand(2, 4, 3, 5)
    weights = dot_product_weights(q, k)
    assert weights.shape == (2, 15, 15)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 15))
    # one entry by hand: softmax over key pixels of <q_i, k_j> / sqrt(C)
    scores = torch.einsum("c,cj->j", q[0, :, 0, 0], k[0].flatten(1)) / 2.0
    torch.testing.assert_close(weights[0, 0], scores.softmax(0))


def test_dot_product_attention_matches_torch() -> None:
    q, k, v = (torch.rand(2, 8, 4, 4) for _ in range(3))
    tokens = [t.flatten(2).transpose(1, 2) for t in (q, k, v)]  # (B, HW, C)
    expected = F.scaled_dot_product_attention(*tokens).transpose(1, 2).reshape(2, 8, 4, 4)
    torch.testing.assert_close(dot_product_attention(q, k, v), expected)


def test_equal_keys_average_the_values() -> None:
    q, v = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    out = dot_product_attention(q, torch.ones(1, 3, 4, 4), v)
    torch.testing.assert_close(out, v.mean(dim=(2, 3), keepdim=True).expand_as(v))


def test_dot_product_attention_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="q and k must both be"):
        dot_product_attention(
            torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5), torch.rand(1, 3, 4, 4)
        )
    with pytest.raises(ValueError, match="v must have the shape of q"):
        dot_product_attention(
            torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.rand(1, 2, 4, 4)
        )


def test_sqrt_scaling_is_by_channels() -> None:
    q = torch.zeros(1, 4, 1, 2)
    q[0, :, 0, 0] = 1.0
    weights = dot_product_weights(q, q)[0, 0]  # scores 4/√4 = 2 and 0
    torch.testing.assert_close(weights, torch.tensor([1.0, math.exp(-2.0)]) / (1 + math.exp(-2.0)))
