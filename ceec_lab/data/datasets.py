"""torch ``Dataset`` classes: synthetic scenes and real LEVIR-CD / WHU-CD folders.

Every dataset yields dicts of tensors (torchgeo's convention):

* segmentation: ``{"image": float32 (3, H, W), "mask": int64 (H, W)}``;
* change: ``{"image1", "image2": float32 (C, H, W), "mask": int64 (H, W) in {0, 1}}``
  plus ``"boundary"`` and ``"distance"`` (float32 ``(2, H, W)``) with ``multitask=True``.

A ``transform`` is called as ``transform(**sample)`` on the numpy sample
(images ``(H, W, C)`` float in [0, 1]) and returns the new sample, so an
``albumentations.Compose`` or a :class:`~ceec_lab.data.augment.ChangeAugmentation`
plugs in directly. Multitask targets are computed *after* the transform, from
the final mask, so they always line up with it.

Images stay in [0, 1] after the transform: that is the one scale the kit's
models, the command line and the shipped weights use. A transform that
normalises (``A.Normalize``) raises a ``ValueError`` at the first sample instead
of training a model on a scale nothing else feeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ceec_lab.data.io import (
    IMAGE_SUFFIXES,
    Bands,
    band_count,
    check_bands,
    image_header,
    list_images,
    read_image,
    read_label,
)
from ceec_lab.data.synthetic import (
    Appearance,
    check_difficulty,
    check_style,
    make_change_pair,
    make_segmentation_scene,
    sample_seed,
    without_nuisance,
)
from ceec_lab.data.targets import multitask_targets
from ceec_lab.data.tiling import window_starts

Transform = Callable[..., dict[str, np.ndarray]]


def _check_length(n: int, index: int) -> None:
    if not -n <= index < n:
        raise IndexError(f"index {index} out of range for a dataset of {n} samples")


def _cached(
    cache: dict[int, dict[str, np.ndarray]] | None,
    index: int,
    make: Callable[[], dict[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """``make()``, remembered in ``cache`` under ``index`` (no memory at all when ``cache`` is
    ``None``). Synthetic samples are pure functions of their seed, so a training run that
    sees each one many times can generate it once. Copies are returned, so a transform that
    writes into its input cannot change the cache."""
    if cache is None:
        return make()
    if index not in cache:
        cache[index] = make()
    return {key: value.copy() for key, value in cache[index].items()}


#: Slack on the [0, 1] check: interpolation can overshoot by a rounding error.
_UNIT_RANGE_SLACK = 1e-3


def _check_unit_range(sample: dict[str, np.ndarray], keys: tuple[str, ...], index: int) -> None:
    """Raise if a transformed image left [0, 1] (a normalising transform)."""
    for key in keys:
        low, high = float(np.min(sample[key])), float(np.max(sample[key]))
        if low < -_UNIT_RANGE_SLACK or high > 1 + _UNIT_RANGE_SLACK:
            raise ValueError(
                f"sample {index}: the transform returned {key} values in [{low:.3g}, {high:.3g}]; "
                "the kit's models and shipped weights take images in [0, 1], so a transform "
                "must not normalise (drop A.Normalize; normalisation belongs inside a model)"
            )


def _image_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=np.float32))


class ChangeDataset(Dataset):
    """Shared machinery of the change datasets: transform, targets, tensors, plotting."""

    def __init__(self, multitask: bool = False, transform: Transform | None = None) -> None:
        self.multitask = multitask
        self.transform = transform

    def load(self, index: int) -> dict[str, np.ndarray]:
        """The raw numpy sample: ``image1``/``image2`` (H, W, C) float, ``mask`` (H, W) uint8."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        _check_length(len(self), index)
        sample = self.load(index % len(self))
        if self.transform is not None:
            sample = self.transform(**sample)
            _check_unit_range(sample, ("image1", "image2"), index)
        out = {
            "image1": _image_tensor(sample["image1"]),
            "image2": _image_tensor(sample["image2"]),
            "mask": torch.from_numpy(np.asarray(sample["mask"], dtype=np.int64)),
        }
        if self.multitask:
            targets = multitask_targets(np.asarray(sample["mask"], dtype=np.int64))
            out["boundary"] = torch.from_numpy(targets["boundary"])
            out["distance"] = torch.from_numpy(targets["distance"])
        return out

    def plot(self, sample: dict[str, torch.Tensor], title: str | None = None) -> Figure:
        """Both dates, their difference and the mask (and ``"prediction"`` when present)."""
        from ceec_lab.viz.data import plot_change_sample

        return plot_change_sample(sample, title=title)


