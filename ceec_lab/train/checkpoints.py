"""Checkpoint files: writing and resuming a training run, and reading any trained model.

Two kinds of file hold a trained model:

* a trainer checkpoint (``runs/NAME/best.pt``, ``last.pt``), written by
  :func:`save_checkpoint` (the :class:`~ceec_lab.train.callbacks.Checkpoint`
  callback calls it after every epoch): everything a resumed run needs, listed
  in :func:`training_state` - the weights under ``"model"``, the optimiser,
  scheduler, history, random generators and callbacks, and the experiment
  config under ``"config"``. :func:`load_checkpoint` puts it back into a
  trainer (``Trainer.fit(resume=...)`` calls it);
* shipped weights (``ceec_lab/weights/*.pt``, see
  :mod:`ceec_lab.models.pretrained`): ``"model_name"``, ``"model_kwargs"``,
  ``"state_dict"`` and a record of the synthetic data they were trained on.

:func:`read_checkpoint` takes either file, or a shipped name such as
``"ceecnet-tiny-synthetic"``, and returns the weights with an
:class:`~ceec_lab.train.config.ExperimentConfig` rebuilt from what the file
records, so the model is built the way it was trained. Every failure - no such
file, a truncated or foreign file, a config that no longer checks - becomes one
``ValueError`` or ``FileNotFoundError`` whose message names the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ceec_lab.files import load_torch, save_torch
from ceec_lab.train import distributed as dist
from ceec_lab.train.config import ConfigError, ExperimentConfig
from ceec_lab.train.seeding import (
    augmentation_state,
    get_rng_state,
    set_augmentation_state,
    set_rng_state,
)

if TYPE_CHECKING:
    from ceec_lab.train.trainer import Trainer

logger = logging.getLogger(__name__)


def training_state(trainer: Trainer, config: dict | None = None) -> dict[str, Any]:
    """Everything a resumed run needs, as tensors and plain Python values.

    Args:
        trainer: the trainer to save (between epochs).
        config: a plain dict stored under ``"config"`` (the CLI stores its
            experiment config, so ``evaluate``/``predict`` can rebuild the model).
    """
    return {
        "model": trainer.model.state_dict(),
        "optimizer": None if trainer.optimizer is None else trainer.optimizer.state_dict(),
        "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
        "scaler": trainer.scaler.state_dict(),
        "history": trainer.history.state_dict(),
        "epoch": trainer.epoch,
        "step": trainer.step,
        "loss_depth": getattr(trainer.loss_fn, "depth", None),
        "rng": get_rng_state(),
        "augmentation": augmentation_state(trainer.train_loader),
        "callbacks": {key: cb.state_dict() for key, cb in _stateful_callbacks(trainer)},
        "task": trainer.task,
        "output": trainer.output,
        "num_classes": trainer.num_classes,
        "config": config,
    }


def restore_training_state(trainer: Trainer, state: dict[str, Any]) -> None:
    """Put a :func:`training_state` back: weights, optimiser, history, RNGs, callbacks.

    The augmentation's generator is restored into ``trainer.train_loader``'s
    transform, so this runs once :meth:`~ceec_lab.train.Trainer.fit` knows its loader.
    """
    trainer.model.load_state_dict(state["model"])
    if trainer.optimizer is not None and state["optimizer"] is not None:
        trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None and state["scheduler"] is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.scaler.load_state_dict(state["scaler"])
    trainer.history.load_state_dict(state["history"])
    trainer.epoch, trainer.step = state["epoch"], state["step"]
    if state["loss_depth"] is not None:
        trainer.loss_fn.depth = state["loss_depth"]
    for key, cb in _stateful_callbacks(trainer):
        if key in state["callbacks"]:
            cb.load_state_dict(state["callbacks"][key])
    set_rng_state(state["rng"])
    set_augmentation_state(trainer.train_loader, state.get("augmentation", []))


def save_checkpoint(trainer: Trainer, path: str | Path, config: dict | None = None) -> Path:
    """Write :func:`training_state` to ``path`` atomically (rank 0 only under DDP).

    Sets ``trainer.last_checkpoint``, which the trainer's errors name.

    Raises:
        RuntimeError: if a weight is NaN/inf - a broken checkpoint is never written.
    """
    path = Path(path)
    weights = trainer.model.state_dict().values()
    if any(not torch.isfinite(t).all() for t in weights if t.is_floating_point()):
        raise RuntimeError(f"refusing to write {path}: the model has NaN/inf weights")
    if dist.is_main_process():
        save_torch(training_state(trainer, config), path)
    trainer.last_checkpoint = path
    return path


def load_checkpoint(trainer: Trainer, path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``trainer``.

    Returns:
        The whole stored state (its ``"config"`` included).

    Raises:
        ValueError: the file is not a checkpoint, or holds another model (names it).
    """
    state = load_torch(path, map_location=trainer.device)
    missing = [k for k in ("model", "history", "rng") if k not in state]
    if missing:
        raise ValueError(f"{path}: not a training checkpoint (no {', '.join(missing)})")
    try:
        restore_training_state(trainer, state)
    except RuntimeError as error:
        first_line = str(error).splitlines()[0]
        raise ValueError(f"{path}: does not fit this model: {first_line}") from error
    trainer.last_checkpoint = Path(path)
    logger.info("resumed from %s at epoch %d (step %d)", path, trainer.epoch, trainer.step)
    return state


