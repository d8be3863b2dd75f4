"""CEECNet building blocks: the units of the encoder/decoder and the multitask head.

Paper: Diakogiannis, Waldner, Caccetta (2021), "Looking for change? Roll the Dice
and demand Attention", Remote Sensing 13(18), 3707 (arXiv 2009.02062). Shared
layers (FracTAL, Fusion, PSP pooling, crisp sigmoid) live in :mod:`ceec_lab.models.nn`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ceec_lab.models.nn import (
    AttentionGate,
    CATFusion,
    Conv2dNormed,
    CrispSigmoid,
    Fusion,
    PSPPooling,
    RelativeFracTAL,
    SelfFracTAL,
    make_norm,
    upsample2x,
)
from ceec_lab.models.nn.conv import NormName


def _check_channels(channels: int, nheads: int, multiple: int) -> None:
    """The branch widths (``channels/2``, ``channels/4``) must split into ``nheads`` groups."""
    if channels % (multiple * nheads):
        raise ValueError(
            f"channels={channels} must be a multiple of {multiple}·nheads = {multiple * nheads} "
            "so that every grouped convolution of the unit splits evenly"
        )


# ----------------------------------------------------------------------------- FracTAL ResNet


class ResNetV2Block(nn.Module):
    """Pre-activation residual branch: norm, ReLU, conv 3×3, norm, ReLU, conv 3×3 (He et al. 2016).

    The first convolution has no bias (a norm follows it), the second has one.
    Both are grouped. The skip connection is added by the unit that uses it.

    Args:
        channels: input and output channels.
        groups: convolution groups (one per attention head in CEECNet).
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self, channels: int, groups: int = 1, norm: NormName = "batch", norm_groups: int = 4
    ) -> None:
        super().__init__()
        self.norm1 = make_norm(norm, channels, norm_groups)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, groups=groups, bias=False)
        self.norm2 = make_norm(norm, channels, norm_groups)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, groups=groups)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(torch.relu(self.norm1(x)))  # (B, C, H, W)
        return self.conv2(torch.relu(self.norm2(x)))  # (B, C, H, W)


class FracTALResNetUnit(nn.Module):
    """FracTAL ResNet unit: ``(x + block(x)) · (1 + γ · SelfFracTAL(x))`` (paper: FracTAL ResNet).

    A residual unit whose output is emphasised by self attention on its input:
    the attention says which channels and pixels of ``x`` matter. γ starts at 0,
    so a fresh unit is a plain ResNet v2 unit.

    Args:
        channels: input and output channels.
        nheads: attention heads = convolution groups.
        attention_depth: fractal depth ``D`` of the attention similarity.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self,
        channels: int,
        nheads: int = 1,
        attention_depth: int = 5,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        super().__init__()
        _check_channels(channels, nheads, 1)
        self.block = ResNetV2Block(channels, nheads, norm, norm_groups)
        self.self_attention = AttentionGate(
            SelfFracTAL(channels, channels, nheads, attention_depth, norm, norm_groups)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.self_attention(x + self.block(x), x)  # (B, C, H, W)


# ----------------------------------------------------------------------------- CEEC units


class ConcatCombine(nn.Module):
    """``ReLU(Conv2dNormed_3x3(concat(x, skip)))``: how CEEC V1 joins two maps."""

    def __init__(
        self, in_channels: int, out_channels: int, groups: int, norm: NormName, norm_groups: int
    ) -> None:
        super().__init__()
        nrm = dict(norm=norm, norm_groups=norm_groups)
        self.conv = Conv2dNormed(in_channels, out_channels, 3, groups=groups, **nrm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return torch.relu(self.conv(torch.cat([x, skip], dim=1)))


class ConvSkipFusion(nn.Module):
    """``Fusion(x, ReLU(Conv2dNormed_3x3(skip)))``: how CEEC V2 ends its compress-expand branch."""

    def __init__(
        self, channels: int, nheads: int, attention_depth: int, norm: NormName, norm_groups: int
    ) -> None:
        super().__init__()
        nrm = dict(norm=norm, norm_groups=norm_groups)
        self.skip_conv = Conv2dNormed(channels, channels, 3, groups=nheads, **nrm)
        self.fusion = Fusion(channels, nheads, attention_depth, **nrm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.fusion(x, torch.relu(self.skip_conv(skip)))


class CompressExpand(nn.Module):
    """The "mini U-Net" branch of a CEEC unit (paper: the CEEC building block).

    ``a0 = CN3x3(h)(x)`` (``h = C/2``); halve the size with a strided convolution to
    ``2h`` channels, process, then come back (bilinear ×2, CN3x3 to ``h``, ReLU) and
    combine with ``a0``. It sees a coarser, wider context of the input.

    Args:
        channels: input channels ``C``.
        nheads: convolution groups.
        combine: joins the expanded map with ``a0`` (both ``h`` channels) into ``h`` channels.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self, channels: int, nheads: int, combine: nn.Module, norm: NormName, norm_groups: int
    ) -> None:
        super().__init__()
        h = channels // 2
        args = dict(groups=nheads, norm=norm, norm_groups=norm_groups)
        self.init = Conv2dNormed(channels, h, 3, **args)
        self.compress = nn.Sequential(
            Conv2dNormed(h, 2 * h, 3, stride=2, **args),
            nn.ReLU(),
            Conv2dNormed(2 * h, 2 * h, 3, **args),
            nn.ReLU(),
        )
        self.expand = Conv2dNormed(2 * h, h, 3, **args)
        self.combine = combine

    def forward(self, x: Tensor) -> Tensor:
        a0 = self.init(x)  # (B, h, H, W)
        a = self.compress(a0)  # (B, 2h, H/2, W/2)
        a = torch.relu(self.expand(upsample2x(a, "bilinear")))  # (B, h, H, W)
        return self.combine(a, a0)  # (B, h, H, W)