class SyntheticChangeDataset(ChangeDataset):
    """Synthetic bi-temporal pairs with real change and tunable nuisance.

    Args:
        n: number of pairs. size: side in pixels.
        seed: data set seed; pair ``i`` is the same for the same ``(seed, i)``.
        difficulty: nuisance strength in [0, 1] (lighting, season, shadows,
            noise, misregistration ≤ 2 px, haze), or a ``(low, high)`` range from
            which each pair draws its own. It never changes the mask.
        multitask: add ``boundary`` and ``distance`` targets.
        transform: e.g. :func:`~ceec_lab.data.augment.change_augmentation`.
        n_changes: changed buildings per pair (``None``: 1–4 at random; 0: none).
        cache: keep every generated pair in memory (before the transform), so later
            epochs skip the generator: about ``n · size² · 28`` bytes.
        without: nuisance factors to switch off, names from
            :data:`~ceec_lab.data.synthetic.NUISANCE_FACTORS` (e.g. ``("shadows",)``).
        style: how scenes are drawn, one of :data:`~ceec_lab.data.synthetic.STYLES`:
            ``"classic"`` or ``"realistic"`` (LEVIR-CD's 0.5 m/px and look).
    """

    def __init__(
        self,
        n: int,
        size: int = 64,
        seed: int = 0,
        difficulty: float | Sequence[float] = 0.5,
        multitask: bool = False,
        transform: Transform | None = None,
        n_changes: int | None = None,
        cache: bool = False,
        without: Sequence[str] = (),
        style: str = "classic",
    ) -> None:
        super().__init__(multitask, transform)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self._range = check_difficulty(difficulty)
        check_style(style)
        self.style = style
        self.n, self.size, self.seed, self.n_changes = n, size, seed, n_changes
        self.difficulty, self.without = difficulty, tuple(without)
        without_nuisance(Appearance(), self.without)  # unknown names fail here, not in a worker
        self._cache: dict[int, dict[str, np.ndarray]] | None = {} if cache else None

    def difficulty_of(self, index: int) -> float:
        """The nuisance level of pair ``index`` (fixed, or drawn from the range by seed)."""
        low, high = self._range
        if low == high:
            return low
        return low + (high - low) * np.random.default_rng([self.seed, index, 3]).random()

    def __len__(self) -> int:
        return self.n

    def load(self, index: int) -> dict[str, np.ndarray]:
        seed = sample_seed(self.seed, index)
        return _cached(
            self._cache,
            index,
            lambda: make_change_pair(
                seed,
                self.size,
                self.difficulty_of(index),
                self.n_changes,
                self.without,
                self.style,
            ),
        )


class SyntheticSegmentationDataset(Dataset):
    """Synthetic single-date scenes with a 5-class mask (:data:`SEGMENTATION_CLASSES`).

    Args:
        n: number of scenes. size: side in pixels. seed: data set seed.
        transform: called as ``transform(image=..., mask=...)``, e.g. an
            ``albumentations.Compose``.
        cache: keep every generated scene in memory (before the transform).
    """

    num_classes = 5

    def __init__(
        self,
        n: int,
        size: int = 64,
        seed: int = 0,
        transform: Transform | None = None,
        cache: bool = False,
    ) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n, self.size, self.seed, self.transform = n, size, seed, transform
        self._cache: dict[int, dict[str, np.ndarray]] | None = {} if cache else None

    def __len__(self) -> int:
        return self.n

    def load(self, index: int) -> dict[str, np.ndarray]:
        """The raw numpy scene: ``image`` (H, W, 3) float, ``mask`` (H, W) uint8."""
        seed = sample_seed(self.seed, index)
        return _cached(self._cache, index, lambda: make_segmentation_scene(seed, self.size))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        _check_length(len(self), index)
        sample = self.load(index % len(self))
        if self.transform is not None:
            sample = self.transform(**sample)
            _check_unit_range(sample, ("image",), index)
        mask = torch.from_numpy(np.asarray(sample["mask"], dtype=np.int64))
        return {"image": _image_tensor(sample["image"]), "mask": mask}

    def plot(self, sample: dict[str, torch.Tensor], title: str | None = None) -> Figure:
        """The image and its class mask (and ``"prediction"`` when present)."""
        from ceec_lab.viz.data import plot_segmentation_sample

        return plot_segmentation_sample(sample, title=title)


def _resolve_split(root: Path, split: str | None) -> Path:
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: data folder not found")
    if split is not None:
        folder = root / split
        if not folder.is_dir():
            found = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise FileNotFoundError(f"{folder}: split {split!r} not found; folders here: {found}")
        return folder
    if (root / "A").is_dir():
        return root
    splits = [s for s in ("train", "val", "test") if (root / s).is_dir()]
    if splits:
        raise ValueError(f"{root}: has splits {splits}; pass split= one of them")
    raise FileNotFoundError(f"{root}: expected A/, B/ and label/ (or train|val|test/ with them)")


