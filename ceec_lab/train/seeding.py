"""Seeding and random-number-generator state, so runs repeat and resumes continue.

Three global generators matter in a PyTorch run: Python's :mod:`random`, NumPy's
global generator and torch's (weight init, dropout, ``DataLoader`` shuffling). A
checkpoint stores all three so that a resumed run draws the same numbers the
uninterrupted run would have drawn. An augmentation with a generator of its own
(:class:`~ceec_lab.data.ChangeAugmentation`) is saved beside them
(:func:`augmentation_state`).

``DataLoader`` worker processes each get a copy of the dataset, so their random
state cannot be saved from the main process. :func:`seed_worker` instead derives
every worker's generators from the seed torch gives the worker, which comes from
the main process's torch generator: restoring that one restores the workers too.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU)."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    # The legacy global generator is the one libraries such as albumentations draw from.
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """``DataLoader(worker_init_fn=seed_worker)``: seed a worker's generators from torch's.

    Seeds Python and NumPy, and reseeds the dataset's ``transform`` when it has a
    ``reseed`` method, so workers draw different augmentations, every epoch anew,
    and a resumed run draws the same ones as an uninterrupted run.
    """
    seed = torch.initial_seed() % 2**32  # base seed of this epoch's workers + worker_id
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002
    info = torch.utils.data.get_worker_info()
    reseed = getattr(getattr(info.dataset, "transform", None), "reseed", None)
    if reseed is not None:
        reseed(seed)


def get_rng_state() -> dict:
    """The state of every generator, as tensors and plain Python values.

    NumPy's key array becomes a tensor so the checkpoint loads with
    ``torch.load(weights_only=True)``.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    """Restore the generators saved by :func:`get_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def augmentation_state(loader: Iterable | None) -> list[dict[str, Any]]:
    """The state of the training data's augmentation: ``[state]`` when the loader's
    dataset has a ``transform`` with a generator of its own (``state_dict``), else ``[]``."""
    return [t.state_dict() for t in _stateful_transforms(loader)]


def set_augmentation_state(loader: Iterable | None, states: list[dict[str, Any]]) -> None:
    """Restore :func:`augmentation_state` into ``loader``'s transform.

    Nothing happens unless the saved list and the loader agree on having such a
    transform (a run saved without augmentation, or resumed without it).
    """
    transforms = _stateful_transforms(loader)
    if len(states) == len(transforms):
        for transform, state in zip(transforms, states, strict=True):
            transform.load_state_dict(state)


def _stateful_transforms(loader: Iterable | None) -> list[Any]:
    transform = getattr(getattr(loader, "dataset", None), "transform", None)
    return [transform] if hasattr(transform, "state_dict") else []
