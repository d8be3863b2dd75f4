"""scene_statistics counts what it says, and finds the gap between synthetic and real pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ceec_lab.data import ChangeFolderDataset, SyntheticChangeDataset, scene_statistics


def test_counts_edges_shadow_and_objects_of_a_drawn_pair() -> None:
    image = np.full((32, 32, 3), 0.8, np.float32)
    image[:, :16] = 0.05  # a dark half: shadow, and one vertical edge
    mask = np.zeros((32, 32), np.uint8)
    mask[2:6, 2:6] = 1  # 16 px
    mask[10:20, 20:30] = 1  # 100 px
    stats = scene_statistics([{"image1": image, "image2": image, "mask": mask}])
    assert stats["shadow share"] == pytest.approx(0.5)
    assert 0 < stats["edge density"] < 0.2  # the two columns beside the edge
    assert stats["change objects"] == 2 and stats["median object area (px)"] == 58.0
    assert stats["mean R"] == pytest.approx((0.8 + 0.05) / 2, abs=1e-4)
    with pytest.raises(ValueError, match="no pairs"):
        scene_statistics([])


def test_real_houses_are_far_larger_in_pixels_than_the_64px_synthetic_ones(
    levircd_samples: Path,
) -> None:
    real = ChangeFolderDataset(levircd_samples)
    synthetic = SyntheticChangeDataset(16, size=64, seed=0)
    r = scene_statistics(real.load(i) for i in range(len(real)))
    s = scene_statistics(synthetic.load(i) for i in range(len(synthetic)))
    assert r["median object area (px)"] > 5 * s["median object area (px)"], (r, s)
    assert r["edge density"] > s["edge density"] and r["shadow share"] > s["shadow share"]
