"""Synthetic aerial-like scenes: the kit's embedded default data set.

Everything is drawn with OpenCV primitives from a seed, so no files are needed
and the same seed always gives the same pixels.

* :func:`make_segmentation_scene` - one date with a 5-class mask
  (:data:`SEGMENTATION_CLASSES`): soil, buildings (roof plus cast shadow), roads,
  trees and water.
* :func:`make_change_pair` - two dates of the same place with a binary change
  mask. *Real* change: buildings appear, disappear or are rebuilt. *Nuisance*
  (never labelled as change): illumination gain/offset, seasonal vegetation
  colour, sun direction (so shadows move), sensor noise, misregistration of up to
  2 px and haze, all scaled by ``difficulty`` in [0, 1]. Plain image differencing
  flags the nuisance too; a learned model has to learn to ignore it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from numbers import Real

import cv2
import numpy as np

SEGMENTATION_CLASSES = ("background", "building", "road", "tree", "water")
#: RGB colours used to draw each class in plots.
CLASS_COLOURS = np.array(
    [
        [0.80, 0.72, 0.55],
        [0.85, 0.20, 0.20],
        [0.45, 0.45, 0.45],
        [0.15, 0.55, 0.15],
        [0.2, 0.4, 0.85],
    ],
    dtype=np.float32,
)
BACKGROUND, BUILDING, ROAD, TREE, WATER = range(5)

_SOIL = np.array([0.55, 0.48, 0.38], dtype=np.float32)
_ROAD = np.array([0.42, 0.42, 0.44], dtype=np.float32)
_WATER = np.array([0.12, 0.22, 0.33], dtype=np.float32)
_SUMMER_GREEN = np.array([0.16, 0.36, 0.14], dtype=np.float32)
_AUTUMN_BROWN = np.array([0.48, 0.38, 0.16], dtype=np.float32)
_HAZE = np.array([0.78, 0.80, 0.84], dtype=np.float32)


@dataclass(frozen=True)
class Building:
    """A rotated rectangular building: centre and size in pixels, angle in degrees."""

    cx: float
    cy: float
    width: float
    length: float
    angle: float
    roof: tuple[float, float, float]
    height: float  # relative height: scales the shadow length

    def polygon(self) -> np.ndarray:
        """Corner points, (4, 2) int32, for ``cv2.fillPoly``."""
        box = cv2.boxPoints(((self.cx, self.cy), (self.width, self.length), self.angle))
        return np.round(box).astype(np.int32)


@dataclass
class Layout:
    """What stands where in a scene; the same layout renders both dates of a place."""

    size: int
    texture_seed: int
    buildings: list[Building] = field(default_factory=list)
    roads: list[tuple[np.ndarray, int]] = field(default_factory=list)  # (polyline, width)
    trees: list[tuple[int, int, int]] = field(default_factory=list)  # (x, y, radius)
    water: list[np.ndarray] = field(default_factory=list)  # polygons


@dataclass(frozen=True)
class Appearance:
    """How a date looks: the nuisance factors that are *not* change."""

    sun_azimuth: float = 135.0  # degrees; shadows fall away from the sun
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    season: float = 0.0  # 0 = summer green, 1 = autumn brown
    noise_std: float = 0.01
    haze: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)  # misregistration in pixels (dx, dy)


#: The smallest scene side in pixels (a building and a road must fit).
MIN_SIZE = 16


#: The drawing styles of :func:`make_change_pair`: ``"classic"`` draws every scene as a
#: shrunken 256-px one (houses of 4-11 px at 64 px); ``"realistic"`` keeps LEVIR-CD's
#: 0.5 m/px at any size and draws textured, shaded scenes (:mod:`ceec_lab.data.realistic`).
STYLES = ("classic", "realistic")


def _scale(size: int) -> float:
    return size / 256.0


def _random_roads(
    rng: np.random.Generator, size: int, scale: float | None = None
) -> list[tuple[np.ndarray, int]]:
    """1-2 straight roads across the scene; widths are 8-14 px times ``scale``
    (``None``: shrink with the scene, as the classic style does)."""
    s = _scale(size) if scale is None else scale
    roads = []
    for _ in range(rng.integers(1, 3)):
        horizontal = rng.random() < 0.5
        a, b = rng.uniform(0.1, 0.9, size=2) * size
        start, end = ((0, a), (size, b)) if horizontal else ((a, 0), (b, size))
        line = np.array([start, end], dtype=np.int32)
        roads.append((line, max(2, int(rng.uniform(8, 14) * s))))
    return roads


def _random_water(rng: np.random.Generator, size: int) -> list[np.ndarray]:
    if rng.random() > 0.35:
        return []
    centre = rng.uniform(0, size, size=2)
    angles = np.sort(rng.uniform(0, 2 * math.pi, size=9))
    radii = rng.uniform(0.08, 0.18, size=9) * size
    points = centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii[:, None]
    return [np.round(points).astype(np.int32)]


def _random_building(rng: np.random.Generator, size: int, scale: float | None = None) -> Building:
    """A building somewhere in the scene, 14-34 by 14-44 px times ``scale``
    (``None``: shrink with the scene)."""
    s = _scale(size) if scale is None else scale
    grey = rng.uniform(0.45, 0.85)
    tint = rng.uniform(-0.12, 0.12, size=3) * (rng.random() < 0.6)  # 60 % of roofs are tinted
    roof = tuple(min(max(grey + t, 0.05), 0.95) for t in tint.tolist())
    return Building(
        cx=float(rng.uniform(0.05, 0.95) * size),
        cy=float(rng.uniform(0.05, 0.95) * size),
        width=float(rng.uniform(14, 34) * s),
        length=float(rng.uniform(14, 44) * s),
        angle=(0.0, 90.0)[rng.integers(2)] + rng.normal(0, 8),
        roof=roof,
        height=float(rng.uniform(0.5, 1.5)),
    )


def _footprint(buildings: list[Building], size: int) -> np.ndarray:
    """uint8 (H, W) mask, 1 inside any of ``buildings``."""
    mask = np.zeros((size, size), np.uint8)
    for building in buildings:  # one call each: fillPoly leaves holes where polygons overlap
        cv2.fillPoly(mask, [building.polygon()], 1)
    return mask


def _place_buildings(
    rng: np.random.Generator,
    size: int,
    occupied: np.ndarray,
    count: int,
    scale: float | None = None,
) -> list[Building]:
    """Rejection-sample ``count`` buildings that do not touch ``occupied`` pixels.

    Each try is drawn in a window 2 px larger than the building, not the whole scene:
    the same pixels, far fewer of them.
    """
    placed = []
    occupied = occupied.copy()
    for _ in range(count * 6):
        if len(placed) == count:
            break
        building = _random_building(rng, size, scale)
        if occupied[int(building.cy), int(building.cx)]:
            continue  # its centre is taken: it would touch something, no need to draw it
        polygon = building.polygon()  # (4, 2) of (x, y)
        x0, y0 = np.maximum(polygon.min(0) - 2, 0)
        x1, y1 = np.minimum(polygon.max(0) + 3, size)
        if x0 >= x1 or y0 >= y1:
            continue  # wholly outside the scene
        footprint = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(footprint, [polygon - (x0, y0)], 1)
        grown = cv2.dilate(footprint, np.ones((5, 5), np.uint8))
        window = occupied[y0:y1, x0:x1]  # a view: marking it marks ``occupied``
        if footprint.any() and not (grown & window).any():
            placed.append(building)
            window |= grown
    return placed


def _occupancy(layout: Layout) -> np.ndarray:
    """Pixels taken by roads, water and buildings (trees may go anywhere else)."""
    size = layout.size
    occupied = _footprint(layout.buildings, size)
    for line, width in layout.roads:
        cv2.polylines(occupied, [line], False, 1, thickness=width + 4)
    if layout.water:
        cv2.fillPoly(occupied, layout.water, 1)
    return occupied


def random_layout(rng: np.random.Generator, size: int, n_buildings: int | None = None) -> Layout:
    """Draw a random scene layout: roads, maybe a pond, buildings, then trees."""
    layout = Layout(size=size, texture_seed=int(rng.integers(2**31)))
    layout.roads = _random_roads(rng, size)
    layout.water = _random_water(rng, size)
    count = int(rng.integers(4, 10)) if n_buildings is None else n_buildings
    layout.buildings = _place_buildings(rng, size, _occupancy(layout), count)
    _place_trees(rng, layout, int(rng.integers(6, 18)))
    return layout


def _place_trees(
    rng: np.random.Generator, layout: Layout, count: int, scale: float | None = None
) -> None:
    """Add ``count`` trees of radius 4-9 px times ``scale`` on pixels free of anything else."""
    s = _scale(layout.size) if scale is None else scale
    free = np.argwhere(_occupancy(layout) == 0)  # (N, 2) rows of (y, x)
    for _ in range(count):
        if len(free) == 0:
            break
        y, x = free[rng.integers(len(free))]
        layout.trees.append((int(x), int(y), max(2, int(rng.uniform(4, 9) * s))))


def _soil_texture(layout: Layout) -> np.ndarray:
    """Smooth, place-specific ground texture (identical for both dates of a place)."""
    rng = np.random.default_rng(layout.texture_seed)
    size = layout.size
    coarse = rng.normal(0, 1, size=(8, 8)).astype(np.float32)
    fine = rng.normal(0, 1, size=(size // 4 or 1, size // 4 or 1)).astype(np.float32)
    texture = 0.06 * cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    texture += 0.025 * cv2.resize(fine, (size, size), interpolation=cv2.INTER_LINEAR)
    return _SOIL[None, None, :] + texture[..., None]


def _shadow_offset(building: Building, appearance: Appearance, size: int) -> np.ndarray:
    angle = math.radians(appearance.sun_azimuth + 180.0)
    length = 6.0 * building.height * _scale(size)
    return np.array([math.cos(angle), math.sin(angle)]) * length


def render(
    layout: Layout, appearance: Appearance, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a layout as seen under ``appearance``.

    Returns:
        ``image`` float32 (H, W, 3) in [0, 1] and ``classes`` uint8 (H, W) with
        values indexing :data:`SEGMENTATION_CLASSES`. The class mask is drawn
        before misregistration: it describes the place, not the sensor.
    """
    size = layout.size
    image = _soil_texture(layout)
    classes = np.zeros((size, size), np.uint8)
    vegetation = (1 - appearance.season) * _SUMMER_GREEN + appearance.season * _AUTUMN_BROWN
    for polygon in layout.water:
        cv2.fillPoly(image, [polygon], _WATER.tolist())
        cv2.fillPoly(classes, [polygon], WATER)
    for line, width in layout.roads:
        cv2.polylines(image, [line], False, _ROAD.tolist(), thickness=width)
        cv2.polylines(classes, [line], False, ROAD, thickness=width)
    _draw_shadows(image, layout, appearance)
    for x, y, radius in layout.trees:
        shade = vegetation * rng.uniform(0.8, 1.2)
        cv2.circle(image, (x, y), radius, shade.tolist(), thickness=-1)
        cv2.circle(classes, (x, y), radius, TREE, thickness=-1)
    for building in layout.buildings:
        cv2.fillPoly(image, [building.polygon()], building.roof)
        cv2.fillPoly(classes, [building.polygon()], BUILDING)
    return _apply_sensor(image, appearance, rng), classes


