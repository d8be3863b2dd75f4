"""Tiling and stitching: edges covered, exact round trip, any size."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from ceec_lab.data import SlidingWindow, stitch_tiles, tile_image
from ceec_lab.data.tiling import pad_to_multiple, window_starts


@pytest.mark.parametrize(
    ("length", "size", "stride"), [(1024, 256, 128), (70, 32, 16), (93, 32, 20), (32, 32, 8)]
)
def test_window_starts_cover_the_edges(length: int, size: int, stride: int) -> None:
    starts = window_starts(length, size, stride)
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s : s + size] = True
    assert covered.all() and starts[0] == 0 and starts[-1] == length - size
    assert all(b - a <= stride for a, b in itertools.pairwise(starts))


def test_levircd_tiles_give_the_reference_patch_count() -> None:
    tiles, grid = tile_image(torch.zeros(3, 1024, 1024), size=256, stride=128)
    assert tiles.shape == (49, 3, 256, 256) and len(grid.positions) == 49


@pytest.mark.parametrize("shape", [(3, 70, 93), (1, 256, 256), (2, 20, 31), (5, 5)])
@pytest.mark.parametrize("margin", [0, 7])
def test_round_trip_is_exact_for_identity_predictions(shape: tuple[int, ...], margin: int) -> None:
    image = torch.randint(0, 256, shape).float()
    tiles, grid = tile_image(image, size=32, stride=12, margin=margin)
    assert torch.equal(stitch_tiles(tiles, grid), image)


def test_numpy_input_and_overlap_averaging() -> None:
    image = np.arange(40 * 50, dtype=np.float32).reshape(40, 50)
    tiles, grid = tile_image(image, size=16, stride=8)
    tiles[0] += 1.0  # only the first tile is off by one
    stitched = stitch_tiles(tiles, grid)
    assert stitched[0, 0] == image[0, 0] + 1  # covered by tile 0 alone
    assert stitched[8, 8] == pytest.approx(image[8, 8] + 0.25)  # covered by 4 tiles


def test_sliding_window_on_an_odd_sized_pair() -> None:
    x1, x2 = torch.rand(2, 3, 70, 93), torch.rand(2, 3, 70, 93)
    window = SlidingWindow(size=32, stride=8, batch_size=7)
    out = window(lambda a, b: torch.cat([a, b], 1), x1, x2)
    assert out.shape == (2, 6, 70, 93)
    torch.testing.assert_close(out, torch.cat([x1, x2], 1))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="stride"):
        tile_image(torch.zeros(3, 8, 8), size=4, stride=5)
    tiles, grid = tile_image(torch.zeros(3, 40, 40), size=16, stride=8)
    with pytest.raises(ValueError, match="tiles must be"):
        stitch_tiles(tiles[:-1], grid)
    with pytest.raises(ValueError, match="share"):
        SlidingWindow(16, 8)(lambda a, b: a, torch.zeros(1, 3, 20, 20), torch.zeros(1, 3, 20, 21))


def test_pad_to_multiple_pads_bottom_right_by_reflection():
    x = torch.arange(5 * 7, dtype=torch.float32).reshape(1, 1, 5, 7)
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 1, 8, 8)
    torch.testing.assert_close(padded[..., :5, :7], x)  # the image stays top-left
    torch.testing.assert_close(padded[..., 5, :7], x[..., 3, :])  # reflected, edge not repeated
    assert pad_to_multiple(x, 1) is x
    with pytest.raises(ValueError, match="multiple must be >= 1"):
        pad_to_multiple(x, 0)
