"""Targets for CEECNet's multitask head (docs/paper_map.md: multitask targets).

From a binary change mask the head learns three things at once:

* ``segmentation`` - the 2-channel one-hot mask (no change, change);
* ``boundary`` - Canny edges of each one-hot channel, dilated by a 3×3 cross;
* ``distance`` - the Euclidean distance transform of each one-hot channel,
  min-max scaled to [0, 1] per channel (how deep inside its region a pixel lies).

The boundary and distance tasks are easier to learn and regularise the
segmentation, which the head conditions on them.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def one_hot(mask: np.ndarray, num_classes: int = 2) -> np.ndarray:
    """``(H, W)`` class indices -> float32 ``(num_classes, H, W)`` one-hot."""
    if mask.min() < 0 or mask.max() >= num_classes:
        raise ValueError(
            f"mask values must be in [0, {num_classes - 1}], got [{mask.min()}, {mask.max()}]"
        )
    return (np.arange(num_classes)[:, None, None] == mask[None]).astype(np.float32)


def boundary_map(channel: np.ndarray) -> np.ndarray:
    """Canny edges of a {0, 1} channel, dilated by a 3×3 cross; float32 {0, 1}."""
    edges = cv2.Canny((channel * 255).astype(np.uint8), 100, 200)
    return (cv2.dilate(edges, _CROSS) > 0).astype(np.float32)


def distance_map(channel: np.ndarray) -> np.ndarray:
    """Euclidean distance of each pixel of a {0, 1} channel to its nearest 0, scaled to [0, 1].

    A channel with no 0 pixel (the whole patch inside the region) is all 1; an
    all-0 channel is all 0.
    """
    if channel.min() == channel.max():
        return np.full(channel.shape, float(channel.flat[0]), np.float32)
    # scipy's exact transform, not cv2.distanceTransform: OpenCV's "precise" mode differs
    # in the last bits from call to call, which breaks bit-exact resumes of training.
    distance = ndimage.distance_transform_edt(channel)
    low, high = distance.min(), distance.max()
    return ((distance - low) / (high - low)).astype(np.float32)


def multitask_targets(mask: np.ndarray, num_classes: int = 2) -> dict[str, np.ndarray]:
    """The three targets of the multitask head for one mask.

    Args:
        mask: integer ``(H, W)`` class indices (a binary change mask for CD).
        num_classes: channels of the one-hot encoding.

    Returns:
        ``{"segmentation", "boundary", "distance"}``, each float32
        ``(num_classes, H, W)`` in [0, 1].
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    segmentation = one_hot(mask, num_classes)
    return {
        "segmentation": segmentation,
        "boundary": np.stack([boundary_map(c) for c in segmentation]),
        "distance": np.stack([distance_map(c) for c in segmentation]),
    }
