"""The ``"realistic"`` style of synthetic change pairs: LEVIR-CD's scale and look.

The classic style (:mod:`ceec_lab.data.synthetic`) draws every scene as a shrunken
256-px one, so a 64-px scene holds houses of 4-11 px with flat roofs on smooth soil.
Real LEVIR-CD images have a fixed ground scale of 0.5 m/px: a house is 14-44 px at
any crop size, and a 256-px patch holds 10-18 of them among lawns, roads and trees.
This style keeps that scale and draws what a network meets in real images:

* gable roofs: two halves along the long axis, the one facing the sun lit, the
  other shaded, with a dark ridge line; grey, brown-red and beige roofs;
* soft cast shadows that fall away from the sun;
* lawn with bare-soil patches, more of them the drier the place (from green
  suburbs to cleared building land), asphalt roads with pavements, textured tree
  canopies with a shaded side;
* about as many changed buildings per area as LEVIR-CD's samples.

Placement, change and nuisance are the classic ones (:class:`Layout`,
:func:`~ceec_lab.data.synthetic.change_layout`, :class:`Appearance`), so the change
mask still comes from building footprints and never depends on ``difficulty``; the
sensor step computes the classic one in fewer passes over the pixels. The colours,
shadow length and soil share were chosen by comparing
:func:`~ceec_lab.data.scene_statistics` with those of the eleven LEVIR-CD samples
(notebook 07), so closeness on those samples is partly a fit. Use it through
``make_change_pair(..., style="realistic")``, ``DataConfig(style="realistic")`` or
``ceec-lab data synth --style realistic``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ceec_lab.data import synthetic
from ceec_lab.data.synthetic import (
    _HAZE,
    BUILDING,
    ROAD,
    TREE,
    Appearance,
    Building,
    Layout,
    _occupancy,
    _place_buildings,
    _place_trees,
    _random_roads,
    misregister,
)

#: Sizes in pixels as the classic style draws them at 256 px, at every scene size:
#: LEVIR-CD's 0.5 m/px (buildings 14-44 px, roads 8-14 px, tree radii 4-9 px).
SCALE = 1.0
_BUILDINGS_PER_256 = (10, 18)  # per 256 x 256 px, as in LEVIR-CD's suburbs
_TREES_PER_256 = (20, 45)
_CHANGES_PER_256 = (2, 10)  # LEVIR-CD's samples hold about 10 changed buildings per 256 px

_ROOFS = np.array(
    [
        [0.88, 0.88, 0.86],  # light grey
        [0.58, 0.59, 0.61],  # mid grey
        [0.38, 0.39, 0.42],  # slate
        [0.60, 0.40, 0.34],  # brown-red tiles
        [0.48, 0.28, 0.22],  # dark red-brown
        [0.82, 0.74, 0.60],  # beige
    ],
    dtype=np.float32,
)
_LAWN = np.array([0.38, 0.41, 0.33], dtype=np.float32)
_LAWN_AUTUMN = np.array([0.52, 0.47, 0.31], dtype=np.float32)
_BARE_SOIL = np.array([0.64, 0.60, 0.52], dtype=np.float32)
_ASPHALT = np.array([0.34, 0.34, 0.36], dtype=np.float32)
_PAVEMENT = np.array([0.68, 0.66, 0.62], dtype=np.float32)
_CANOPY = np.array([0.17, 0.27, 0.13], dtype=np.float32)
_CANOPY_AUTUMN = np.array([0.46, 0.35, 0.15], dtype=np.float32)
#: Soil patches show where the patch noise exceeds this, from the wettest place to the driest.
_SOIL_THRESHOLD = (1.0, -0.4)
_SHADOW_DARKNESS = 0.8  # share of light a cast shadow takes away
_SHADOW_PER_HEIGHT = 14.0  # shadow length in px per unit of Building.height


def random_layout(rng: np.random.Generator, size: int) -> Layout:
    """Roads, then buildings and trees in numbers proportional to the scene's area."""
    layout = Layout(size=size, texture_seed=int(rng.integers(2**31)))
    layout.roads = _random_roads(rng, size, SCALE)
    area = (size / 256) ** 2  # in 256-px patches
    count = round(rng.uniform(*_BUILDINGS_PER_256) * area)
    layout.buildings = _place_buildings(rng, size, _occupancy(layout), count, SCALE)
    _place_trees(rng, layout, round(rng.uniform(*_TREES_PER_256) * area), SCALE)
    return layout


