"""Losses: the Dice family, Tanimoto, fractal Tanimoto, the evolving-depth schedule and
LSNet's hybrid + contrastive loss.

* :mod:`.functional` - the similarities as plain functions (paper §3);
* :mod:`.modules` - ``1 − similarity`` losses as ``nn.Module`` wrappers;
* :mod:`.registry` - :func:`create_loss` by name, including torch's
  cross-entropy and segmentation_models_pytorch's focal, Lovász, Dice, Jaccard;
* :mod:`.schedule` - :class:`EvolvingDepth`, the paper's "shift gears" callback.
"""

from ceec_lab.losses.functional import (
    contrastive_change,
    dice_d1,
    dice_d2,
    fractal_tanimoto,
    fractal_tanimoto_complement,
    fractal_tanimoto_mean,
    hybrid,
    tanimoto,
    tanimoto_complement,
)
from ceec_lab.losses.modules import (
    DiceD1Loss,
    DiceD2Loss,
    FractalTanimotoLoss,
    LSNetHybridLoss,
    MultitaskLoss,
    TanimotoComplementLoss,
    TanimotoLoss,
)
from ceec_lab.losses.registry import create_loss, list_losses
from ceec_lab.losses.schedule import SCHEDULE_PRESETS, EvolvingDepth, Stage, StageChange

__all__ = [
    "SCHEDULE_PRESETS",
    "DiceD1Loss",
    "DiceD2Loss",
    "EvolvingDepth",
    "FractalTanimotoLoss",
    "LSNetHybridLoss",
    "MultitaskLoss",
    "Stage",
    "StageChange",
    "TanimotoComplementLoss",
    "TanimotoLoss",
    "contrastive_change",
    "create_loss",
    "dice_d1",
    "dice_d2",
    "fractal_tanimoto",
    "fractal_tanimoto_complement",
    "fractal_tanimoto_mean",
    "hybrid",
    "list_losses",
    "tanimoto",
    "tanimoto_complement",
]