def _stateful_callbacks(trainer: Trainer) -> list[tuple[str, Any]]:
    """``("index:ClassName", callback)`` for each callback with a ``state_dict``."""
    return [
        (f"{i}:{type(cb).__name__}", cb)
        for i, cb in enumerate(trainer.callbacks)
        if hasattr(cb, "state_dict")
    ]


@dataclass
class StoredModel:
    """What a checkpoint holds, in one shape for both kinds of file.

    Attributes:
        path: the file read.
        config: the experiment the weights were trained in.
        weights: the model's state dict.
    """

    path: Path
    config: ExperimentConfig
    weights: dict[str, Any]


def resolve_checkpoint(source: str | Path) -> Path:
    """The file of ``source``: a shipped weights name or a path.

    Raises:
        FileNotFoundError: neither a shipped name nor an existing file (lists the names).
    """
    from ceec_lab.models.pretrained import PRETRAINED, pretrained_path

    if str(source) in PRETRAINED:
        return pretrained_path(str(source))
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint file not found: {path} (shipped weights by name: {', '.join(PRETRAINED)})"
        )
    return path


def read_checkpoint(source: str | Path) -> StoredModel:
    """Read a trainer checkpoint, a shipped weights file or a shipped name.

    Raises:
        FileNotFoundError: no such file or name.
        ValueError: the file cannot be read, is not a kit checkpoint, or its
            config does not check (:class:`~ceec_lab.train.config.ConfigError`);
            the message names the file.
    """
    path = resolve_checkpoint(source)
    state = load_torch(path)
    if "model" in state and "config" in state:
        raw, weights = state["config"], state["model"]
        if raw is None:
            raise ConfigError(
                f"{path}: stores no config (the Trainer was built without config=); "
                "build the model yourself and load state['model'], or pass --config"
            )
    elif {"model_name", "model_kwargs", "state_dict"} <= state.keys():
        raw, weights = shipped_config(state), state["state_dict"]
    else:
        raise ValueError(
            f"{path}: not a ceec_lab checkpoint; expected the keys of a trainer checkpoint "
            f"(model, config) or of shipped weights (model_name, model_kwargs, state_dict), "
            f"found {sorted(state)[:6]}"
        )
    try:
        config = ExperimentConfig.from_dict(raw)
    except ConfigError as error:
        raise ConfigError(f"{path}: its stored config: {error}") from error
    return StoredModel(path, config, weights)


def shipped_config(state: dict[str, Any]) -> dict[str, Any]:
    """The experiment config a shipped weights file records, as nested dicts.

    Shipped weights are CEECNet models trained on synthetic change pairs with
    the multitask loss; their validation pairs use ``seed + 1`` like the trainer's.
    """
    data = state.get("data", {})
    history = state.get("history") or [{}]
    depth = history[-1].get("loss_depth", 0)
    return {
        "model": {"name": state["model_name"], "kwargs": dict(state["model_kwargs"])},
        "data": {"kind": "synthetic_change", **data},
        "loss": {"name": "multitask", "kwargs": {"depth": depth}},
    }
