"""LSNet: the authors' parameter counts, shapes, gradients and the blocks' behaviour."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.models import create_model
from ceec_lab.models.lsnet import LSNet, LSNetConfig, LSNetOutput, lsnet, lsnet_densefpn
from ceec_lab.models.lsnet.blocks import (
    ContextGuidedBlock,
    CoordinateAttention,
    DiffFPN,
    GlobalContext,
    LightSiameseBackbone,
)

VARIANTS = {
    "diff": lambda **kw: lsnet(**kw),
    "thin": lambda **kw: lsnet(fpn="thin", **kw),
    "dense": lambda **kw: lsnet_densefpn(**kw),
}


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    ("variant", "expected"), [("diff", 1_216_848), ("thin", 1_176_728), ("dense", 1_104_732)]
)
def test_parameter_counts_equal_the_authors_code(variant: str, expected: int) -> None:
    # LSNet_diffFPN, LSNet_thin_diffFPN, LSNet_denseFPN of github.com/qaz670756/LSNet,
    # built with 3 input channels and 2 classes.
    assert _trainable(VARIANTS[variant]()) == expected


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(("in_channels", "num_classes"), [(3, 2), (4, 3)])
def test_forward_backward_shapes_and_finite_gradients(
    variant: str, in_channels: int, num_classes: int
) -> None:
    torch.manual_seed(0)
    model = VARIANTS[variant](in_channels=in_channels, num_classes=num_classes)
    x1, x2 = torch.rand(2, in_channels, 16, 24), torch.rand(2, in_channels, 16, 24)
    out = model(x1, x2)
    assert isinstance(out, LSNetOutput)
    assert out.logits.shape == (2, num_classes, 16, 24)
    widths = model.backbone.out_channels
    assert [tuple(f1.shape) for f1, _ in out.features] == [
        (2, widths[i], 16 // 2**i, 24 // 2**i) for i in range(4)
    ]
    loss = out.logits.square().mean() + sum((f1 - f2).square().mean() for f1, f2 in out.features)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_registry_names_and_conventions() -> None:
    for name, fpn in (("lsnet", "diff"), ("lsnet_densefpn", "dense")):
        model = create_model(name)
        assert isinstance(model, LSNet) and model.config.fpn == fpn
        assert model.task == "change" and model.output == "logits_features"


def test_the_two_dates_share_one_backbone() -> None:
    torch.manual_seed(0)
    model = lsnet().eval()
    x1, x2 = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        forward, swapped = model(x1, x2), model(x2, x1)
    for (a1, a2), (b1, b2) in zip(forward.features, swapped.features, strict=True):
        torch.testing.assert_close(a1, b2)
        torch.testing.assert_close(a2, b1)
    assert not torch.allclose(forward.logits, swapped.logits)  # the pyramid sees the order


@pytest.mark.parametrize(
    ("x1", "message"),
    [
        (torch.rand(1, 3, 20, 16), "x1 has height 20, which is not a multiple of 8"),
        (torch.rand(1, 4, 16, 16), "x1 has 4 channels"),
    ],
)
def test_bad_inputs_name_the_argument(x1: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lsnet()(x1, torch.rand(1, 3, 16, 16))


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ValueError, match="fpn must be one of"):
        LSNetConfig(fpn="nested")
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        LSNetConfig(num_classes=0)
    with pytest.raises(ValueError, match="4 entries"):
        LSNetConfig(num_blocks=(3, 3, 8))


def test_context_guided_block_is_depthwise_and_downsamples() -> None:
    block = ContextGuidedBlock(16, 32, dilation=4, reduction=8, downsample=True)
    assert block.local.groups == block.local.in_channels == 16  # one 3×3 filter per channel
    assert block.surrounding.dilation == (4, 4)
    assert block(torch.rand(2, 16, 12, 12)).shape == (2, 32, 6, 6)
    assert not block.residual  # a downsampling block cannot add its input


def test_residual_block_adds_its_input() -> None:
    block = ContextGuidedBlock(8, 8, residual=True).eval()
    x = torch.rand(1, 8, 6, 6)
    plain = ContextGuidedBlock(8, 8).eval()
    plain.load_state_dict(block.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(block(x), x + plain(x))
    with pytest.raises(ValueError, match="in_channels == out_channels"):
        ContextGuidedBlock(4, 8, residual=True)


def test_global_context_gates_channels_by_their_image_mean() -> None:
    layer = GlobalContext(8, reduction=4)
    x = torch.rand(2, 8, 5, 5)
    gates = layer.fc(x.mean(dim=(2, 3)))
    torch.testing.assert_close(layer(x), x * gates[:, :, None, None])
    assert ((gates > 0) & (gates < 1)).all()
    with pytest.raises(ValueError, match="reduction must be in"):
        GlobalContext(4, reduction=8)


def test_coordinate_attention_open_gates_pass_the_input_through() -> None:
    attention = CoordinateAttention(16).eval()
    for gate in (attention.gate_h, attention.gate_w):
        torch.nn.init.zeros_(gate.weight)
        torch.nn.init.constant_(gate.bias, 30.0)  # sigmoid(30) = 1 in float32
    x = torch.rand(2, 16, 6, 9)
    torch.testing.assert_close(attention(x), x)


def test_coordinate_attention_gates_rows_and_columns_separately() -> None:
    torch.manual_seed(0)
    attention = CoordinateAttention(8).eval()
    x = torch.ones(1, 8, 4, 6)
    with torch.no_grad():
        ratio = attention(x) / x  # a_h(row) · a_w(column)
    # a rank-one product per channel: ratio[r, c] · ratio[0, 0] = ratio[r, 0] · ratio[0, c]
    torch.testing.assert_close(ratio * ratio[..., :1, :1], ratio[..., :, :1] * ratio[..., :1, :])


def test_backbone_stages_halve_the_size() -> None:
    backbone = LightSiameseBackbone(3, (8, 16, 16, 32), (1, 2, 1, 1), (1, 2, 4, 8), (2, 2, 2, 2))
    maps = backbone(torch.rand(2, 3, 32, 32))
    # stage 0: blocks + the image; stage 1: blocks + first block + pooled image; then 2× blocks
    assert backbone.out_channels == (8 + 3, 2 * 16 + 3, 2 * 16, 2 * 32)
    assert [m.shape[-1] for m in maps] == [32, 16, 8, 4]


@pytest.mark.parametrize(("rounds", "channels"), [(1, 16), (2, 24), (3, 32)])
def test_diff_fpn_gives_one_full_resolution_map_per_round(rounds: int, channels: int) -> None:
    fpn = DiffFPN((4, 8, 8, 8), 8, (1, 2, 4, 8), (2, 2, 2, 2), rounds=rounds)
    pairs = [(torch.rand(1, c, 16 // 2**i, 16 // 2**i),) * 2 for i, c in enumerate((4, 8, 8, 8))]
    outputs = fpn(pairs)
    assert len(outputs) == rounds and fpn.out_channels == channels
    assert sum(o.shape[1] for o in outputs) == channels
    assert all(o.shape[-2:] == (16, 16) for o in outputs)
    with pytest.raises(ValueError, match="rounds must be in"):
        DiffFPN((4, 8, 8, 8), 8, (1, 2, 4, 8), (2, 2, 2, 2), rounds=4)
