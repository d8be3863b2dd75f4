"""Run-time settings shared by the package and the notebooks.

Two switches matter to a student:

* **quick mode** shrinks every notebook and demo so it runs on a 2-core CPU in
  seconds (the test suite uses it). Turn it on with the environment variable
  ``CEEC_LAB_QUICK=1`` or by passing ``quick=True`` to :func:`is_quick`.
* **device**: CUDA when present, then Apple's MPS, then the CPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

QUICK_ENV = "CEEC_LAB_QUICK"
LEVIRCD_ENV = "CEEC_LAB_LEVIRCD"
DATA_ENV = "CEEC_LAB_DATA"

#: The repository root when the package is used from a checkout (``pip install -e .``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def is_quick(quick: bool | None = None) -> bool:
    """Whether quick mode is on.

    Args:
        quick: an explicit choice wins; ``None`` reads ``CEEC_LAB_QUICK``
            (``1``, ``true``, ``yes``, ``on`` mean on).
    """
    if quick is not None:
        return bool(quick)
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def get_device(prefer: str | None = None) -> torch.device:
    """The device training and inference will use: ``cuda``, then ``mps``, then ``cpu``.

    Args:
        prefer: force a device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
    """
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={prefer!r} asked for, but CUDA is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def find_levircd_samples() -> Path | None:
    """The folder of real LEVIR-CD sample pairs, or ``None`` when there is none.

    Looks at ``$CEEC_LAB_LEVIRCD`` first, then ``../shared/data/levircd_samples``
    beside a checkout of the project (the course's shared folder).
    """
    candidates = []
    if os.environ.get(LEVIRCD_ENV):
        candidates.append(Path(os.environ[LEVIRCD_ENV]))
    candidates.append(PROJECT_ROOT.parent / "shared" / "data" / "levircd_samples")
    for path in candidates:
        if (path / "A").is_dir() and (path / "B").is_dir():
            return path
    return None


def find_user_data() -> list[Path]:
    """Change-detection folders a user placed under ``data/`` (or ``$CEEC_LAB_DATA``).

    A folder counts when it holds ``A/`` and ``B/`` directly or inside a split
    (``train``, ``val`` or ``test``).
    """
    root = Path(os.environ.get(DATA_ENV, PROJECT_ROOT / "data"))
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        splits = [folder, *(folder / s for s in ("train", "val", "test"))]
        if any((s / "A").is_dir() and (s / "B").is_dir() for s in splits):
            found.append(folder)
    return found
