"""Reading and writing image files with checks that name the file and what was expected.

Images come back as float32 ``(H, W, C)`` in [0, 1]; change labels as uint8
``(H, W)`` in {0, 1}. Writes go to a temporary file first and are moved into
place, so an interrupted run never leaves a half-written PNG behind.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from ceec_lab.files import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def _read_array(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    if path.suffix.lower() in (".tif", ".tiff"):
        array = tifffile.imread(path)
        if array.ndim == 3 and array.shape[0] < array.shape[-1] and array.shape[0] <= 16:
            array = np.moveaxis(array, 0, -1)  # band-first GeoTIFF -> (H, W, C)
        return array
    with Image.open(path) as image:
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        return np.asarray(image)


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


def read_image(path: str | Path, bands: int = 3) -> np.ndarray:
    """Read an image as float32 ``(H, W, bands)`` in [0, 1] (uint8 / 255, uint16 / 65535).

    An RGBA image is accepted for ``bands=3``: the alpha channel is dropped with a warning.

    Raises:
        ValueError: the band count is not ``bands`` (the message names the file).
    """
    path = Path(path)
    array = _read_array(path)
    if array.ndim == 2:
        array = array[..., None]
    found = array.shape[-1]
    if found == bands + 1 and bands == 3:
        warnings.warn(f"{path}: RGBA image, dropping the alpha channel", UserWarning, stacklevel=2)
        array = array[..., :bands]
    elif found != bands:
        raise ValueError(f"{path}: expected {bands} bands, found {found} (shape {array.shape})")
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


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` read from the file header, without decoding the pixels."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        with tifffile.TiffFile(path) as tif:
            shape = tif.pages[0].shape
        return (shape[1], shape[2]) if len(shape) == 3 and shape[0] < shape[-1] else shape[:2]
    with Image.open(path) as image:
        return image.height, image.width


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