def _draw_shadows(image: np.ndarray, layout: Layout, appearance: Appearance) -> None:
    """Darken the ground where buildings and trees cast their shadows."""
    shadow = np.zeros(image.shape[:2], np.uint8)
    for building in layout.buildings:
        offset = _shadow_offset(building, appearance, layout.size)
        cv2.fillPoly(shadow, [np.round(building.polygon() + offset).astype(np.int32)], 1)
    for x, y, radius in layout.trees:
        dx, dy = _shadow_offset(Building(x, y, 0, 0, 0, (0, 0, 0), 0.5), appearance, layout.size)
        cv2.circle(shadow, (int(x + dx), int(y + dy)), radius, 1, thickness=-1)
    image[shadow.astype(bool)] *= 0.45


def _apply_sensor(
    image: np.ndarray, appearance: Appearance, rng: np.random.Generator
) -> np.ndarray:
    """Illumination, haze, misregistration and noise: what the sensor adds."""
    image = image * np.asarray(appearance.gain, np.float32) + np.asarray(
        appearance.offset, np.float32
    )
    image = (1 - appearance.haze) * image + appearance.haze * _HAZE
    image = misregister(image, appearance.shift)
    if appearance.noise_std > 0:
        image = image + rng.normal(0, appearance.noise_std, image.shape).astype(np.float32)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def misregister(image: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """``image`` (H, W, C) moved by ``shift`` = (dx, dy) pixels, edges mirrored."""
    dx, dy = shift
    if not (dx or dy):
        return image
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    size = image.shape[1], image.shape[0]
    return cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REFLECT)


