"""Synthetic scenes: deterministic, well-formed, and nuisance never labelled as change."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ceec_lab.data import (
    SEGMENTATION_CLASSES,
    SyntheticChangeDataset,
    SyntheticSegmentationDataset,
    make_change_pair,
    make_segmentation_scene,
)
from ceec_lab.data.synthetic import BUILDING, check_difficulty


def test_segmentation_scene_is_deterministic_and_well_formed() -> None:
    a, b = make_segmentation_scene(3, 96), make_segmentation_scene(3, 96)
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["mask"], b["mask"])
    assert a["image"].shape == (96, 96, 3) and a["image"].dtype == np.float32
    assert 0.0 <= a["image"].min() and a["image"].max() <= 1.0
    assert a["mask"].shape == (96, 96) and a["mask"].max() < len(SEGMENTATION_CLASSES)
    assert not np.array_equal(a["image"], make_segmentation_scene(4, 96)["image"])


def test_segmentation_scenes_cover_the_classes() -> None:
    counts = sum(
        np.bincount(make_segmentation_scene(s, 128)["mask"].ravel(), minlength=5) for s in range(20)
    )
    assert (counts > 0).all(), (
        f"some class never drawn: {dict(zip(SEGMENTATION_CLASSES, counts, strict=True))}"
    )


def test_change_pair_is_deterministic() -> None:
    a, b = make_change_pair(7, 64, 0.8), make_change_pair(7, 64, 0.8)
    for key in ("image1", "image2", "mask"):
        np.testing.assert_array_equal(a[key], b[key])
    assert set(np.unique(a["mask"])) <= {0, 1}


@pytest.mark.parametrize("seed", range(5))
def test_difficulty_changes_pixels_but_never_the_label(seed: int) -> None:
    easy, hard = make_change_pair(seed, 128, 0.0), make_change_pair(seed, 128, 1.0)
    np.testing.assert_array_equal(easy["mask"], hard["mask"])
    np.testing.assert_array_equal(easy["image1"], hard["image1"])
    outside = easy["mask"] == 0
    easy_diff = np.abs(easy["image2"] - easy["image1"]).mean(-1)[outside].mean()
    hard_diff = np.abs(hard["image2"] - hard["image1"]).mean(-1)[outside].mean()
    assert hard_diff > 3 * easy_diff, (easy_diff, hard_diff)


def test_nuisance_alone_is_no_change() -> None:
    pair = make_change_pair(11, 128, difficulty=1.0, n_changes=0)
    assert pair["mask"].sum() == 0
    assert np.abs(pair["image2"] - pair["image1"]).mean() > 0.03  # the images do differ


def test_changes_are_building_footprints() -> None:
    """Every changed pixel is a building in at least one of the two dates."""
    from ceec_lab.data.synthetic import change_layout, random_layout, render

    rng = np.random.default_rng(0)
    for _ in range(5):
        before = random_layout(rng, 128)
        after, mask = change_layout(rng, before, n_changes=3)
        _, classes1 = render(before, _plain(), rng)
        _, classes2 = render(after, _plain(), rng)
        building_somewhere = (classes1 == BUILDING) | (classes2 == BUILDING)
        assert mask.sum() > 0
        assert building_somewhere[mask == 1].mean() > 0.97


def _plain():
    from ceec_lab.data.synthetic import Appearance

    return Appearance(noise_std=0.0)


def test_datasets_give_tensors_of_the_documented_types() -> None:
    seg = SyntheticSegmentationDataset(3, size=32, seed=1)[2]
    assert seg["image"].shape == (3, 32, 32) and str(seg["image"].dtype) == "torch.float32"
    assert seg["mask"].shape == (32, 32) and str(seg["mask"].dtype) == "torch.int64"
    pair = SyntheticChangeDataset(2, size=32, multitask=True)[1]
    assert pair["image1"].shape == pair["image2"].shape == (3, 32, 32)
    assert set(pair["mask"].unique().tolist()) <= {0, 1}
    assert pair["boundary"].shape == pair["distance"].shape == (2, 32, 32)


def test_datasets_are_deterministic_by_seed_and_differ_across_seeds() -> None:
    a, b = SyntheticChangeDataset(4, 32, seed=5), SyntheticChangeDataset(4, 32, seed=5)
    assert (a[3]["image2"] == b[3]["image2"]).all()
    assert not (a[3]["image2"] == SyntheticChangeDataset(4, 32, seed=6)[3]["image2"]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be"),
        ({"n": 2, "difficulty": 1.5}, "difficulty"),
        ({"n": 2, "size": 8}, "size"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyntheticChangeDataset(**kwargs)[0]


@pytest.mark.parametrize(
    ("difficulty", "expected"),
    [(0, (0.0, 0.0)), (0.5, (0.5, 0.5)), (np.float32(1.0), (1.0, 1.0)), ([0.2, 0.8], (0.2, 0.8))],
)
def test_check_difficulty_gives_a_range(difficulty, expected) -> None:
    assert check_difficulty(difficulty) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("difficulty", "message"),
    [
        (1.5, r"--difficulty must be in \[0, 1\], got 1.5$"),
        (-0.1, r"--difficulty must be in \[0, 1\], got -0.1$"),
        (float("nan"), r"--difficulty must be in \[0, 1\], got nan$"),
        ("hard", r"--difficulty must be in \[0, 1\], got 'hard'$"),
        ((0.8, 0.2), r"in \[0, 1\] as a \(low, high\) range with low <= high, got \(0.8, 0.2\)"),
        ((0.2, 1.2), r"as a \(low, high\) range"),
        ((0.1, 0.2, 0.3), r"as a \(low, high\) range"),
    ],
)
def test_check_difficulty_names_the_argument_and_the_range(difficulty, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_difficulty(difficulty, "--difficulty")


def test_the_dataset_and_the_generator_use_the_one_check() -> None:
    for build in (
        lambda: SyntheticChangeDataset(2, 32, difficulty=2),
        lambda: make_change_pair(0, 32, difficulty=2),
    ):
        with pytest.raises(ValueError, match=r"^difficulty must be in \[0, 1\], got 2$"):
            build()
    with pytest.raises(ValueError, match="one level here, got the range"):
        make_change_pair(0, 32, difficulty=(0.2, 0.8))


def test_index_out_of_range() -> None:
    with pytest.raises(IndexError, match="out of range"):
        SyntheticChangeDataset(2, 32)[2]


def test_difficulty_range_draws_a_level_per_pair() -> None:
    dataset = SyntheticChangeDataset(20, 32, seed=2, difficulty=(0.2, 0.8))
    levels = [dataset.difficulty_of(i) for i in range(20)]
    assert all(0.2 <= level <= 0.8 for level in levels) and len(set(levels)) == 20
    assert levels == [
        SyntheticChangeDataset(20, 32, seed=2, difficulty=(0.2, 0.8)).difficulty_of(i)
        for i in range(20)
    ]
    fixed = SyntheticChangeDataset(2, 32, seed=2, difficulty=levels[1])
    assert (dataset[1]["image2"] == fixed[1]["image2"]).all()
    with pytest.raises(ValueError, match="range"):
        SyntheticChangeDataset(2, difficulty=(0.8, 0.2))


def test_cache_gives_the_same_samples_and_survives_in_place_transforms() -> None:
    def zero_in_place(**sample):
        sample["image1"] *= 0
        return sample

    plain = SyntheticChangeDataset(3, size=32, seed=4)
    cached = SyntheticChangeDataset(3, size=32, seed=4, cache=True, transform=zero_in_place)
    for index in range(3):
        first = cached[index]
        assert float(first["image1"].abs().sum()) == 0.0  # the transform ran
        raw = cached.load(index)
        expected = plain.load(index)
        for key in expected:
            np.testing.assert_array_equal(raw[key], expected[key])
    scenes = SyntheticSegmentationDataset(2, size=32, seed=1, cache=True)
    reference = SyntheticSegmentationDataset(2, size=32, seed=1)
    for index in range(2):
        assert torch.equal(scenes[index]["mask"], reference[index]["mask"])
        assert torch.equal(scenes[index]["image"], reference[index]["image"])


def test_without_switches_one_nuisance_off_and_keeps_the_rest() -> None:
    from ceec_lab.data.synthetic import NUISANCE_FACTORS

    full = make_change_pair(3, 32, difficulty=1.0)
    clean = make_change_pair(3, 32, difficulty=1.0, without=tuple(NUISANCE_FACTORS))
    reference = make_change_pair(3, 32, difficulty=0.0)
    assert np.array_equal(full["mask"], clean["mask"])
    # With every factor off only the random draws differ: the image is the clean one's.
    assert np.abs(clean["image2"] - reference["image2"]).mean() < 0.02
    assert np.abs(full["image2"] - reference["image2"]).mean() > 0.05
    no_haze = make_change_pair(3, 32, difficulty=1.0, without=("haze",))
    assert np.array_equal(no_haze["image1"], full["image1"])
    data = SyntheticChangeDataset(2, 32, seed=3, difficulty=1.0, without=("shadows",))
    assert data.without == ("shadows",)
    with pytest.raises(ValueError, match="unknown nuisance"):
        SyntheticChangeDataset(2, 32, without=("fog",))
