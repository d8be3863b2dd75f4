"""The computations behind the training-based figures (paper Figs. 1, 12, 14, 15, 17, 19, 20, 22).

Each function returns plain numbers or tensors, which the figure functions of
:mod:`ceec_lab.figures.plots` draw; the notebook caches the numbers
(:mod:`ceec_lab.figures.cache`) so that re-opening it does not train again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from ceec_lab.experiments import train_model
from ceec_lab.losses import SCHEDULE_PRESETS, EvolvingDepth, create_loss
from ceec_lab.models import create_model
from ceec_lab.train import seed_everything
from ceec_lab.train.inference import output_to_probs

#: A loss schedule: ``"evolving"`` (the paper's depths 0 → 10 → 20) or one fixed depth.
Schedule = str | int


def depth_schedule(schedule: Schedule, milestones: Sequence[int]) -> EvolvingDepth:
    """The paper's learning rates 1e-3 → 1e-4 → 1e-5, dropping after ``milestones`` epochs.

    ``"evolving"`` raises the loss depth at every drop, 0 → 10 → 20 (the paper's §4);
    an integer keeps that depth throughout, so a fixed-depth run differs from the
    evolving one only in its depth, never in its learning rates.
    """
    if schedule == "evolving":
        stages = SCHEDULE_PRESETS["paper"]
    elif isinstance(schedule, int) and schedule >= 0:
        stages = tuple((stage.lr, schedule) for stage in SCHEDULE_PRESETS["paper"])
    else:
        raise ValueError(f"schedule must be 'evolving' or a depth >= 0, got {schedule!r}")
    return EvolvingDepth(stages, milestones=list(milestones))


def train_schedules(
    runs: Mapping[str, tuple[str, Schedule]],
    train_set: Dataset,
    val_set: Dataset,
    num_epochs: int,
    milestones: Sequence[int],
    preset: str = "ceecnet-tiny",
    batch_size: int = 8,
    seed: int = 0,
    progress: bool = True,
    **trainer_kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Train CEECNet-family models with the multitask loss under different depth schedules.

    Every run starts from the same weights (for the same model) and sees the same
    batches; GroupNorm, as in the paper's change detection.

    Args:
        runs: run name → ``(model name, schedule)``, e.g.
            ``{"evolving": ("ceecnet_v1", "evolving"), "D = 3": ("ceecnet_v1", 3)}``.
        train_set, val_set: change pairs with multitask targets.
        num_epochs, milestones: the budget and the two epochs after which the lr drops.

    Returns:
        Run name → ``{"epochs": the epoch records (``val_mcc``, ``loss_depth``, ...),
        "seconds": wall time of the training}``.
    """
    # An augmented training set draws from a generator of its own (ChangeAugmentation):
    # restart it for every run, so that every run sees the same augmented batches.
    transform = getattr(train_set, "transform", None)
    augmentation = transform.state_dict() if hasattr(transform, "state_dict") else None
    results = {}
    for name, (model_name, schedule) in runs.items():
        if augmentation is not None:
            transform.load_state_dict(augmentation)
        seed_everything(seed)
        model = create_model(model_name, preset=preset, norm="group")
        run = train_model(
            name,
            model,
            create_loss("multitask"),
            train_set,
            val_set,
            num_epochs=num_epochs,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
            callbacks=[depth_schedule(schedule, milestones)],
            **trainer_kwargs,
        )
        results[name] = {"epochs": run.history.epochs, "seconds": run.seconds}
    return results


@torch.no_grad()
def predict_pairs(model: nn.Module, samples: Sequence[Mapping[str, Tensor]]) -> list[Tensor]:
    """Class probabilities ``(K, H, W)`` of a change model for each sample, one at a time."""
    model.eval()
    device = next(model.parameters()).device
    probs = []
    for sample in samples:
        x1, x2 = (sample[k][None].to(device) for k in ("image1", "image2"))
        probs.append(output_to_probs(model(x1, x2), model.output)[0].cpu())
    return probs


@torch.no_grad()
def fusion_features(model: nn.Module, x1: Tensor, x2: Tensor) -> dict[str, Tensor]:
    """CEECNet's first features of two dates: their difference and the Fusion's output.

    ``conv_first`` maps each date to ``nf`` features (the shared 1×1 convolution);
    ``fuse_first`` fuses them with relative attention. Batch of one.

    Returns:
        ``{"difference": (nf, H, W) features of date 1 minus date 2,
        "fusion": (nf, H, W) output of the first Fusion}``.
    """
    kept: dict[str, list[Tensor]] = {}

    def keep(name: str):
        return lambda _module, _inputs, output: kept.setdefault(name, []).append(output)

    hooks = [
        model.conv_first.register_forward_hook(keep("first")),
        model.fuse_first.register_forward_hook(keep("fusion")),
    ]
    try:
        model.eval()(x1, x2)
    finally:
        for hook in hooks:
            hook.remove()
    first1, first2 = kept["first"]  # (1, nf, H, W) each, one per date
    return {"difference": (first1 - first2)[0], "fusion": kept["fusion"][0][0]}


def channel_contrast(features: Tensor, mask: Tensor) -> Tensor:
    """How well each channel separates changed pixels: ``|mean on change − mean off| / std``.

    Args:
        features: ``(C, H, W)``.
        mask: ``(H', W')`` change in {0, 1}, area-averaged to ``(H, W)``.

    Returns:
        ``(C,)`` contrasts, 0 for a channel that ignores the change.
    """
    weight = F.interpolate(mask[None, None].float(), size=features.shape[-2:], mode="area")[0]
    if not 0 < float(weight.mean()) < 1:
        raise ValueError("mask must hold both change and no change")
    on = (features * weight).sum((1, 2)) / weight.sum()
    off = (features * (1 - weight)).sum((1, 2)) / (1 - weight).sum()
    return (on - off).abs() / features.flatten(1).std(dim=1).clamp_min(1e-6)