def check_difficulty(
    difficulty: float | Sequence[float], name: str = "difficulty"
) -> tuple[float, float]:
    """Check a nuisance difficulty and return it as a ``(low, high)`` range.

    The one check of the kit's difficulty knob: the generator, the synthetic
    change dataset, the run config and the command line all call it.

    Args:
        difficulty: a level in [0, 1] (0: no nuisance, 1: the most the generator
            draws), or a ``(low, high)`` range within [0, 1] from which each pair
            draws its own level.
        name: how the caller calls it, for the message (``"data.difficulty"``,
            ``"--difficulty"``).

    Returns:
        ``(low, high)``; ``low == high`` for a single level.

    Raises:
        ValueError: ``difficulty`` is not a number or a pair of numbers in [0, 1]
            (with ``low <= high``); the message names ``name`` and the range.
    """
    is_range = isinstance(difficulty, tuple | list)
    pair = tuple(difficulty) if is_range else (difficulty, difficulty)
    if not (
        len(pair) == 2
        and all(isinstance(level, Real) for level in pair)
        and 0.0 <= pair[0] <= pair[1] <= 1.0
    ):
        form = " as a (low, high) range with low <= high" if is_range else ""
        raise ValueError(f"{name} must be in [0, 1]{form}, got {difficulty!r}")
    return float(pair[0]), float(pair[1])


