"""FCN-32s/16s/8s: the bilinear upsampling and what each skip variant adds."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ceec_lab.models.fcn import FCN, fcn8s, fcn16s, fcn32s
from ceec_lab.models.fcn.blocks import BilinearUpsample, VGGBackbone, bilinear_kernel


def test_bilinear_kernel_by_hand() -> None:
    # factor 2, kernel 4: the tent (1 - |i - 1.5| / 2) = (0.25, 0.75, 0.75, 0.25).
    ramp = torch.tensor([0.25, 0.75, 0.75, 0.25])
    weight = bilinear_kernel(channels=2, kernel_size=4)
    assert weight.shape == (2, 2, 4, 4)
    torch.testing.assert_close(weight[0, 0], ramp[:, None] * ramp[None, :])
    torch.testing.assert_close(weight[1, 1], weight[0, 0])
    assert weight[0, 1].abs().sum() == 0  # classes are upsampled independently


@pytest.mark.parametrize("factor", [2, 4])
def test_bilinear_upsample_starts_as_interpolation(factor: int) -> None:
    x = torch.rand(1, 3, 8, 8)
    up = BilinearUpsample(3, factor)
    expected = F.interpolate(x, scale_factor=factor, mode="bilinear")
    with torch.no_grad():
        out = up(x)
    assert out.shape == (1, 3, 8 * factor, 8 * factor)
    inner = slice(factor, -factor)  # the transposed convolution pads with zeros at the border
    torch.testing.assert_close(out[..., inner, inner], expected[..., inner, inner])
    assert up.weight.requires_grad


def test_bilinear_upsample_rejects_odd_factor() -> None:
    with pytest.raises(ValueError, match="factor must be an even number"):
        BilinearUpsample(3, 3)


def test_backbone_feature_shapes() -> None:
    features = VGGBackbone(in_channels=3, width=4)(torch.rand(2, 3, 64, 64))
    assert features["pool3"].shape == (2, 16, 8, 8)
    assert features["pool4"].shape == (2, 32, 4, 4)
    assert features["fc7"].shape == (2, 64, 2, 2)


def test_skips_differ_only_by_their_layers() -> None:
    """FCN-16s = FCN-32s + (upscore2, score_pool4); FCN-8s adds (upscore_pool4, score_pool3)."""
    names32 = set(fcn32s(width=4).state_dict())
    names16 = set(fcn16s(width=4).state_dict())
    names8 = set(fcn8s(width=4).state_dict())
    added16 = {"upscore2.weight", "score_pool4.weight", "score_pool4.bias"}
    added8 = {"upscore_pool4.weight", "score_pool3.weight", "score_pool3.bias"}
    assert names16 - names32 == added16 and names32 <= names16
    assert names8 - names16 == added8 and names16 <= names8


def test_fcn16s_starts_from_the_fcn32s_scores() -> None:
    """The skip scorers start at zero, so before training FCN-16s = FCN-32s's scores,
    upsampled ×2 (bilinear) then ×16 instead of ×32 at once."""
    torch.manual_seed(0)
    coarse, fine = fcn32s(width=4).eval(), fcn16s(width=4).eval()
    fine.load_state_dict(coarse.state_dict(), strict=False)  # staged training, as in the paper
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        scores = coarse.score_fr(coarse.backbone(x)["fc7"])  # (1, 5, 2, 2)
        expected = F.interpolate(fine.upscore2(scores), scale_factor=16, mode="bilinear")
        torch.testing.assert_close(fine(x), expected)
        assert fine.score_pool4(coarse.backbone(x)["pool4"]).abs().sum() == 0


@pytest.mark.parametrize(("factory", "scorer"), [(fcn16s, "score_pool4"), (fcn8s, "score_pool3")])
def test_last_skip_is_added_before_the_final_upsampling(factory, scorer: str) -> None:
    """A constant +1 on the last skip's scores comes out as +1 on every output pixel:
    it is added to the fused scores, and bilinear interpolation keeps constants."""
    torch.manual_seed(0)
    model = factory(width=4).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        getattr(model, scorer).bias.fill_(1.0)
        after = model(x)
    torch.testing.assert_close(after - before, torch.ones_like(before))


def test_invalid_stride() -> None:
    with pytest.raises(ValueError, match="stride must be 32, 16 or 8, got 4"):
        FCN(4)


def test_width_sets_the_size() -> None:
    small = sum(p.numel() for p in fcn8s(width=4).parameters())
    default = sum(p.numel() for p in fcn8s().parameters())
    assert small < default < 2_000_000
