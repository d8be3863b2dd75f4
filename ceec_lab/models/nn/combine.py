"""How the decoder joins an upsampled deeper map with the encoder skip (as the reference does)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ceec_lab.models.nn.conv import Conv2dNormed, NormName, upsample2x
from ceec_lab.models.nn.fusion import Fusion


class UpCombine(nn.Module):
    """Default decoder combine (``upFuse=False``): upsample, then concatenate with the skip.

    The deeper map (``2·channels``) is upsampled ×2 (nearest) and reduced to
    ``channels/2`` by a Conv2dNormed 1×1 + ReLU, concatenated with the skip
    (``channels``) and mixed by a Conv2dNormed 1×1 to ``channels``.

    Args:
        channels: channels of the skip and of the output; the deeper map has twice as many.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(self, channels: int, norm: NormName = "batch", norm_groups: int = 4) -> None:
        super().__init__()
        norm_args = dict(norm=norm, norm_groups=norm_groups)
        self.up = Conv2dNormed(2 * channels, channels // 2, 1, **norm_args)
        self.mix = Conv2dNormed(channels // 2 + channels, channels, 1, **norm_args)

    def forward(self, low: Tensor, skip: Tensor) -> Tensor:
        up = torch.relu(self.up(upsample2x(low)))  # (B, C/2, H, W)
        return self.mix(torch.cat([up, skip], dim=1))  # (B, C, H, W)


class UpFuseCombine(nn.Module):
    """Decoder combine with Fusion (``upFuse=True``).

    The deeper map is upsampled ×2 (bilinear), reduced to ``channels`` by a
    grouped Conv2dNormed 3×3 + ReLU, and fused with the skip by relative
    attention (:class:`~ceec_lab.models.nn.fusion.Fusion`) instead of concatenation.

    Args:
        channels: channels of the skip and of the output.
        nheads: convolution groups / attention heads.
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
        norm_args = dict(norm=norm, norm_groups=norm_groups)
        self.up = Conv2dNormed(2 * channels, channels, 3, groups=nheads, **norm_args)
        self.fusion = Fusion(channels, nheads, attention_depth, **norm_args)

    def forward(self, low: Tensor, skip: Tensor) -> Tensor:
        up = torch.relu(self.up(upsample2x(low, "bilinear")))  # (B, C, H, W)
        return self.fusion(up, skip)  # (B, C, H, W)