def nuisance_appearance(rng: np.random.Generator, difficulty: float) -> Appearance:
    """A random second-date appearance; its departure from the default grows with ``difficulty``."""
    k, high = check_difficulty(difficulty)
    if high != k:
        raise ValueError(
            f"difficulty must be one level here, got the range {difficulty!r} "
            "(SyntheticChangeDataset draws one level per pair from a range)"
        )
    gain = 1.0 + rng.uniform(-0.35, 0.35) * k + rng.uniform(-0.08, 0.08, size=3) * k
    shift = rng.uniform(-2.0, 2.0, size=2) * k
    return Appearance(
        sun_azimuth=135.0 + rng.uniform(-180.0, 180.0) * k,
        gain=tuple(float(g) for g in gain),
        offset=tuple(float(o) for o in rng.uniform(-0.08, 0.08, size=3) * k),
        season=float(rng.uniform(0.3, 1.0) * k),
        noise_std=0.01 + 0.04 * k,
        haze=float(rng.uniform(0.0, 0.35) * k * (rng.random() < 0.5)),
        shift=(float(shift[0]), float(shift[1])),
    )


#: Each nuisance factor and the :class:`Appearance` fields it sets; ``without=`` in
#: :func:`make_change_pair` resets a factor's fields to the first date's values.
NUISANCE_FACTORS: dict[str, tuple[str, ...]] = {
    "illumination": ("gain", "offset"),
    "season": ("season",),
    "shadows": ("sun_azimuth",),
    "noise": ("noise_std",),
    "haze": ("haze",),
    "misregistration": ("shift",),
}


def without_nuisance(appearance: Appearance, factors: Sequence[str]) -> Appearance:
    """``appearance`` with the named :data:`NUISANCE_FACTORS` reset to the defaults."""
    unknown = set(factors) - set(NUISANCE_FACTORS)
    if unknown:
        raise ValueError(
            f"unknown nuisance {sorted(unknown)}; choose from {list(NUISANCE_FACTORS)}"
        )
    default = Appearance()
    fields = [name for factor in factors for name in NUISANCE_FACTORS[factor]]
    return replace(appearance, **{name: getattr(default, name) for name in fields})


