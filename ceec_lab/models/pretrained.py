"""Small trained weights shipped inside the package, so a student sees real
attention maps and predictions the moment a notebook opens.

Every file here is produced by a script in the repository that anyone can
rerun (nothing is downloaded):

* ``"ceecnet-tiny-synthetic"`` - CEECNet V1, "ceecnet-tiny" preset, GroupNorm,
  trained on the synthetic change pairs with the evolving multitask loss by
  ``python scripts/train_tiny_weights.py``. Inputs: images in [0, 1], no
  normalisation, H and W multiples of 32.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ceec_lab.files import load_torch
from ceec_lab.models.registry import create_model

#: Shipped weights: name → (file in ``ceec_lab/weights``, the script that makes it).
PRETRAINED: dict[str, tuple[str, str]] = {
    "ceecnet-tiny-synthetic": ("ceecnet_tiny_synthetic.pt", "scripts/train_tiny_weights.py"),
}


def pretrained_path(name: str) -> Path:
    """The file of shipped weights ``name``; raises a clear error if unknown or absent."""
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained weights {name!r}; available: {', '.join(PRETRAINED)}")
    filename, script = PRETRAINED[name]
    path = Path(str(resources.files("ceec_lab") / "weights" / filename))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: weights {name!r} missing; recreate them with `python {script}`"
        )
    return path


def load_pretrained(name: str = "ceecnet-tiny-synthetic", device: str = "cpu") -> nn.Module:
    """Build the model stored with weights ``name`` and load them; returns it in eval mode.

    The file holds ``{"model_name", "model_kwargs", "state_dict", "metrics", ...}``;
    ``model.pretrained_info`` keeps everything but the weights (how it was trained
    and how well it did).
    """
    checkpoint: dict[str, Any] = load_torch(pretrained_path(name), map_location=device)
    model = create_model(checkpoint["model_name"], **checkpoint["model_kwargs"])
    model.load_state_dict(checkpoint["state_dict"])
    model.pretrained_info = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    return model.to(torch.device(device)).eval()