class ChangeFolderDataset(ChangeDataset):
    """A LEVIR-CD / WHU-CD style folder: ``ROOT/[split/]{A,B,label}/<name>.{png,jpg,tif}``.

    Every file is checked when the dataset is built, before any training starts
    (a progress bar shows when that takes more than a second): names match
    across ``A``, ``B`` and ``label``, sizes agree, images have the bands asked
    for (read from the headers) and labels hold 0/1 or 0/255 (decoded). Every
    error names the file and what was expected.

    Args:
        root: the data set folder. split: ``"train"``, ``"val"``, ``"test"`` or
            ``None`` for a flat folder.
        patch_size, stride: cut each tile into patches on the fly (LEVIR-CD:
            1024 tiles, 256 patches, stride 128); ``None`` keeps whole tiles.
        bands: bands per image: a count the files must have (3 for RGB), or the
            indices to keep, e.g. ``[0, 1, 2]`` for the RGB of RGB + NIR TIFFs.
        multitask, transform: as in :class:`ChangeDataset`.
    """

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        patch_size: int | None = None,
        stride: int | None = None,
        bands: Bands = 3,
        multitask: bool = False,
        transform: Transform | None = None,
    ) -> None:
        super().__init__(multitask, transform)
        self.folder = _resolve_split(Path(root), split)
        self.bands = bands
        self.names = self._matched_names()
        self.in_channels = band_count(bands)
        checking = tqdm(self.names, desc=f"checking {self.folder}", unit="pair", delay=1.0)
        self.sizes = [self._checked_pair(name) for name in checking]
        self.index = self._patch_index(patch_size, stride or patch_size)
        self.patch_size = patch_size

    def _matched_names(self) -> list[str]:
        folders = {k: self.folder / k for k in ("A", "B", "label")}
        for key, folder in folders.items():
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder}: missing the {key}/ folder")
        files = {k: list_images(f) for k, f in folders.items()}
        if not files["A"]:
            raise FileNotFoundError(f"{folders['A']}: no images ({', '.join(IMAGE_SUFFIXES)})")
        for name in files["A"]:
            for key in ("B", "label"):
                if name not in files[key]:
                    raise FileNotFoundError(
                        f"{folders[key] / name}.*: missing {key} for {files['A'][name]}"
                    )
        extra = sorted(set(files["B"]) - set(files["A"]))
        if extra:
            raise FileNotFoundError(
                f"{files['B'][extra[0]]}: has no matching image in {folders['A']}"
            )
        self._files = files
        return sorted(files["A"])

    def _checked_pair(self, name: str) -> tuple[int, int]:
        """Sizes and bands of both dates from their headers, the label's values in full."""
        headers = {key: image_header(self._files[key][name]) for key in ("A", "B", "label")}
        sizes = {key: (h, w) for key, (h, w, _) in headers.items()}
        if len(set(sizes.values())) != 1:
            shown = ", ".join(f"{self._files[k][name]}: {h}×{w}" for k, (h, w) in sizes.items())
            raise ValueError(f"mismatched sizes for {name!r}: {shown}")
        for key in ("A", "B"):
            check_bands(headers[key][2], self.bands, self._files[key][name])
        read_label(self._files["label"][name])
        return sizes["A"]

    def _patch_index(
        self, patch_size: int | None, stride: int | None
    ) -> list[tuple[int, int, int]]:
        if patch_size is None:
            return [(i, 0, 0) for i in range(len(self.names))]
        index = []
        for i, (h, w) in enumerate(self.sizes):
            if h < patch_size or w < patch_size:
                raise ValueError(
                    f"{self._files['A'][self.names[i]]}: {h}×{w} is smaller than "
                    f"patch_size={patch_size}"
                )
            index += [
                (i, t, lft)
                for t in window_starts(h, patch_size, stride)
                for lft in window_starts(w, patch_size, stride)
            ]
        return index

    def __len__(self) -> int:
        return len(self.index)

    def load(self, index: int) -> dict[str, np.ndarray]:
        i, top, left = self.index[index]
        name = self.names[i]
        sample = {
            "image1": read_image(self._files["A"][name], self.bands),
            "image2": read_image(self._files["B"][name], self.bands),
            "mask": read_label(self._files["label"][name]),
        }
        if self.patch_size is not None:
            window = (slice(top, top + self.patch_size), slice(left, left + self.patch_size))
            sample = {k: v[window] for k, v in sample.items()}
        return sample
