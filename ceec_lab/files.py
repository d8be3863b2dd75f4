"""Files that are never half-written: write to a temporary file, then rename.

A training run can be killed at any moment (a time limit, Ctrl-C, a full disk).
Writing a checkpoint or an image straight to its final name risks leaving a
truncated file that a later ``--resume`` or a viewer then chokes on. Writing to
a temporary file in the *same* folder and renaming it with :func:`os.replace`
is atomic on POSIX and Windows: readers see the old file or the new one, never
a mix. Checkpoints, JSON and YAML files, and every PNG the kit writes
(:func:`ceec_lab.data.write_png`) go through :func:`atomic_path`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Give a temporary path beside ``path``; rename it over ``path`` on success.

    Example::

        with atomic_path("runs/last.pt") as tmp:
            torch.save(state, tmp)

    The temporary file is removed if the block raises, so nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` made atomic."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_torch(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_torch`.

    ``weights_only=True``: only tensors and plain Python values are unpickled, so
    a checkpoint from elsewhere cannot run code on your machine.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    return torch.load(path, map_location=map_location, weights_only=True)


def save_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")
    return Path(path)
