"""Run-time settings shared by the package and the notebooks.

Two switches matter to a student:

* **the budget** (:func:`run_mode`): every notebook sizes its data, models and epochs by
  one of three budgets, chosen with ``CEEC_LAB_MODE=quick|lab|full``:

  - ``quick``: a smoke test for CI, about a minute a notebook; its numbers are noise;
  - ``lab``: a class period on a laptop, each notebook at most ~10 minutes on 2 CPU
    cores, with results that show the lesson (the default without a GPU);
  - ``full``: the paper's sizes, meant for a GPU (the default with CUDA).

  ``CEEC_LAB_QUICK=1`` is kept as another way to say ``quick``.
* **device**: CUDA when present, then Apple's MPS, then the CPU.

These settings belong to the machine and the session; what one training run
does (model, data, epochs) is its config, :mod:`ceec_lab.train.config`.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

MODE_ENV = "CEEC_LAB_MODE"
QUICK_ENV = "CEEC_LAB_QUICK"
#: The budgets, smallest first.
RUN_MODES = ("quick", "lab", "full")
LEVIRCD_ENV = "CEEC_LAB_LEVIRCD"
DATA_ENV = "CEEC_LAB_DATA"

#: The repository root when the package is used from a checkout (``pip install -e .``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def run_mode(mode: str | None = None) -> str:
    """The active budget: ``"quick"``, ``"lab"`` or ``"full"``.

    Args:
        mode: an explicit choice wins. ``None`` reads ``CEEC_LAB_MODE``; if that is
            unset, ``CEEC_LAB_QUICK=1`` means ``"quick"``; otherwise the default is
            ``"full"`` when a CUDA device is present and ``"lab"`` when not.

    Raises:
        ValueError: the mode (or ``CEEC_LAB_MODE``) is not one of :data:`RUN_MODES`.
    """
    source = "mode"
    if mode is None and os.environ.get(MODE_ENV, "").strip():
        mode, source = os.environ[MODE_ENV].strip().lower(), f"${MODE_ENV}"
    if mode is None:
        if _env_flag(QUICK_ENV):
            return "quick"
        return "full" if torch.cuda.is_available() else "lab"
    if mode not in RUN_MODES:
        raise ValueError(f"{source}={mode!r} is not a budget; expected one of {RUN_MODES}")
    return mode


def is_quick(quick: bool | None = None) -> bool:
    """Whether the quick budget is active (see :func:`run_mode`).

    Args:
        quick: an explicit choice wins; ``None`` asks :func:`run_mode`.
    """
    if quick is not None:
        return bool(quick)
    return run_mode() == "quick"


def describe_mode(costs: dict[str, str], mode: str | None = None) -> str:
    """One line for a notebook's settings cell: which budget runs and what it costs.

    Args:
        costs: what each budget costs in this notebook, e.g.
            ``{"quick": "~1 min, CPU", "lab": "~8 min on 2 CPU cores", "full": "~15 min, GPU"}``.
        mode: the budget; ``None`` asks :func:`run_mode`.
    """
    mode = run_mode(mode)
    line = f"Budget: {mode} ({costs.get(mode, 'cost not measured')})"
    others = ", ".join(f"{m}: {costs[m]}" for m in RUN_MODES if m != mode and m in costs)
    line += f". Switch with {MODE_ENV}=quick|lab|full" + (f" ({others})." if others else ".")
    if mode == "quick":
        line += "\nQuick mode is a smoke test: models barely train and the numbers below are noise."
    return line


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

    ``$CEEC_LAB_LEVIRCD`` when it is set; otherwise ``../shared/data/levircd_samples``
    beside a checkout of the project (the course's shared folder), if present.

    Raises:
        ValueError: ``$CEEC_LAB_LEVIRCD`` is set but is not a folder with ``A/`` and
            ``B/`` - a typo must not silently pick other samples.
    """
    chosen = os.environ.get(LEVIRCD_ENV, "").strip()
    path = Path(chosen) if chosen else PROJECT_ROOT.parent / "shared" / "data" / "levircd_samples"
    if (path / "A").is_dir() and (path / "B").is_dir():
        return path
    if chosen:
        raise ValueError(
            f"${LEVIRCD_ENV}={chosen}: not a folder with A/ and B/ inside; fix the path "
            "or unset the variable"
        )
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
