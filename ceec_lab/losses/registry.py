"""Every loss of the kit by name: ``create_loss("fractal_tanimoto", depth=5)``.

Cross-entropy comes from torch and focal, Lovász, Dice and Jaccard from
segmentation_models_pytorch (imported on first use); the Dice forms, the
Tanimoto family and LSNet's hybrid + contrastive loss are ours (:mod:`.modules`).
Each created loss carries an ``expects`` attribute, ``"logits"`` or ``"probs"``, so
that a training loop knows whether to apply a softmax to the model output first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ceec_lab.losses import modules


def _expecting(expects: str, loss: nn.Module) -> nn.Module:
    loss.expects = expects
    return loss


def cross_entropy(weight: Sequence[float] | Tensor | None = None, **kwargs) -> nn.Module:
    """``torch.nn.CrossEntropyLoss`` on logits ``(B, K, H, W)`` and an int64 mask ``(B, H, W)``.

    Args:
        weight: one weight per class, a tensor or a list (as a YAML config gives it),
            e.g. ``[1.0, 10.0]`` to weigh the rare change class up.
        **kwargs: passed to ``CrossEntropyLoss`` (``ignore_index``, ``label_smoothing`` ...).
    """
    if weight is not None:
        weight = torch.as_tensor(weight, dtype=torch.float32)
    return _expecting("logits", nn.CrossEntropyLoss(weight=weight, **kwargs))


def _smp_loss(class_name: str) -> Callable[..., nn.Module]:
    """A factory for ``smp.losses.<class_name>`` on logits, ``mode="multiclass"`` by default."""

    def factory(mode: str = "multiclass", **kwargs) -> nn.Module:
        import segmentation_models_pytorch as smp

        return _expecting("logits", getattr(smp.losses, class_name)(mode=mode, **kwargs))

    factory.__doc__ = f"segmentation_models_pytorch.losses.{class_name} (on logits)."
    return factory


_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "ce": cross_entropy,
    "focal": _smp_loss("FocalLoss"),
    "lovasz": _smp_loss("LovaszLoss"),
    "smp_dice": _smp_loss("DiceLoss"),
    "smp_jaccard": _smp_loss("JaccardLoss"),
    "dice_d1": modules.DiceD1Loss,
    "dice_d2": modules.DiceD2Loss,
    "tanimoto": modules.TanimotoLoss,
    "tanimoto_complement": modules.TanimotoComplementLoss,
    "fractal_tanimoto": modules.FractalTanimotoLoss,
    "multitask": modules.MultitaskLoss,
    "lsnet_hybrid": modules.LSNetHybridLoss,
}


def list_losses() -> list[str]:
    """Names accepted by :func:`create_loss`."""
    return sorted(_LOSSES)


def create_loss(name: str, **kwargs) -> nn.Module:
    """Build a loss by name.

    Args:
        name: one of :func:`list_losses` (case-insensitive, ``-`` and ``_`` alike).
        **kwargs: passed to the loss (e.g. ``depth=5`` for ``"fractal_tanimoto"``,
            ``mode="binary"`` for the smp losses).

    Returns:
        An ``nn.Module`` with an ``expects`` attribute (``"logits"`` or ``"probs"``).

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    key = name.lower().replace("-", "_")
    if key not in _LOSSES:
        raise ValueError(f"unknown loss name {name!r}; choose one of: {', '.join(list_losses())}")
    return _LOSSES[key](**kwargs)
