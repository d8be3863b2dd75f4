"""Input checks shared by the baselines."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.models.utils import check_image, check_pair, nearest_valid_size


@pytest.mark.parametrize(
    ("size", "multiple", "nearest"),
    [
        (64, 32, 64),
        (70, 32, 64),
        (79, 32, 64),
        (80, 32, 96),  # a tie goes up: padding loses nothing
        (81, 32, 96),
        (48, 32, 64),
        (10, 32, 32),
        (40, 16, 48),
    ],
)
def test_nearest_valid_size(size: int, multiple: int, nearest: int) -> None:
    assert nearest_valid_size(size, multiple) == nearest


def test_check_image_messages() -> None:
    check_image(torch.zeros(1, 3, 64, 32), "x", in_channels=3, multiple=32)  # valid
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        check_image([[0.0]], "x", in_channels=3)
    with pytest.raises(
        ValueError, match=r"x must have shape \(B, C, H, W\), got shape \(3, 8, 8\)"
    ):
        check_image(torch.zeros(3, 8, 8), "x", in_channels=3)
    with pytest.raises(
        ValueError, match="x has 1 channels but the model was built with in_channels=3"
    ):
        check_image(torch.zeros(2, 1, 8, 8), "x", in_channels=3)
    with pytest.raises(
        ValueError,
        match=r"x has height 40, which is not a multiple of 16 "
        r"\(the model halves its input 4 times\); pad or crop it to the nearest valid size, 48",
    ):
        check_image(torch.zeros(2, 3, 40, 64), "x", in_channels=3, multiple=16)


def test_check_pair_names_the_date() -> None:
    good = torch.zeros(1, 3, 16, 16)
    with pytest.raises(ValueError, match="x2 has 4 channels"):
        check_pair(good, torch.zeros(1, 4, 16, 16), in_channels=3)
    with pytest.raises(
        ValueError, match=r"x1 and x2 must have the same shape, got \(1, 3, 16, 16\)"
    ):
        check_pair(good, torch.zeros(1, 3, 16, 32), in_channels=3)
