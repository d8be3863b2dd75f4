"""Small trained weights shipped inside the package, so a student sees real
attention maps and predictions the moment a notebook opens.

Every file here is produced by a script in the repository that anyone can
rerun (nothing is downloaded):

* ``"ceecnet-tiny-synthetic"`` - CEECNet V1, "ceecnet-tiny" preset, GroupNorm,
  trained on the synthetic change pairs with the evolving multitask loss by
  ``python scripts/train_tiny_weights.py``. Inputs: images in [0, 1], no
  normalisation, H and W multiples of 32.
* ``"ceecnet-tiny-levir-samples"`` - those weights fine-tuned on the eleven LEVIR-CD
  sample pairs by ``python scripts/train_levir_weights.py``, which first scores the
  recipe by leave-some-out (its ``.json`` holds the table: the numbers to expect on
  real pairs the weights never saw). The network runs at half resolution inside the
  model (``input_scale=0.5``, :class:`~ceec_lab.models.rescaled.Rescaled`): inputs in
  [0, 1] at their own resolution (LEVIR-CD: 0.5 m), H and W multiples of 64.
* ``"fc-ef-synthetic"``, ``"fc-siam-conc-synthetic"``, ``"fc-siam-diff-synthetic"`` (the
  change detectors of notebooks 04 and 05) and ``"fcn32s-synthetic"``, ``"fcn16s-synthetic"``,
  ``"fcn8s-synthetic"`` (the FCNs of notebook 01), trained by
  ``python scripts/train_baseline_weights.py`` and stored in half precision. Each file has a
  ``.json`` beside it with the training settings and validation numbers.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ceec_lab.files import load_torch
from ceec_lab.models.registry import create_model

BASELINES_SCRIPT = "scripts/train_baseline_weights.py"
#: Shipped weights: name → (file in ``ceec_lab/weights``, the script that makes it).
PRETRAINED: dict[str, tuple[str, str]] = {
    "ceecnet-tiny-synthetic": ("ceecnet_tiny_synthetic.pt", "scripts/train_tiny_weights.py"),
    "ceecnet-tiny-levir-samples": (
        "ceecnet_tiny_levir_samples.pt",
        "scripts/train_levir_weights.py",
    ),
    "fc-ef-synthetic": ("fc_ef_synthetic.pt", BASELINES_SCRIPT),
    "fc-siam-conc-synthetic": ("fc_siam_conc_synthetic.pt", BASELINES_SCRIPT),
    "fc-siam-diff-synthetic": ("fc_siam_diff_synthetic.pt", BASELINES_SCRIPT),
    "fcn32s-synthetic": ("fcn32s_synthetic.pt", BASELINES_SCRIPT),
    "fcn16s-synthetic": ("fcn16s_synthetic.pt", BASELINES_SCRIPT),
    "fcn8s-synthetic": ("fcn8s_synthetic.pt", BASELINES_SCRIPT),
}

#: Registry model → its shipped weights, for the baselines that have them.
SHIPPED_BASELINES: dict[str, str] = {
    "fc_ef": "fc-ef-synthetic",
    "fc_siam_conc": "fc-siam-conc-synthetic",
    "fc_siam_diff": "fc-siam-diff-synthetic",
    "fcn32s": "fcn32s-synthetic",
    "fcn16s": "fcn16s-synthetic",
    "fcn8s": "fcn8s-synthetic",
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

    The file holds ``{"model_name", "model_kwargs", "state_dict", ...}`` and how it
    was trained and how well it did; ``model.pretrained_info`` keeps everything but
    the weights.
    """
    checkpoint: dict[str, Any] = load_torch(pretrained_path(name), map_location=device)
    model = create_model(checkpoint["model_name"], **checkpoint["model_kwargs"])
    model.load_state_dict(checkpoint["state_dict"])
    model.pretrained_info = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    return model.to(torch.device(device)).eval()
