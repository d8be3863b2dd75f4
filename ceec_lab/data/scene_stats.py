"""Numbers that tell two sets of change pairs apart: the domain gap, measured (notebook 07).

Before trying to close the gap between synthetic and real pairs, count it.
:func:`scene_statistics` summarises a set of pairs by what a network is sensitive to:

* **colour**: the per-channel mean and standard deviation of the images;
* **edge density**: the share of pixels on an edge (Sobel gradient magnitude
  above :data:`EDGE_THRESHOLD`): texture and clutter;
* **shadow**: the share of dark pixels (luminance below :data:`SHADOW_LUMINANCE`);
* **object size**: the median area, in pixels, of the connected regions of the
  change mask (a new house, a demolished row): the scale the network must learn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import cv2
import numpy as np

#: Gradient magnitude (images in [0, 1], Sobel 3×3) above which a pixel counts as an edge.
EDGE_THRESHOLD = 0.25
#: Luminance below which a pixel counts as shadow.
SHADOW_LUMINANCE = 0.15
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 weights of R, G, B


def _edges_and_shadow(image: np.ndarray) -> tuple[float, float]:
    grey = np.ascontiguousarray(image.astype(np.float32) @ _LUMA)  # (H, W)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    edges = float((np.hypot(gx, gy) > EDGE_THRESHOLD).mean())
    return edges, float((grey < SHADOW_LUMINANCE).mean())


def _object_areas(mask: np.ndarray) -> list[int]:
    count, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8))
    return stats[1:count, cv2.CC_STAT_AREA].tolist()  # row 0 is the background


def scene_statistics(pairs: Iterable[Mapping[str, np.ndarray]]) -> dict[str, float]:
    """Colour, edge, shadow and object-size statistics of change pairs.

    Args:
        pairs: dicts with ``image1``, ``image2`` float ``(H, W, 3)`` in [0, 1] and
            ``mask`` ``(H, W)`` (a dataset's ``load`` results).

    Returns:
        ``mean R/G/B`` and ``std R/G/B`` over every pixel of both dates, ``edge
        density`` and ``shadow share`` (means over the images), ``change objects``
        (their count) and ``median object area (px)`` (0 without any).
    """
    pixels, edges, shadows, areas = [], [], [], []
    for pair in pairs:
        for key in ("image1", "image2"):
            image = np.asarray(pair[key], np.float32)
            pixels.append(image.reshape(-1, 3))
            edge, shadow = _edges_and_shadow(image)
            edges.append(edge)
            shadows.append(shadow)
        areas += _object_areas(np.asarray(pair["mask"]))
    if not pixels:
        raise ValueError("scene_statistics: no pairs given")
    everything = np.concatenate(pixels)  # (N, 3)
    mean, std = everything.mean(0), everything.std(0)
    return {
        **{f"mean {c}": float(v) for c, v in zip("RGB", mean, strict=True)},
        **{f"std {c}": float(v) for c, v in zip("RGB", std, strict=True)},
        "edge density": float(np.mean(edges)),
        "shadow share": float(np.mean(shadows)),
        "change objects": len(areas),
        "median object area (px)": float(np.median(areas)) if areas else 0.0,
    }