def change_layout(
    rng: np.random.Generator,
    layout: Layout,
    n_changes: int | None = None,
    scale: float | None = None,
) -> tuple[Layout, np.ndarray]:
    """The same place at a later date, with buildings appearing, disappearing or rebuilt.

    New buildings are drawn at ``scale`` (``None``: shrunk with the scene, as in
    :func:`random_layout`).

    Returns:
        The new layout and the change mask, uint8 (H, W): the union of the
        footprints of every removed, added or rebuilt building (old and new).
    """
    size = layout.size
    n = int(rng.integers(1, 5)) if n_changes is None else n_changes
    buildings = list(layout.buildings)
    for _ in range(n):
        kind = rng.choice(["appear", "disappear", "rebuild"])
        if kind != "appear" and buildings:
            old = buildings.pop(int(rng.integers(len(buildings))))
            if kind == "rebuild":
                new = _random_building(rng, size, scale)
                buildings.append(replace(new, cx=old.cx, cy=old.cy))
        else:
            occupied = _occupancy(replace(layout, buildings=buildings))
            buildings += _place_buildings(rng, size, occupied, 1, scale)
    # What differs between the dates; a building put up and torn down again in between is not.
    changed = list(set(layout.buildings) ^ set(buildings))
    later = replace(layout, buildings=buildings, trees=_trees_clear_of(layout.trees, changed, size))
    return later, _footprint(changed, size)


def _trees_clear_of(
    trees: list[tuple[int, int, int]], buildings: list[Building], size: int
) -> list[tuple[int, int, int]]:
    """Trees that a new building would stand on are felled (they are part of the change)."""
    footprint = cv2.dilate(_footprint(buildings, size), np.ones((3, 3), np.uint8))
    return [t for t in trees if not footprint[min(t[1], size - 1), min(t[0], size - 1)]]


def sample_seed(seed: int, index: int) -> int:
    """An independent, reproducible seed for sample ``index`` of a data set seeded ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def make_segmentation_scene(seed: int, size: int = 256) -> dict[str, np.ndarray]:
    """One date: ``{"image": float32 (H, W, 3), "mask": uint8 (H, W) class indices}``."""
    _check_size(size)
    rng = np.random.default_rng([seed, 2])  # a stream of its own, apart from the change pairs
    layout = random_layout(rng, size)
    appearance = replace(
        nuisance_appearance(rng, 0.3), shift=(0.0, 0.0), season=float(rng.uniform(0, 0.3))
    )
    image, classes = render(layout, appearance, rng)
    return {"image": image, "mask": classes}


def make_change_pair(
    seed: int,
    size: int = 256,
    difficulty: float = 0.5,
    n_changes: int | None = None,
    without: Sequence[str] = (),
    style: str = "classic",
) -> dict[str, np.ndarray]:
    """Two dates of one place and their binary change mask.

    The change mask depends only on ``seed`` and ``n_changes``, never on
    ``difficulty``: nuisance alters the pixels, not the label.

    ``without`` names :data:`NUISANCE_FACTORS` to switch off (e.g. ``("shadows",)``);
    everything else, the random draws included, stays as it is with them on.

    ``style`` picks one of :data:`STYLES`: ``"classic"`` (the default, which the
    shipped weights were trained on) or ``"realistic"`` (LEVIR-CD's ground scale
    and look, see :mod:`ceec_lab.data.realistic`).

    Returns:
        ``{"image1", "image2": float32 (H, W, 3) in [0, 1], "mask": uint8 (H, W) in {0, 1}}``.
    """
    _check_size(size)
    check_style(style)
    if style == "classic":
        layout_of, change_of, draw = random_layout, change_layout, render
    else:
        from ceec_lab.data import realistic  # imported here: it builds on this module

        layout_of, change_of, draw = (
            realistic.random_layout,
            realistic.change_layout,
            realistic.render,
        )
    layout_rng, nuisance_rng = (np.random.default_rng([seed, k]) for k in (0, 1))
    before = layout_of(layout_rng, size)
    after, mask = change_of(layout_rng, before, n_changes)
    image1, _ = draw(before, Appearance(), nuisance_rng)
    appearance = without_nuisance(nuisance_appearance(nuisance_rng, difficulty), without)
    image2, _ = draw(after, appearance, nuisance_rng)
    return {"image1": image1, "image2": image2, "mask": mask}


def check_style(style: str, name: str = "style") -> None:
    """Raise ``ValueError`` naming ``name`` (how the caller calls it, e.g. ``"data.style"``)
    and :data:`STYLES` unless ``style`` is one of them."""
    if style not in STYLES:
        raise ValueError(f"{name} must be one of {list(STYLES)}, got {style!r}")


def _check_size(size: int) -> None:
    if not isinstance(size, int | np.integer) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer >= {MIN_SIZE} pixels, got {size!r}")