class ExpandCompress(nn.Module):
    """The "inverted U-Net" branch of a CEEC unit (paper: the CEEC building block).

    ``b0 = CN3x3(h)(x)``; double the size (bilinear ×2, two CN3x3 to ``h/2``
    with ReLU), come back with a strided convolution to ``h``, ReLU, and
    combine with ``b0``. It sees finer detail than the input resolution offers.

    Args:
        channels: input channels ``C``.
        nheads: convolution groups.
        combine: joins the compressed map with ``b0`` (both ``h`` channels) into ``h`` channels.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self, channels: int, nheads: int, combine: nn.Module, norm: NormName, norm_groups: int
    ) -> None:
        super().__init__()
        h = channels // 2
        args = dict(groups=nheads, norm=norm, norm_groups=norm_groups)
        self.init = Conv2dNormed(channels, h, 3, **args)
        self.expand = nn.Sequential(
            Conv2dNormed(h, h // 2, 3, **args),
            nn.ReLU(),
            Conv2dNormed(h // 2, h // 2, 3, **args),
            nn.ReLU(),
        )
        self.compress = Conv2dNormed(h // 2, h, 3, stride=2, **args)
        self.combine = combine

    def forward(self, x: Tensor) -> Tensor:
        b0 = self.init(x)  # (B, h, H, W)
        b = self.expand(upsample2x(b0, "bilinear"))  # (B, h/2, 2H, 2W)
        b = torch.relu(self.compress(b))  # (B, h, H, W)
        return self.combine(b, b0)  # (B, h, H, W)


class CEECUnit(nn.Module):
    """A CEEC unit from its two branches and its collect step (paper: the CEEC building block).

    Two views of the input, one coarser (``a``, compress-expand) and one finer
    (``b``, expand-compress), are emphasised by relative attention to each other,
    ``a' = a·(1 + γ2·RelFracTAL(a, b, b))`` and ``b' = b·(1 + γ3·RelFracTAL(b, a, a))``,
    collected into ``m`` (``C`` channels) and added to the input; the sum is
    emphasised by self attention on the input: ``(x + m)·(1 + γ1·SelfFracTAL(x))``.
    Use :class:`CEECUnitV1` or :class:`CEECUnitV2`, which choose the combine steps.
    """

    def __init__(
        self,
        channels: int,
        nheads: int,
        attention_depth: int,
        norm: NormName,
        norm_groups: int,
        combine_a: nn.Module,
        combine_b: nn.Module,
        collect: nn.Module,
    ) -> None:
        super().__init__()
        h = channels // 2
        self.compress_expand = CompressExpand(channels, nheads, combine_a, norm, norm_groups)
        self.expand_compress = ExpandCompress(channels, nheads, combine_b, norm, norm_groups)
        att = dict(
            nheads=nheads, attention_depth=attention_depth, norm=norm, norm_groups=norm_groups
        )
        self.relative_ab = AttentionGate(RelativeFracTAL(h, h, **att))
        self.relative_ba = AttentionGate(RelativeFracTAL(h, h, **att))
        self.collect = collect
        self.self_attention = AttentionGate(SelfFracTAL(channels, channels, **att))

    def forward(self, x: Tensor) -> Tensor:
        a = self.compress_expand(x)  # (B, C/2, H, W)
        b = self.expand_compress(x)  # (B, C/2, H, W)
        a_att = self.relative_ab(a, a, b, b)  # (B, C/2, H, W): a seen through b
        b_att = self.relative_ba(b, b, a, a)  # (B, C/2, H, W): b seen through a
        m = self.collect(a_att, b_att)  # (B, C, H, W)
        return self.self_attention(x + m, x)  # (B, C, H, W)


class CEECUnitV1(CEECUnit):
    """CEEC unit V1: branches and collect joined by concatenation + Conv2dNormed 3×3 + ReLU.

    The collect convolution is not grouped (``groups=1``), so the two branches mix.

    Args:
        channels: input and output channels ``C`` (a multiple of ``4·nheads``).
        nheads: attention heads = groups of the branch convolutions.
        attention_depth: fractal depth ``D`` of the attention similarity.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self,
        channels: int,
        nheads: int = 1,
        attention_depth: int = 5,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        _check_channels(channels, nheads, 4)
        h = channels // 2
        nrm = dict(norm=norm, norm_groups=norm_groups)
        super().__init__(
            channels,
            nheads,
            attention_depth,
            norm,
            norm_groups,
            combine_a=ConcatCombine(2 * h, h, nheads, **nrm),
            combine_b=ConcatCombine(2 * h, h, nheads, **nrm),
            collect=ConcatCombine(2 * h, channels, 1, **nrm),
        )


