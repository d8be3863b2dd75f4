"""The realistic style: deterministic, LEVIR-CD's scale and look, and classic left as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ceec_lab.data import ChangeFolderDataset, SyntheticChangeDataset, scene_statistics
from ceec_lab.data.synthetic import STYLES, make_change_pair, sample_seed


def _assert_same_pair(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for key in ("image1", "image2", "mask"):
        np.testing.assert_array_equal(a[key], b[key])


def test_realistic_pair_is_deterministic_and_well_formed() -> None:
    a, b = (make_change_pair(7, 96, 0.8, style="realistic") for _ in range(2))
    _assert_same_pair(a, b)
    assert a["image1"].shape == (96, 96, 3) and a["image1"].dtype == np.float32
    assert 0.0 <= a["image2"].min() and a["image2"].max() <= 1.0
    assert set(np.unique(a["mask"])) <= {0, 1}
    assert not np.array_equal(a["image1"], make_change_pair(7, 96, 0.8)["image1"])


@pytest.mark.parametrize(("seed", "size"), [(0, 64), (3, 100), (5, 256)])
def test_classic_is_the_default_and_unchanged(seed: int, size: int) -> None:
    _assert_same_pair(
        make_change_pair(seed, size, 0.6), make_change_pair(seed, size, 0.6, style="classic")
    )


@pytest.mark.parametrize("seed", range(3))
def test_realistic_mask_does_not_depend_on_difficulty(seed: int) -> None:
    easy = make_change_pair(seed, 128, 0.0, style="realistic")
    hard = make_change_pair(seed, 128, 1.0, style="realistic", without=("haze",))
    np.testing.assert_array_equal(easy["mask"], hard["mask"])
    np.testing.assert_array_equal(easy["image1"], hard["image1"])
    assert not np.array_equal(easy["image2"], hard["image2"])


def test_realistic_dataset_passes_the_style_on() -> None:
    pair = SyntheticChangeDataset(2, size=64, seed=1, style="realistic").load(1)
    _assert_same_pair(pair, make_change_pair(sample_seed(1, 1), 64, 0.5, style="realistic"))


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_change_pair(0, 64, style="levir"),
        lambda: SyntheticChangeDataset(2, 64, style="Realistic"),
    ],
)
def test_an_unknown_style_is_named(build) -> None:
    with pytest.raises(ValueError, match=r"style must be one of \['classic', 'realistic'\]"):
        build()
    assert STYLES == ("classic", "realistic")


def test_realistic_houses_keep_their_size_in_small_scenes() -> None:
    def median_area(style: str) -> float:
        pairs = (make_change_pair(s, 64, 0.5, n_changes=2, style=style) for s in range(12))
        return scene_statistics(pairs)["median object area (px)"]

    assert median_area("realistic") > 5 * median_area("classic")


def test_realistic_is_closer_to_levircd_than_classic(levircd_samples: Path) -> None:
    real = ChangeFolderDataset(levircd_samples)
    r = scene_statistics(real.load(i) for i in range(len(real)))
    c, s = (
        scene_statistics(make_change_pair(i, 256, 0.5, style=style) for i in range(6))
        for style in STYLES
    )
    for key in ("std R", "std G", "std B", "edge density", "shadow share"):
        assert abs(s[key] - r[key]) < abs(c[key] - r[key]), (key, r[key], c[key], s[key])
