"""Normalised convolutions: the basic layer every CEECNet block is built from.

The reference wraps "convolution without bias, then a norm layer" into one
``Conv2DNormed`` block. The bias is dropped because
the norm layer's shift (β) makes it redundant.
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

NormName = Literal["batch", "group", "instance", "layer"]
NORMS: tuple[str, ...] = ("batch", "group", "instance", "layer")


class ChannelLayerNorm(nn.Module):
    """Layer norm over the channels of each pixel, as MXNet's ``LayerNorm(axis=1)``.

    ``nn.LayerNorm`` normalises the *last* axes, so the channel axis is moved last,
    normalised, and moved back. One affine pair (γ, β) per channel.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, H, W, C) -> normalise over C -> (B, C, H, W)
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def make_norm(norm: NormName, channels: int, norm_groups: int = 4) -> nn.Module:
    """Build the norm layer named ``norm`` for ``channels`` feature maps.

    Every choice has one affine pair per channel, so the parameter count does
    not depend on the norm: with GroupNorm the counts equal the BatchNorm ones
    (MXNet 1.x's GroupNorm had one pair per *group*; that quirk is not copied).

    Args:
        norm: ``"batch"``, ``"group"`` (``norm_groups`` groups; the paper's choice
            for change detection), ``"instance"`` or ``"layer"`` (over channels).
        channels: number of channels to normalise.
        norm_groups: groups of GroupNorm; must divide ``channels``.

    Raises:
        ValueError: for an unknown ``norm`` or groups that do not divide ``channels``.
    """
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        if norm_groups < 1 or channels % norm_groups:
            raise ValueError(
                f"norm_groups={norm_groups} must divide the {channels} channels of every "
                "GroupNorm layer; choose a divisor or another norm"
            )
        return nn.GroupNorm(norm_groups, channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "layer":
        return ChannelLayerNorm(channels)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


class Conv2dNormed(nn.Sequential):
    """Convolution without bias followed by a norm layer (reference ``Conv2DNormed``).

    Padding is ``kernel_size // 2`` so that a stride-1 convolution keeps the size.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size (1 or 3 in CEECNet).
        stride: 2 halves the spatial size (used by the compress steps and DownSample).
        groups: grouped convolution; CEECNet uses one group per attention head.
        norm: see :func:`make_norm`.
        norm_groups: see :func:`make_norm`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            bias=False,
        )
        super().__init__(conv, make_norm(norm, out_channels, norm_groups))


class DownSample(Conv2dNormed):
    """Halve the size and double the filters: Conv2dNormed 3×3, stride 2.

    A learned strided convolution instead of max pooling, so that the encoder
    chooses what to keep when it reduces the resolution.
    """

    def __init__(self, channels: int, norm: NormName = "batch", norm_groups: int = 4) -> None:
        super().__init__(channels, 2 * channels, 3, stride=2, norm=norm, norm_groups=norm_groups)


def upsample2x(x: Tensor, mode: Literal["nearest", "bilinear"] = "nearest") -> Tensor:
    """Double the spatial size; bilinear uses ``align_corners=True`` as MXNet's
    ``BilinearResize2D`` does by default."""
    if mode == "bilinear":
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
    return F.interpolate(x, scale_factor=2.0, mode="nearest")