class CEECUnitV2(CEECUnit):
    """CEEC unit V2: every concatenation of V1 replaced by Fusion (reference ``CEEC_unit_v2``).

    The compress-expand branch ends with ``Fusion(expanded, ReLU(CN3x3(a0)))``,
    the expand-compress branch with ``Fusion(b, b0)``, and the collect is a
    :class:`~ceec_lab.models.nn.CATFusion` from ``C/2`` to ``C`` channels (one head).

    Args:
        channels: input and output channels ``C`` (a multiple of ``4·nheads``).
        nheads: attention heads = groups of the branch convolutions.
        attention_depth: fractal depth ``D`` of the attention similarity.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self,
        channels: int,
        nheads: int = 1,
        attention_depth: int = 5,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        _check_channels(channels, nheads, 4)
        h = channels // 2
        nrm = dict(norm=norm, norm_groups=norm_groups)
        super().__init__(
            channels,
            nheads,
            attention_depth,
            norm,
            norm_groups,
            combine_a=ConvSkipFusion(h, nheads, attention_depth, **nrm),
            combine_b=Fusion(h, nheads, attention_depth, **nrm),
            collect=CATFusion(h, channels, 1, attention_depth, **nrm),
        )


# ----------------------------------------------------------------------------- multitask head


class HeadSingle(nn.Sequential):
    """Two (Conv2dNormed 3×3, ReLU) and a 1×1 convolution with bias to class logits."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        num_classes: int,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        nrm = dict(norm=norm, norm_groups=norm_groups)
        super().__init__(
            Conv2dNormed(in_channels, channels, 3, **nrm),
            nn.ReLU(),
            Conv2dNormed(channels, channels, 3, **nrm),
            nn.ReLU(),
            nn.Conv2d(channels, num_classes, 1),
        )


class MultitaskHead(nn.Module):
    """Conditioned multitask head: distance → boundary → segmentation (paper: the multitask head).

    Each prediction is fed to the next: the distance transform (coarse shape)
    helps find the boundaries, and both help the final segmentation. The
    boundary uses the :class:`~ceec_lab.models.nn.CrispSigmoid` since boundaries
    of different classes may overlap; the other two use softmax over classes
    (sigmoid when ``num_classes == 1``).

    Args:
        channels: ``nf``, the channels of the decoder output and of ``fuse_first``.
        num_classes: classes of every output.
        psp_depth: branches of the PSP pooling (the reference uses its default, 4).
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self,
        channels: int,
        num_classes: int = 2,
        psp_depth: int = 4,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        super().__init__()
        nrm = dict(norm=norm, norm_groups=norm_groups)
        self.num_classes = num_classes
        self.psp = PSPPooling(2 * channels, channels, psp_depth, **nrm)
        self.distance_head = HeadSingle(2 * channels, channels, num_classes, **nrm)
        self.distance_eq = Conv2dNormed(num_classes, channels, 1, **nrm)
        self.boundary_head = HeadSingle(2 * channels, channels, num_classes, **nrm)
        self.crisp_sigmoid = CrispSigmoid()
        self.boundary_eq = Conv2dNormed(num_classes, channels, 1, **nrm)
        self.combine = Conv2dNormed(2 * channels, channels, 1, **nrm)
        self.segmentation_head = HeadSingle(2 * channels, channels, num_classes, **nrm)

    def _activation(self, logits: Tensor) -> Tensor:
        return logits.softmax(dim=1) if self.num_classes > 1 else logits.sigmoid()

    def forward(self, features: Tensor, first: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return ``(segmentation, boundary, distance)``, each ``(B, num_classes, H, W)``.

        Args:
            features: decoder output ``(B, nf, H, W)``.
            first: the full-resolution features of the first layer ``(B, nf, H, W)``.
        """
        c = torch.cat([first, features], dim=1)  # (B, 2nf, H, W)
        f = torch.relu(self.psp(c))  # (B, nf, H, W)
        distance = self._activation(self.distance_head(c))  # (B, K, H, W)
        distance_eq = torch.relu(self.distance_eq(distance))  # (B, nf, H, W)
        boundary = self.crisp_sigmoid(self.boundary_head(torch.cat([f, distance_eq], dim=1)))
        boundary_eq = torch.relu(self.boundary_eq(boundary))  # (B, nf, H, W)
        both = torch.relu(self.combine(torch.cat([boundary_eq, distance_eq], dim=1)))
        segmentation = self._activation(self.segmentation_head(torch.cat([both, f], dim=1)))
        return segmentation, boundary, distance
