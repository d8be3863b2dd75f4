"""Encoder and decoder of the fully convolutional change-detection networks of Daudt et al. (2018).

"Fully convolutional siamese networks for change detection" (Daudt, Le Saux,
Boulch, ICIP 2018) builds three U-Net-like networks from the same parts: a
4-level encoder with 16, 32, 64 and 128 filters (2, 2, 3 and 3 convolutions per
level, then a 2×2 max-pool) and a mirrored decoder with transposed convolutions
and skip connections. Every 3×3 convolution except the last is followed by batch
norm, ReLU and dropout (p = 0.2 in the authors' code). The three networks differ
only in what reaches the decoder through the skips (see :mod:`.model`).
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

#: Filters of the four encoder levels.
LEVEL_CHANNELS = (16, 32, 64, 128)
#: 3×3 convolutions per encoder level.
CONVS_PER_LEVEL = (2, 2, 3, 3)
#: The decoder mirrors them; the top level's second convolution is the classifier.
DECODER_CONVS_PER_LEVEL = (1, 2, 3, 3)


def conv_bn_relu_dropout(in_channels: int, out_channels: int, dropout: float) -> nn.Sequential:
    """3×3 convolution → batch norm → ReLU → dropout: the unit every layer here is made of."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Dropout2d(dropout),
    )


class Encoder(nn.Module):
    """Four levels of convolutions, each ending in a 2×2 max-pool.

    Args:
        in_channels: input channels.
        dropout: dropout probability after every convolution.

    Shapes:
        input ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of 16; returns
        ``(skips, bottom)``: ``skips[i]`` is level ``i``'s output before pooling,
        ``(B, (16, 32, 64, 128)[i], H / 2^i, W / 2^i)``, and ``bottom`` the last
        pooled map, ``(B, 128, H/16, W/16)``.
    """

    def __init__(self, in_channels: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.levels = nn.ModuleList()
        for out_channels, num_convs in zip(LEVEL_CHANNELS, CONVS_PER_LEVEL, strict=True):
            layers = [conv_bn_relu_dropout(in_channels, out_channels, dropout)]
            layers += [
                conv_bn_relu_dropout(out_channels, out_channels, dropout)
                for _ in range(num_convs - 1)
            ]
            self.levels.append(nn.Sequential(*layers))
            in_channels = out_channels
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        skips = []
        for level in self.levels:
            x = level(x)  # (B, C_i, H / 2^i, W / 2^i)
            skips.append(x)
            x = self.pool(x)  # (B, C_i, H / 2^(i+1), W / 2^(i+1))
        return skips, x


class DecoderLevel(nn.Module):
    """×2 transposed convolution, concatenation with the skip, then convolutions.

    Args:
        in_channels: channels coming up from the level below.
        skip_channels: channels of the skip tensor (doubled for FC-Siam-conc).
        channels: filters of this level.
        out_channels: channels handed to the level above.
        num_convs: number of 3×3 convolutions; the first maps the concatenation to
            ``channels``, the last maps to ``out_channels``.
        dropout: dropout probability after every convolution.

    Shapes:
        ``(B, in_channels, h, w)`` and skip ``(B, skip_channels, 2h, 2w)`` →
        ``(B, out_channels, 2h, 2w)``.
    """

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        channels: int,
        out_channels: int,
        num_convs: int,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(
            in_channels, in_channels, kernel_size=3, stride=2, padding=1, output_padding=1
        )
        widths = [in_channels + skip_channels] + [channels] * (num_convs - 1) + [out_channels]
        self.convs = nn.Sequential(
            *(conv_bn_relu_dropout(a, b, dropout) for a, b in itertools.pairwise(widths))
        )

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.up(x)  # (B, in_channels, 2h, 2w)
        x = torch.cat([x, skip], dim=1)  # (B, in_channels + skip_channels, 2h, 2w)
        return self.convs(x)  # (B, out_channels, 2h, 2w)


class Decoder(nn.Module):
    """Mirror of :class:`Encoder`: four :class:`DecoderLevel` s from the bottom up, then a
    3×3 convolution to class scores (no batch norm, ReLU or dropout on it).

    Args:
        num_classes: number of classes ``K``.
        skip_multiplier: how many encoder outputs each skip holds: 1 for FC-EF and
            FC-Siam-diff, 2 for FC-Siam-conc (both dates concatenated).
        dropout: dropout probability after every convolution but the last.

    Shapes:
        ``bottom`` ``(B, 128, H/16, W/16)`` and ``skips`` as returned by
        :class:`Encoder` (channels times ``skip_multiplier``) → logits ``(B, K, H, W)``.
    """

    def __init__(self, num_classes: int, skip_multiplier: int = 1, dropout: float = 0.2) -> None:
        super().__init__()
        # Level i gets (in, out) = (C_i, C_{i-1}); the top level keeps 16 filters.
        outs = (LEVEL_CHANNELS[0], *LEVEL_CHANNELS[:-1])  # (16, 16, 32, 64)
        self.levels = nn.ModuleList(
            DecoderLevel(c, skip_multiplier * c, c, out, n, dropout)
            for c, out, n in zip(LEVEL_CHANNELS, outs, DECODER_CONVS_PER_LEVEL, strict=True)
        )
        self.classifier = nn.Conv2d(LEVEL_CHANNELS[0], num_classes, kernel_size=3, padding=1)

    def forward(self, bottom: Tensor, skips: list[Tensor]) -> Tensor:
        x = bottom  # (B, 128, H/16, W/16)
        for level, skip in zip(reversed(self.levels), reversed(skips), strict=True):
            x = level(x, skip)  # up one level: H/8, H/4, H/2, H
        return self.classifier(x)  # (B, K, H, W)
