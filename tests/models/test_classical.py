"""Image differencing + Otsu: the threshold by hand, against brute force and OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ceec_lab.models.classical import DifferencingOtsu, differencing_otsu, otsu_threshold


def _brute_force_otsu_split(values: np.ndarray) -> float:
    """The cut between sorted unique values that maximises the between-class variance."""
    best_cut, best_score = values.min(), -1.0
    for cut in np.unique(values)[:-1]:
        low, high = values[values <= cut], values[values > cut]
        w0, w1 = low.size / values.size, high.size / values.size
        score = w0 * w1 * (low.mean() - high.mean()) ** 2
        if score > best_score:
            best_cut, best_score = cut, score
    return best_cut


def test_threshold_by_hand() -> None:
    # Two clusters, 0 and 1: any cut between them is optimal; the first is bin 0's upper edge.
    values = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0])
    t = otsu_threshold(values, bins=4)
    assert t == pytest.approx(0.25)
    assert ((values > t) == torch.tensor([False, False, False, True, True])).all()


def test_threshold_of_a_constant_is_that_constant() -> None:
    t = otsu_threshold(torch.full((10,), 0.3))
    assert t == pytest.approx(0.3)
    assert not (torch.full((10,), 0.3) > t).any()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_matches_brute_force(seed: int) -> None:
    # values on a 64-level grid fall into separate bins of a 64-bin histogram
    rng = np.random.default_rng(seed)
    levels = np.concatenate([rng.normal(15, 4, 300), rng.normal(45, 6, 200)])
    values = np.clip(np.round(levels), 0, 63) / 63
    values[:2] = 0.0, 1.0  # pin the histogram's range to the grid
    expected = values > _brute_force_otsu_split(values)
    found = (torch.from_numpy(values) > otsu_threshold(torch.from_numpy(values), bins=64)).numpy()
    np.testing.assert_array_equal(found, expected)


def test_split_matches_opencv() -> None:
    rng = np.random.default_rng(0)
    image = np.concatenate([rng.normal(60, 15, 2000), rng.normal(170, 25, 2000)])
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    image[:2] = 0, 255
    cv_threshold, _ = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    values = torch.from_numpy(image.astype(np.float32))
    t = otsu_threshold(values, bins=256)
    np.testing.assert_array_equal((values > t).numpy(), image > cv_threshold)


def test_model_finds_a_bright_square() -> None:
    x1 = torch.zeros(2, 3, 20, 30)
    x2 = x1.clone()
    x2[0, :, 5:10, 5:15] = 0.8  # changed square in the first pair
    x2[1] += 0.01 * torch.rand(3, 20, 30)  # noise only in the second...
    x2[1, :, 0:4, 0:4] = 0.5  # ...and a smaller change
    probs = differencing_otsu()(x1, x2)
    assert probs.shape == (2, 2, 20, 30)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(2, 20, 30))
    expected = torch.zeros(2, 20, 30)
    expected[0, 5:10, 5:15] = 1
    expected[1, 0:4, 0:4] = 1
    torch.testing.assert_close(probs[:, 1], expected)


def test_identical_dates_mean_no_change() -> None:
    x = torch.rand(1, 3, 16, 16)
    probs = differencing_otsu()(x, x)
    assert probs[:, 1].sum() == 0


def test_nothing_to_train() -> None:
    model = differencing_otsu()
    assert list(model.parameters()) == []
    x1 = torch.rand(1, 3, 8, 8, requires_grad=True)
    assert not model(x1, torch.rand(1, 3, 8, 8)).requires_grad


def test_num_classes_must_be_two() -> None:
    with pytest.raises(ValueError, match=r"num_classes must be 2 for differencing_otsu .*got 3"):
        differencing_otsu(num_classes=3)
    assert isinstance(differencing_otsu(in_channels=4), DifferencingOtsu)
