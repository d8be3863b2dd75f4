"""Paired augmentation keeps the dates and targets aligned, jitters dates independently."""

from __future__ import annotations

import numpy as np
import pytest

from ceec_lab.data import (
    NORMALISATION,
    ChangeAugmentation,
    SyntheticChangeDataset,
    change_augmentation,
    multitask_targets,
    normalisation_stats,
)


def _coded_sample(size: int = 32) -> dict[str, np.ndarray]:
    """Both dates carry the mask in every channel, so misalignment would show."""
    rng = np.random.default_rng(0)
    mask = (rng.random((size, size)) > 0.7).astype(np.uint8)
    image = np.repeat(mask[..., None].astype(np.float32), 3, axis=-1)
    targets = multitask_targets(mask.astype(np.int64))
    return {"image1": image, "image2": image.copy(), "mask": mask, "distance": targets["distance"]}


def test_geometry_is_shared_by_both_dates_and_all_targets() -> None:
    augment = ChangeAugmentation(photometric=0.0, time_swap=0.0, no_change=0.0, seed=1)
    sample = _coded_sample()
    moved_at_least_once = False
    for _ in range(12):
        out = augment(**sample)
        np.testing.assert_array_equal(out["image1"][..., 0], out["mask"])
        np.testing.assert_array_equal(out["image2"][..., 1], out["mask"])
        expected = multitask_targets(out["mask"].astype(np.int64))["distance"]
        np.testing.assert_allclose(out["distance"], expected, atol=1e-5)
        moved_at_least_once |= not np.array_equal(out["mask"], sample["mask"])
    assert moved_at_least_once


def test_random_crop_is_shared() -> None:
    augment = ChangeAugmentation(crop_size=16, photometric=0.0, no_change=0.0, seed=0)
    out = augment(**_coded_sample(40))
    assert out["image1"].shape == (16, 16, 3) and out["mask"].shape == (16, 16)
    np.testing.assert_array_equal(out["image1"][..., 2], out["mask"])


def test_photometric_jitter_is_drawn_per_date() -> None:
    augment = ChangeAugmentation(
        geometric=False, photometric=1.0, time_swap=0.0, no_change=0.0, seed=3
    )
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    out = augment(image1=image, image2=image.copy(), mask=np.zeros((32, 32), np.uint8))
    assert not np.allclose(out["image1"], out["image2"])


def test_time_swap_swaps_the_dates() -> None:
    augment = ChangeAugmentation(geometric=False, photometric=0.0, time_swap=1.0, no_change=0.0)
    a, b = np.zeros((8, 8, 3), np.float32), np.ones((8, 8, 3), np.float32)
    out = augment(image1=a, image2=b, mask=np.ones((8, 8), np.uint8))
    assert out["image1"].mean() == 1 and out["image2"].mean() == 0 and out["mask"].all()


def test_no_change_pairs_show_one_date_twice_with_empty_targets() -> None:
    augment = ChangeAugmentation(geometric=False, photometric=0.0, no_change=1.0)
    sample = _coded_sample()
    sample["image2"] = 1 - sample["image2"]
    out = augment(**sample)
    np.testing.assert_array_equal(out["image1"], out["image2"])
    assert out["mask"].sum() == 0
    np.testing.assert_array_equal(out["distance"][0], 1)


def test_augmented_images_stay_in_unit_range() -> None:
    """One convention: the augmentation never normalises, so the models see [0, 1]."""
    dataset = SyntheticChangeDataset(4, 32, transform=change_augmentation(photometric=1.0, seed=0))
    for i in range(4):
        for key in ("image1", "image2"):
            assert 0 <= dataset[i][key].min() <= dataset[i][key].max() <= 1


def test_a_normalising_transform_is_an_error() -> None:
    import albumentations as A

    mean, std = (np.array(v) / 255 for v in NORMALISATION["levircd"])
    normalise = A.Compose(
        [A.Normalize(tuple(mean), tuple(std), max_pixel_value=1.0)],
        additional_targets={"image2": "image"},
    )

    def transform(image1, image2, mask):
        out = normalise(image=image1, image2=image2)
        return {"image1": out["image"], "image2": out["image2"], "mask": mask}

    with pytest.raises(ValueError, match=r"sample 0: .*image1 values in \[-.*must not normalise"):
        SyntheticChangeDataset(1, 32, transform=transform)[0]


def test_state_dict_continues_the_same_augmentations() -> None:
    augment, sample = change_augmentation(seed=3), _coded_sample()
    augment(**sample)
    state = augment.state_dict()
    expected = [augment(**sample) for _ in range(3)]
    other = change_augmentation(seed=99)
    other.load_state_dict(state)
    for want in expected:
        got = other(**sample)
        for key in ("image1", "image2", "mask"):
            np.testing.assert_array_equal(got[key], want[key])


def test_normalisation_stats_from_a_dataset() -> None:
    dataset = SyntheticChangeDataset(4, 32)
    mean, std = normalisation_stats(dataset[i] for i in range(4))
    pixels = np.concatenate(
        [dataset[i][k].numpy().reshape(3, -1) for i in range(4) for k in ("image1", "image2")], 1
    )
    np.testing.assert_allclose(mean, pixels.mean(1) * 255, rtol=1e-4)
    np.testing.assert_allclose(std, pixels.std(1) * 255, rtol=1e-3)


def test_dataset_with_augmentation_and_multitask_targets() -> None:
    dataset = SyntheticChangeDataset(3, 32, multitask=True, transform=change_augmentation(seed=0))
    sample = dataset[0]
    expected = multitask_targets(sample["mask"].numpy())
    np.testing.assert_array_equal(sample["boundary"].numpy(), expected["boundary"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"no_change": 1.5}, "no_change"), ({"time_swap": -0.1}, "time_swap")],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChangeAugmentation(**kwargs)
