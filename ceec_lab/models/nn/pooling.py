"""Pyramid scene parsing (PSP) pooling with max pooling (reference implementation).

Context from the whole image and from ever finer grids of it is pooled and
broadcast back, so that each pixel sees summaries of its surroundings at
several scales (Zhao et al. 2017, PSPNet). The reference pools with
**max** (MXNet's default pool type), not the average of the PSPNet paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ceec_lab.models.nn.conv import Conv2dNormed, NormName


def grid_max_pool(x: Tensor, cells: int) -> Tensor:
    """Max-pool each cell of a ``cells × cells`` grid and broadcast it over the cell.

    Args:
        x: ``(B, C, H, W)`` with ``H`` and ``W`` divisible by ``cells``.
        cells: grid cells per side (1 = global max pooling).

    Returns:
        ``(B, C, H, W)``, constant on every cell.
    """
    height, width = x.shape[-2:]
    if height % cells or width % cells:
        raise ValueError(f"PSP pooling needs H, W divisible by {cells}, got {height}×{width}")
    pooled = F.max_pool2d(x, kernel_size=(height // cells, width // cells))  # (B, C, g, g)
    return F.interpolate(pooled, size=(height, width), mode="nearest")  # (B, C, H, W)


class PSPPooling(nn.Module):
    """The input plus ``psp_depth`` pooled branches, concatenated and mixed by a 1×1 conv.

    Branch ``k = 0..psp_depth−1`` splits the map into a ``2^k × 2^k`` grid, max-pools
    every cell and applies a Conv2dNormed 1×1 (``out_channels``).

    Args:
        in_channels: channels of the input.
        out_channels: channels of every pooled branch and of the output.
        psp_depth: number of pooled branches; ``H, W`` must be divisible by
            ``2^(psp_depth−1)``.
        norm: norm layer name.
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        psp_depth: int = 4,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        super().__init__()
        if psp_depth < 1:
            raise ValueError(f"psp_depth must be >= 1, got {psp_depth}")
        self.branches = nn.ModuleList(
            Conv2dNormed(in_channels, out_channels, 1, norm=norm, norm_groups=norm_groups)
            for _ in range(psp_depth)
        )
        mixed = in_channels + psp_depth * out_channels
        self.mix = Conv2dNormed(mixed, out_channels, 1, norm=norm, norm_groups=norm_groups)

    def forward(self, x: Tensor) -> Tensor:
        pooled = [conv(grid_max_pool(x, 2**k)) for k, conv in enumerate(self.branches)]
        return self.mix(torch.cat([x, *pooled], dim=1))  # (B, out_channels, H, W)
