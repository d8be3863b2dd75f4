"""Multitask targets as REFERENCE §4 describes them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ceec_lab.data import multitask_targets


def _square_mask() -> np.ndarray:
    mask = np.zeros((32, 32), np.int64)
    mask[8:20, 10:26] = 1
    return mask


def test_one_hot_channels() -> None:
    targets = multitask_targets(_square_mask())
    seg = targets["segmentation"]
    assert seg.shape == (2, 32, 32) and seg.dtype == np.float32
    np.testing.assert_array_equal(seg.sum(0), 1)
    np.testing.assert_array_equal(seg[1], _square_mask())


def test_boundary_is_a_thin_band_around_the_edge() -> None:
    boundary = multitask_targets(_square_mask())["boundary"]
    assert set(np.unique(boundary)) == {0.0, 1.0}
    band = ndimage.binary_dilation(_square_mask(), iterations=3) & ~ndimage.binary_erosion(
        _square_mask(), iterations=3
    )
    for channel in boundary:
        assert channel.sum() > 0
        assert not channel[~band].any(), "boundary pixels far from the edge"
    assert boundary[1][14, 18] == 0  # the centre of the square is not boundary


def test_distance_matches_scipy_edt_after_min_max_scaling() -> None:
    distance = multitask_targets(_square_mask())["distance"]
    for channel, onehot in zip(
        distance, multitask_targets(_square_mask())["segmentation"], strict=True
    ):
        expected = ndimage.distance_transform_edt(onehot)
        expected = (expected - expected.min()) / (expected.max() - expected.min())
        np.testing.assert_allclose(channel, expected, atol=1e-4)
        assert channel.min() == 0 and channel.max() == 1


def test_empty_mask_targets() -> None:
    targets = multitask_targets(np.zeros((16, 16), np.int64))
    assert targets["boundary"].sum() == 0
    np.testing.assert_array_equal(targets["distance"][0], 1)  # all inside "no change"
    np.testing.assert_array_equal(targets["distance"][1], 0)


@pytest.mark.parametrize("bad", [np.full((8, 8), 2), np.zeros((2, 8, 8), np.int64)])
def test_bad_masks(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="mask"):
        multitask_targets(bad)
