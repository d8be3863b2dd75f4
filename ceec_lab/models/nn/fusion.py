"""Fusion: combine two equal-shaped maps through relative attention (paper: the Fusion layer).

Used for the two dates of the Siamese encoder and inside CEEC unit V2. Each
input is emphasised by what the *other* one attends to,
``t1 · (1 + γ1 · RelFracTAL(t1, t2, t2))`` and ``t2 · (1 + γ2 · RelFracTAL(t2, t1, t1))``,
and the two are concatenated and mixed by a grouped Conv2dNormed 3×3 + ReLU.
Unlike a plain difference ``t1 − t2`` this keeps what is shared as well as what
changed, and learns how to weigh them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ceec_lab.models.nn.attention import AttentionGate, RelativeFracTAL
from ceec_lab.models.nn.conv import Conv2dNormed, NormName


class CATFusion(nn.Module):
    """Fusion with an output width of its own (reference ``CATFusion``).

    Args:
        in_channels: channels of each of the two inputs (and of the attention keys).
        out_channels: channels of the fused output.
        nheads: convolution groups of the attention and of the fusing convolution.
        attention_depth: fractal depth ``D`` of the attention similarity.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        nheads: int = 1,
        attention_depth: int = 5,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        super().__init__()
        att_args = dict(
            nheads=nheads, attention_depth=attention_depth, norm=norm, norm_groups=norm_groups
        )
        self.relative_12 = AttentionGate(RelativeFracTAL(in_channels, in_channels, **att_args))
        self.relative_21 = AttentionGate(RelativeFracTAL(in_channels, in_channels, **att_args))
        self.fuse = Conv2dNormed(
            2 * in_channels, out_channels, 3, groups=nheads, norm=norm, norm_groups=norm_groups
        )

    def forward(self, t1: Tensor, t2: Tensor) -> Tensor:
        t12 = self.relative_12(t1, t1, t2, t2)  # (B, C, H, W): t1 seen through t2
        t21 = self.relative_21(t2, t2, t1, t1)  # (B, C, H, W): t2 seen through t1
        return torch.relu(self.fuse(torch.cat([t12, t21], dim=1)))  # (B, out, H, W)


class Fusion(CATFusion):
    """Fusion of two ``channels``-wide maps into one map of the same width."""

    def __init__(
        self,
        channels: int,
        nheads: int = 1,
        attention_depth: int = 5,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        super().__init__(channels, channels, nheads, attention_depth, norm, norm_groups)
