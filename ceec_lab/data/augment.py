"""Paired augmentation for change detection, built on albumentations.

Three rules make augmentation correct for bi-temporal data (docs/paper_map.md):

1. **Geometry is shared**: one flip/rotation/crop is drawn per sample and applied
   identically to both dates and to every target, or the pixels stop lining up.
2. **Photometry is not**: colour jitter is drawn independently for each date,
   which is exactly the kind of nuisance the model must learn to ignore.
3. **Two change-specific tricks**: a random *time swap* (change is symmetric in
   time) and *no-change pairs* (the same date shown twice with an all-zero mask),
   so the network cannot get away with detecting buildings instead of change.

The augmentation never normalises: images stay in [0, 1], the one scale the
kit's models, the command line and the shipped weights use (a dataset raises if
a transform leaves it). The LEVIR-CD channel statistics are kept in
:data:`NORMALISATION` for reference, and :func:`normalisation_stats` measures them.

All randomness of an augmentation comes from one NumPy generator, whose state
:meth:`ChangeAugmentation.state_dict` returns: the trainer stores it in every
checkpoint, so a resumed run draws the same augmentations as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import albumentations as A
import numpy as np

from ceec_lab.data.targets import multitask_targets

#: Per-channel mean and std of LEVIR-CD on 0–255 values, as in the paper's code.
NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "levircd": ((100.91, 99.52, 84.97), (42.88, 40.91, 38.32)),
}

_TARGET_KEYS = ("boundary", "distance")


def normalisation_stats(
    samples: Iterable[Mapping[str, np.ndarray]], keys: tuple[str, ...] = ("image1", "image2")
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (on the 0–255 scale) over ``samples``' images.

    Args:
        samples: dicts with float ``(H, W, C)`` images in [0, 1] (e.g. a dataset's
            ``load`` results) or torch ``(C, H, W)`` tensors.
        keys: which entries are images.
    """
    total, total_sq, count = 0.0, 0.0, 0
    for sample in samples:
        for key in keys:
            image = np.asarray(sample[key], dtype=np.float64)
            if image.shape[0] <= 16 and image.shape[0] < image.shape[-1]:  # (C, H, W)
                image = np.moveaxis(image, 0, -1)
            pixels = image.reshape(-1, image.shape[-1]) * 255.0
            total = total + pixels.sum(0)
            total_sq = total_sq + (pixels**2).sum(0)
            count += len(pixels)
    if count == 0:
        raise ValueError("normalisation_stats: no images found in samples")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return tuple(mean.tolist()), tuple(std.tolist())


class ChangeAugmentation:
    """Callable augmentation for change samples: ``transform(**sample) -> sample``.

    Samples hold float32 ``image1``, ``image2`` ``(H, W, C)`` in [0, 1], a
    ``mask`` ``(H, W)`` and optionally ``boundary``/``distance`` ``(K, H, W)``.

    Args:
        crop_size: random crop side (shared by both dates), or ``None``.
        geometric: random flips and 90° rotations (the D4 group), shared.
        photometric: probability of colour jitter, drawn per date.
        time_swap: probability of swapping the two dates.
        no_change: probability of replacing the pair by one date shown twice,
            with an all-zero mask (the targets are reset too).
        seed: seeds the generator behind every draw (``None``: fresh entropy).
    """

    def __init__(
        self,
        crop_size: int | None = None,
        geometric: bool = True,
        photometric: float = 0.8,
        time_swap: float = 0.5,
        no_change: float = 0.1,
        seed: int | None = None,
    ) -> None:
        for name, p in (
            ("photometric", photometric),
            ("time_swap", time_swap),
            ("no_change", no_change),
        ):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        shared = [A.RandomCrop(crop_size, crop_size)] if crop_size else []
        shared += [A.D4(p=1.0)] if geometric else []
        self.shared = A.Compose(
            shared, additional_targets={"image2": "image", **{k: "mask" for k in _TARGET_KEYS}}
        )
        jitter = A.ColorJitter(
            brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02, p=photometric
        )
        self.per_date = A.Compose([jitter])
        self.time_swap, self.no_change = time_swap, no_change
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the generator from ``seed`` (a DataLoader worker gets its own)."""
        self.rng = np.random.default_rng(seed)

    def state_dict(self) -> dict:
        """The generator's state: enough to continue the same sequence of augmentations."""
        return self.rng.bit_generator.state

    def load_state_dict(self, state: dict) -> None:
        """Continue from a :meth:`state_dict`."""
        self.rng.bit_generator.state = state

    def __call__(self, **sample: np.ndarray) -> dict[str, np.ndarray]:
        # albumentations keeps generators of its own; seeding them from ours on every
        # call makes our generator the single state to save and restore.
        self.shared.set_random_seed(int(self.rng.integers(2**32)))
        self.per_date.set_random_seed(int(self.rng.integers(2**32)))
        sample = self._change_tricks(dict(sample))
        targets = {k: np.moveaxis(sample[k], 0, -1) for k in _TARGET_KEYS if k in sample}
        moved = self.shared(
            image=sample["image1"], image2=sample["image2"], mask=sample["mask"], **targets
        )
        out = {"image1": moved["image"], "image2": moved["image2"], "mask": moved["mask"]}
        out.update({k: np.ascontiguousarray(np.moveaxis(moved[k], -1, 0)) for k in targets})
        for key in ("image1", "image2"):
            out[key] = self.per_date(image=out[key])["image"]
        return out

    def _change_tricks(self, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Time swap and no-change pairs (docs/paper_map.md)."""
        if self.rng.random() < self.no_change:
            date = sample["image1"] if self.rng.random() < 0.5 else sample["image2"]
            sample["image1"], sample["image2"] = date, date.copy()
            _reset_to_no_change(sample)
        elif self.rng.random() < self.time_swap:
            sample["image1"], sample["image2"] = sample["image2"], sample["image1"]
        return sample


def _reset_to_no_change(sample: dict[str, np.ndarray]) -> None:
    """Zero the mask and recompute any multitask targets to match it."""
    sample["mask"] = np.zeros_like(sample["mask"])
    present = [k for k in _TARGET_KEYS if k in sample]
    if present:
        empty = multitask_targets(sample["mask"], num_classes=sample[present[0]].shape[0])
        sample.update({k: empty[k] for k in present})


def change_augmentation(**kwargs) -> ChangeAugmentation:
    """The kit's default training augmentation for change pairs; see :class:`ChangeAugmentation`."""
    return ChangeAugmentation(**kwargs)
