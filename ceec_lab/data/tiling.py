"""Cut large rasters into patches and stitch per-pixel predictions back together.

LEVIR-CD tiles are 1024×1024 while models train on 256×256 patches
(stride 128, docs/paper_map.md). At inference the paper slides a 256 window with
stride 64 over the raster, pads the edges by reflection and averages the
softmax outputs where windows overlap (docs/paper_map.md). Any image size works:
the last window is placed flush with the edge, and an image smaller than the
window is padded up to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class TileGrid:
    """Where the tiles of one image came from, so they can be stitched back."""

    image_shape: tuple[int, int]  # (H, W) of the original image
    padded_shape: tuple[int, int]  # (H, W) after margin and minimum-size padding
    margin: int  # padding added on every side before tiling
    size: int  # tile side
    positions: tuple[tuple[int, int], ...]  # (top, left) of each tile in the padded image


def window_starts(length: int, size: int, stride: int) -> list[int]:
    """Window starts covering ``[0, length)``; the last one is flush with the end."""
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def _pad(x: Tensor, pads: tuple[int, int, int, int], mode: str) -> Tensor:
    """Pad the last two dims by (left, right, top, bottom); reflect falls back to
    replicate when the image is too small to reflect."""
    if not any(pads):
        return x
    h, w = x.shape[-2:]
    left, right, top, bottom = pads
    if mode == "reflect" and (max(left, right) >= w or max(top, bottom) >= h):
        mode = "replicate"
    shape = x.shape
    flat = x.reshape(-1, 1, h, w)
    if mode != "constant" and not flat.is_floating_point():
        return _pad(x.float(), pads, mode).to(x.dtype)
    padded = F.pad(flat, pads, mode=mode)
    return padded.reshape(*shape[:-2], *padded.shape[-2:])


def tile_image(
    image: Tensor | np.ndarray, size: int, stride: int, margin: int = 0, pad_mode: str = "reflect"
) -> tuple[Tensor, TileGrid]:
    """Chop an image into ``size × size`` tiles every ``stride`` pixels, edges covered.

    Args:
        image: ``(..., H, W)`` tensor or array (channels first), any H, W.
        size: tile side. stride: step between tiles (``stride <= size`` covers everything).
        margin: pixels of ``pad_mode`` padding added on every side first.
        pad_mode: ``"reflect"``, ``"replicate"`` or ``"constant"`` (zeros).

    Returns:
        ``tiles`` of shape ``(N, ..., size, size)`` and the :class:`TileGrid`.
    """
    if size < 1 or not 1 <= stride <= size:
        raise ValueError(
            f"need size >= 1 and 1 <= stride <= size, got size={size}, stride={stride}"
        )
    x = torch.as_tensor(image)
    if x.ndim < 2:
        raise ValueError(f"image must have at least 2 dims (..., H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    extra_h, extra_w = max(0, size - h - 2 * margin), max(0, size - w - 2 * margin)
    x = _pad(x, (margin, margin + extra_w, margin, margin + extra_h), pad_mode)
    ph, pw = x.shape[-2:]
    positions = tuple(
        (t, lft) for t in window_starts(ph, size, stride) for lft in window_starts(pw, size, stride)
    )
    tiles = torch.stack([x[..., t : t + size, lft : lft + size] for t, lft in positions])
    return tiles, TileGrid((h, w), (ph, pw), margin, size, positions)


def stitch_tiles(tiles: Tensor, grid: TileGrid) -> Tensor:
    """Reassemble per-pixel tile predictions, averaging where tiles overlap.

    Args:
        tiles: ``(N, ..., size, size)`` predictions, in the order of ``grid.positions``.
        grid: from :func:`tile_image`.

    Returns:
        ``(..., H, W)`` float tensor on the original image's grid.
    """
    if tiles.shape[0] != len(grid.positions) or tuple(tiles.shape[-2:]) != (grid.size, grid.size):
        raise ValueError(
            f"tiles must be ({len(grid.positions)}, ..., {grid.size}, {grid.size}), "
            f"got {tuple(tiles.shape)}"
        )
    tiles = tiles.float()
    total = tiles.new_zeros((*tiles.shape[1:-2], *grid.padded_shape))
    count = tiles.new_zeros(grid.padded_shape)
    for tile, (top, left) in zip(tiles, grid.positions, strict=True):
        total[..., top : top + grid.size, left : left + grid.size] += tile
        count[top : top + grid.size, left : left + grid.size] += 1
    m = grid.margin
    h, w = grid.image_shape
    return (total / count)[..., m : m + h, m : m + w]


class SlidingWindow:
    """Sliding-window inference: tile, predict in batches, stitch with overlap averaging.

    The paper's setting is ``SlidingWindow(size=256, stride=64)`` with reflect
    padding and averaged softmax probabilities.

    Example:
        >>> window = SlidingWindow(size=64, stride=32)
        >>> probs = window(lambda a, b: model(a, b).softmax(1), x1, x2)  # (B, K, H, W)
    """

    def __init__(
        self,
        size: int = 256,
        stride: int = 64,
        margin: int | None = None,
        pad_mode: str = "reflect",
        batch_size: int = 16,
    ) -> None:
        self.size, self.stride, self.pad_mode, self.batch_size = size, stride, pad_mode, batch_size
        self.margin = (size - stride) // 2 if margin is None else margin

    @torch.no_grad()
    def __call__(self, predict: Callable[..., Tensor], *images: Tensor) -> Tensor:
        """Apply ``predict`` (maps ``n`` tiles per input to ``(n, K, size, size)``) to whole images.

        Args:
            predict: the model call, e.g. ``lambda x1, x2: model(x1, x2).softmax(1)``.
            *images: one or more ``(B, C, H, W)`` tensors of equal B, H, W.
        """
        shapes = {(x.shape[0], *x.shape[-2:]) for x in images}
        if len(shapes) != 1:
            raise ValueError(f"all images must share (B, H, W), got {sorted(shapes)}")
        return torch.stack(
            [self._one(predict, [x[b] for x in images]) for b in range(len(images[0]))]
        )

    def _one(self, predict: Callable[..., Tensor], images: list[Tensor]) -> Tensor:
        tiled = [tile_image(x, self.size, self.stride, self.margin, self.pad_mode) for x in images]
        grid = tiled[0][1]
        outputs = [
            predict(*(tiles[i : i + self.batch_size] for tiles, _ in tiled))
            for i in range(0, len(grid.positions), self.batch_size)
        ]
        return stitch_tiles(torch.cat(outputs), grid)