def change_layout(
    rng: np.random.Generator, layout: Layout, n_changes: int | None = None
) -> tuple[Layout, np.ndarray]:
    """:func:`~ceec_lab.data.synthetic.change_layout` at LEVIR-CD's scale: new houses
    keep their size, and the number of changes (``None``: drawn) grows with the area."""
    if n_changes is None:
        area = (layout.size / 256) ** 2  # in 256-px patches
        n_changes = max(1, round(rng.uniform(*_CHANGES_PER_256) * area))
    return synthetic.change_layout(rng, layout, n_changes, SCALE)


def render(
    layout: Layout, appearance: Appearance, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a layout in the realistic style, as seen under ``appearance``.

    Textures come from ``layout.texture_seed``, so both dates of a place share
    them; ``rng`` only feeds the sensor noise.

    Returns:
        ``image`` float32 (H, W, 3) in [0, 1] and ``classes`` uint8 (H, W) indexing
        :data:`~ceec_lab.data.synthetic.SEGMENTATION_CLASSES`.
    """
    place = _place(layout.texture_seed, layout.size)
    grain, leaves = place.grain, place.leaves
    classes = np.zeros((layout.size, layout.size), np.uint8)
    image = _ground(appearance, place)
    _draw_roads(image, classes, layout, grain)
    _cast_shadows(image, layout, appearance)
    _draw_trees(image, classes, layout, appearance, grain, leaves)
    _draw_roofs(image, classes, layout, appearance, grain)
    return _sensor(image, appearance, rng), classes


@dataclass(frozen=True)
class _Place:
    """What stays put between the dates of a place: its noise fields, each (H, W)
    float32 and read-only, and how dry its ground is."""

    grain: np.ndarray  # pixel grain, unit spread
    patches: np.ndarray  # soil patches, blobs of about 40 px
    tufts: np.ndarray  # grass tufts, about 3 px
    leaves: np.ndarray  # leaves, about 2 px
    dryness: float  # in [0, 1]: 0 green lawns, 1 mostly bare soil


@lru_cache(maxsize=4)
def _place(seed: int, size: int) -> _Place:
    """The place of ``seed``. Cached: the second date of a pair reuses it."""
    rng = np.random.default_rng(seed)
    grain = rng.standard_normal((size, size), dtype=np.float32)
    fields = (grain, *(_smooth_noise(rng, size, cell) for cell in (40, 3, 2)))
    for field in fields:
        field.flags.writeable = False
    return _Place(*fields, dryness=float(rng.uniform(0.0, 1.0)))


def _smooth_noise(rng: np.random.Generator, size: int, cell: int) -> np.ndarray:
    """(H, W) float32 noise of unit-ish spread whose blobs are about ``cell`` px wide."""
    n = size // cell + 2
    coarse = rng.standard_normal((n, n), dtype=np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _sun(appearance: Appearance) -> np.ndarray:
    """Unit vector (x, y) in image coordinates pointing towards the sun."""
    angle = math.radians(appearance.sun_azimuth)
    return np.array([math.cos(angle), math.sin(angle)])


def _ground(appearance: Appearance, place: _Place) -> np.ndarray:
    """Lawn, browner with the season, with bare-soil patches and grass grain: (H, W, 3).

    Each pixel is ``shade * (lawn + soil * (bare soil - lawn))``; the drier the
    place, the more of it is bare soil (LEVIR-CD's scenes range from green suburbs to
    cleared building land).
    """
    threshold = _SOIL_THRESHOLD[0] + place.dryness * (_SOIL_THRESHOLD[1] - _SOIL_THRESHOLD[0])
    soil = np.clip((place.patches - threshold) * 2.0, 0.0, 1.0)  # (H, W) where soil shows
    shade = 1.0 + 0.15 * place.patches + 0.10 * place.tufts + 0.09 * place.grain  # (H, W)
    lawn = (1 - appearance.season) * _LAWN + appearance.season * _LAWN_AUTUMN
    return _tinted(shade, lawn) + _tinted(shade * soil, _BARE_SOIL - lawn)


def _tinted(field: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """``field`` (H, W) times ``colour`` (3,): (H, W, 3).

    The same as ``field[..., None] * colour``, built one channel at a time, which is
    several times faster than NumPy's broadcasting over a last axis of 3.
    """
    return cv2.merge([field * float(value) for value in colour])


def _draw_roads(image: np.ndarray, classes: np.ndarray, layout: Layout, grain: np.ndarray) -> None:
    """Asphalt roads with light pavements along both sides."""
    pavement = np.zeros(classes.shape, np.uint8)
    asphalt = np.zeros(classes.shape, np.uint8)
    for line, width in layout.roads:
        cv2.polylines(pavement, [line], False, 1, thickness=width + 4)
        cv2.polylines(asphalt, [line], False, 1, thickness=width)
    texture = 1.0 + 0.06 * grain  # (H, W)
    for mask, colour in ((pavement, _PAVEMENT), (asphalt, _ASPHALT)):
        cv2.copyTo(_tinted(texture, colour), mask, image)  # image = colour where mask
    classes[asphalt > 0] = ROAD


def _cast_shadows(image: np.ndarray, layout: Layout, appearance: Appearance) -> None:
    """Darken the ground with soft shadows cast away from the sun by buildings and trees."""
    away = -_sun(appearance)
    shadow = np.zeros(image.shape[:2], np.uint8)
    for building in layout.buildings:
        corners = building.polygon().astype(np.float64)  # (4, 2)
        cast = corners + away * _SHADOW_PER_HEIGHT * building.height
        hull = cv2.convexHull(np.round(np.vstack([corners, cast])).astype(np.int32))
        cv2.fillConvexPoly(shadow, hull, 1)  # the roof swept along the sun's rays
    for x, y, radius in layout.trees:
        dx, dy = away * (0.8 * radius + 2)
        cv2.circle(shadow, (round(x + dx), round(y + dy)), radius, 1, thickness=-1)
    soft = cv2.GaussianBlur(shadow.astype(np.float32), (0, 0), 1.2)  # (H, W) in [0, 1]
    cv2.multiply(image, _tinted(1.0 - _SHADOW_DARKNESS * soft, np.ones(3)), dst=image)


def _draw_trees(
    image: np.ndarray,
    classes: np.ndarray,
    layout: Layout,
    appearance: Appearance,
    grain: np.ndarray,
    leaves: np.ndarray,
) -> None:
    """Round canopies of leafy blobs, lit on the side facing the sun."""
    sun = _sun(appearance)
    crown = np.zeros(classes.shape, np.uint8)
    light = np.zeros(classes.shape, np.float32)  # (H, W) each canopy's shading
    for x, y, radius in layout.trees:
        tint = 1.0 + 0.12 * float(np.clip(grain[y, x], -1.5, 1.5))  # fixed by where it stands
        lx, ly = np.array([x, y]) + 0.3 * radius * sun
        cv2.circle(crown, (x, y), radius, 1, thickness=-1)
        cv2.circle(light, (x, y), radius, 0.6 * tint, thickness=-1)
        cv2.circle(light, (round(lx), round(ly)), round(0.7 * radius), tint, thickness=-1)
    light = cv2.GaussianBlur(light, (0, 0), 1.0)
    alpha = cv2.GaussianBlur(crown.astype(np.float32), (0, 0), 0.7)  # (H, W), a soft rim
    texture = light * (1.0 + 0.3 * leaves + 0.08 * grain)  # (H, W)
    colour = (1 - appearance.season) * _CANOPY + appearance.season * _CANOPY_AUTUMN
    canopy = _tinted(texture, colour)  # (H, W, 3)
    image += _tinted(alpha, np.ones(3)) * (canopy - image)  # alpha is 0 away from the trees
    classes[crown > 0] = TREE


def roof_colour(building: Building) -> np.ndarray:
    """The building's roof in the realistic palette, (3,).

    The classic draw's roof brightness picks the palette entry and its place within
    that entry's band a shade of it, so a rebuilt house gets a new roof.
    """
    position = (float(np.mean(building.roof)) - 0.35) / 0.6 * len(_ROOFS)
    index = int(np.clip(position, 0, len(_ROOFS) - 1))
    return _ROOFS[index] * (0.9 + 0.2 * (position % 1.0))


def _gable(building: Building) -> tuple[list[tuple[np.ndarray, float, float]], np.ndarray]:
    """A gable roof split along the building's long axis.

    Returns:
        The two halves as ``(corners (4, 2) int32, normal x, normal y)``, and the
        ridge line as its two end points, (2, 2) int32.
    """
    angle = math.radians(building.angle)
    cos, sin = math.cos(angle), math.sin(angle)  # cv2.boxPoints' width axis is (cos, sin)
    if building.width <= building.length:  # ridge along the length, halves across the width
        (nx, ny), half_size, across, along = (
            (cos, sin),
            (building.width / 2, building.length),
            building.width,
            building.length,
        )
    else:
        (nx, ny), half_size, across, along = (
            (-sin, cos),
            (building.width, building.length / 2),
            building.length,
            building.width,
        )
    halves = []
    for side in (1.0, -1.0):
        centre = (building.cx + side * nx * across / 4, building.cy + side * ny * across / 4)
        corners = np.round(cv2.boxPoints((centre, half_size, building.angle))).astype(np.int32)
        halves.append((corners, side * nx, side * ny))
    reach = along / 2 - 1  # from the centre to either end of the ridge
    ridge = np.array(
        [[building.cx + s * ny * reach, building.cy - s * nx * reach] for s in (1.0, -1.0)]
    )
    return halves, np.round(ridge).astype(np.int32)


def _draw_roofs(
    image: np.ndarray,
    classes: np.ndarray,
    layout: Layout,
    appearance: Appearance,
    grain: np.ndarray,
) -> None:
    """Gable roofs: the half facing the sun lit, the other shaded, a dark ridge between."""
    sun_x, sun_y = _sun(appearance)
    roofs = np.zeros(image.shape, np.float32)  # (H, W, 3)
    footprint = np.zeros(classes.shape, np.uint8)
    for building in layout.buildings:
        base = roof_colour(building)
        polygon = building.polygon()
        cv2.fillPoly(footprint, [polygon], 1)
        cv2.fillPoly(roofs, [polygon], (0.7 * base).tolist())  # dark eaves where halves miss
        halves, ridge = _gable(building)
        for corners, nx, ny in halves:
            cv2.fillPoly(
                roofs, [corners], (base * (1.0 + 0.22 * (nx * sun_x + ny * sun_y))).tolist()
            )
        cv2.line(roofs, ridge[0], ridge[1], (0.55 * base).tolist(), thickness=1)
    roofs *= _tinted(1.0 + 0.04 * grain, np.ones(3))
    cv2.copyTo(roofs, footprint, image)  # image = roofs where footprint
    classes[footprint > 0] = BUILDING


def _sensor(image: np.ndarray, appearance: Appearance, rng: np.random.Generator) -> np.ndarray:
    """Illumination, haze, misregistration and noise, as the classic style's sensor step
    (:func:`~ceec_lab.data.synthetic._apply_sensor`) in fewer passes over the pixels.

    Gain, offset and haze are one affine map per channel (one ``cv2.transform``), and the
    noise comes from OpenCV's generator seeded by ``rng``, three times faster than NumPy's.
    """
    keep = 1.0 - appearance.haze
    gain = keep * np.asarray(appearance.gain, np.float32)  # (3,)
    bias = keep * np.asarray(appearance.offset, np.float32) + appearance.haze * _HAZE  # (3,)
    image = cv2.transform(image, np.hstack([np.diag(gain), bias[:, None]]))  # (H, W, 3)
    image = misregister(image, appearance.shift)
    if appearance.noise_std > 0:
        noise = np.empty_like(image)
        cv2.setRNGSeed(int(rng.integers(2**31)))  # OpenCV's generator is per thread
        cv2.randn(noise, 0.0, (appearance.noise_std,) * 3)
        image += noise
    return np.clip(image, 0.0, 1.0, out=image)
