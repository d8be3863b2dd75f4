"""The realistic style: deterministic, LEVIR-CD's scale and look, and classic left as it was."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ceec_lab.data import ChangeFolderDataset, SyntheticChangeDataset, scene_statistics
from ceec_lab.data.realistic import _sensor
from ceec_lab.data.synthetic import (
    STYLES,
    Appearance,
    _apply_sensor,
    make_change_pair,
    sample_seed,
)
from ceec_lab.train.config import ConfigError, DataConfig, ExperimentConfig
from ceec_lab.train.runs import build_datasets, evaluation_data


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


@pytest.mark.parametrize(
    "appearance",
    [
        Appearance(),
        Appearance(gain=(1.2, 0.9, 1.05), offset=(0.03, -0.02, 0.0), haze=0.3, shift=(1.5, -1.0)),
    ],
)
def test_realistic_sensor_step_computes_the_classic_one(appearance: Appearance) -> None:
    """The fast sensor step gives the classic step's pixels but for the noise, whose
    spread is ``noise_std`` and which a seed fixes."""
    image = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32) * 0.8 + 0.1
    quiet = replace(appearance, noise_std=0.0)
    expected = _apply_sensor(image, quiet, np.random.default_rng(0))
    np.testing.assert_allclose(_sensor(image, quiet, np.random.default_rng(0)), expected, atol=1e-5)
    noisy = replace(appearance, noise_std=0.04)
    a, b = (_sensor(image, noisy, np.random.default_rng(5)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert abs(float((a - expected)[8:-8, 8:-8].std()) - 0.04) < 0.004


def test_realistic_changes_grow_with_the_area() -> None:
    def changed_objects(size: int) -> int:
        pairs = (make_change_pair(s, size, 0.5, style="realistic") for s in range(6))
        return scene_statistics(pairs)["change objects"]

    assert changed_objects(256) > 4 * max(1, changed_objects(64))  # 16 times the area


def test_the_style_reaches_datasets_through_the_config() -> None:
    data = DataConfig(size=32, n_train=2, n_val=1, style="realistic")
    train, val = build_datasets(data, multitask=False)
    _assert_same_pair(
        train.load(0), make_change_pair(sample_seed(0, 0), 32, 0.5, style="realistic")
    )
    assert val.style == "realistic" and "realistic style" in evaluation_data(data)
    with pytest.raises(ConfigError, match=r"data\.style must be one of \['classic', 'realistic'\]"):
        ExperimentConfig.from_dict({"data": {"style": "levir"}})
