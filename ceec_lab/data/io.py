"""Reading and writing image files with checks that name the file and what was expected.

Images come back as float32 ``(H, W, C)`` in [0, 1] - the one scale every model
of the kit takes - and change labels as uint8 ``(H, W)`` in {0, 1}. A file that
cannot be decoded, or holds another number of bands than asked for, raises a
``ValueError`` naming it: a 4-band image (RGB + near infrared, or RGBA) is not
silently cut to three bands; ask for the bands you want with ``bands=[0, 1, 2]``.
:func:`image_header` reads size and band count without decoding the pixels, so a
data set can check thousands of files before training starts.

Writes go to a temporary file first and are moved into place, so an interrupted
run never leaves a half-written PNG behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from ceec_lab.files import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

#: What ``bands`` may be: a band count, or the indices of the bands to keep.
Bands = int | Sequence[int]


def _is_tiff(path: Path) -> bool:
    return path.suffix.lower() in (".tif", ".tiff")


def _band_first(shape: Sequence[int]) -> bool:
    """Whether a 3-D TIFF shape is ``(C, H, W)`` (a band-first GeoTIFF)."""
    return len(shape) == 3 and shape[0] < shape[-1] and shape[0] <= 16


def _unreadable(path: Path, error: Exception) -> ValueError:
    return ValueError(f"{path}: cannot be read as an image ({type(error).__name__}: {error})")


def _read_array(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        if _is_tiff(path):
            array = tifffile.imread(path)
            return np.moveaxis(array, 0, -1) if _band_first(array.shape) else array
        with Image.open(path) as image:
            if image.mode == "P":  # a palette: its colours, not the palette indices
                image = image.convert("RGB")
            return np.asarray(image)
    except (OSError, ValueError, SyntaxError) as error:  # PIL and tifffile's "not an image"
        raise _unreadable(path, error) from error


def image_header(path: str | Path) -> tuple[int, int, int]:
    """``(height, width, bands)`` from the file header, without decoding the pixels.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not an image PIL or tifffile can open (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        if _is_tiff(path):
            with tifffile.TiffFile(path) as tif:
                shape = tif.pages[0].shape
            if len(shape) == 2:
                return shape[0], shape[1], 1
            return (shape[1], shape[2], shape[0]) if _band_first(shape) else tuple(shape[:3])
        with Image.open(path) as image:
            bands = 3 if image.mode == "P" else len(image.getbands())
            return image.height, image.width, bands
    except (OSError, ValueError, SyntaxError) as error:
        raise _unreadable(path, error) from error


def check_bands(found: int, bands: Bands, path: str | Path) -> None:
    """Check that an image with ``found`` bands can give the ``bands`` asked for.

    Args:
        found: bands in the file.
        bands: a count (the file must have exactly that many) or band indices to keep.

    Raises:
        ValueError: naming the file, the bands found and how to choose some.
    """
    if isinstance(bands, int):
        if found != bands:
            hint = f"; keep some with bands={list(range(bands))}" if found > bands else ""
            raise ValueError(f"{path}: expected {bands} bands, found {found}{hint}")
        return
    outside = [b for b in bands if not 0 <= b < found]
    if not bands or outside:
        raise ValueError(f"{path}: bands={list(bands)} asked for, but the file has {found} bands")


def band_count(bands: Bands) -> int:
    """How many bands ``bands`` yields (what the model's ``in_channels`` must be)."""
    return bands if isinstance(bands, int) else len(bands)


def _to_unit_range(array: np.ndarray, path: Path) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    raise ValueError(
        f"{path}: unsupported pixel type {array.dtype}; expected uint8, uint16 or float"
    )


def read_image(path: str | Path, bands: Bands = 3) -> np.ndarray:
    """Read an image as float32 ``(H, W, C)`` in [0, 1] (uint8 / 255, uint16 / 65535).

    Args:
        bands: the band count the file must have (3 for RGB), or the indices of
            the bands to keep, e.g. ``[0, 1, 2]`` for the RGB of an RGB + NIR TIFF.

    Raises:
        ValueError: the file cannot be decoded or has other bands (the message names it).
    """
    path = Path(path)
    array = _read_array(path)
    if array.ndim == 2:
        array = array[..., None]
    check_bands(array.shape[-1], bands, path)
    if not isinstance(bands, int):
        array = array[..., list(bands)]
    return _to_unit_range(array, path)


def read_label(path: str | Path) -> np.ndarray:
    """Read a binary change label as uint8 ``(H, W)`` in {0, 1}; 0/255 and 0/1 both work.

    Raises:
        ValueError: multi-band labels whose bands differ, or values other than
            {0, 1} or {0, 255} (the message lists the values found).
    """
    path = Path(path)
    array = _read_array(path)
    if array.ndim == 3:
        if not all(np.array_equal(array[..., 0], array[..., k]) for k in range(1, array.shape[-1])):
            raise ValueError(f"{path}: label has {array.shape[-1]} differing bands; expected one")
        array = array[..., 0]
    values = set(np.unique(array).tolist())
    if values <= {0, 1}:
        return array.astype(np.uint8)
    if values <= {0, 255}:
        return (array == 255).astype(np.uint8)
    shown = sorted(values)[:8]
    raise ValueError(f"{path}: label values {shown} found; expected a binary mask of 0/1 or 0/255")


def list_images(folder: str | Path) -> dict[str, Path]:
    """The image files of ``folder`` by name without suffix (``{"x": .../x.png}``), sorted."""
    folder = Path(folder)
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 ``(H, W)`` or ``(H, W, 3)`` array as PNG, atomically (temp file + rename)."""
    path = Path(path)
    if array.dtype != np.uint8:
        raise ValueError(f"{path}: write_png expects uint8 pixels, got {array.dtype}")
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 [0, 255], rounding."""
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
