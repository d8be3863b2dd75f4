"""From a config to a run: model, loss, data sets and trainer, checked before any work.

The command line (``ceec-lab train|evaluate|predict``) is a thin layer over the
``run_*`` functions here; a notebook can call them too::

    from ceec_lab.train.config import load_config
    from ceec_lab.train.runs import run_training

    history = run_training(load_config("configs/unet.yaml", ["train.num_epochs=2"]))

:func:`prepare` builds everything a run needs and raises
:class:`~ceec_lab.train.config.ConfigError` for any mismatch (a segmentation
model on change pairs, a multitask model without the multitask loss, bad
model or loss arguments) before a single batch is drawn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ceec_lab.config import get_device
from ceec_lab.data import (
    ChangeAugmentation,
    ChangeFolderDataset,
    SyntheticChangeDataset,
    SyntheticSegmentationDataset,
)
from ceec_lab.files import atomic_path, load_torch, save_json
from ceec_lab.train import distributed as dist
from ceec_lab.train.config import (
    ConfigError,
    DataConfig,
    ExperimentConfig,
    TrainConfig,
    check_data_path,
)
from ceec_lab.train.history import History
from ceec_lab.train.inference import predict_folder
from ceec_lab.train.seeding import seed_everything
from ceec_lab.train.trainer import Trainer

logger = logging.getLogger(__name__)


@dataclass
class Experiment:
    """Everything built from a config, ready to train or evaluate."""

    config: ExperimentConfig
    model: nn.Module
    loss_fn: nn.Module
    train_set: Dataset
    val_set: Dataset
    num_classes: int


def data_task(kind: str) -> str:
    """The task a data kind serves: ``"segmentation"`` or ``"change"``."""
    return "segmentation" if kind == "synthetic_segmentation" else "change"


def data_num_classes(data: DataConfig) -> int:
    """Classes in the data: 5 synthetic land-cover classes, else 2 (change / no change)."""
    if data.kind == "synthetic_segmentation":
        return SyntheticSegmentationDataset.num_classes
    return 2


def build_model(config: ExperimentConfig) -> nn.Module:
    """The model of ``config.model``, with ``num_classes`` taken from the data."""
    from ceec_lab.models import create_model

    num_classes = data_num_classes(config.data)
    kwargs = {"num_classes": num_classes, **config.model.kwargs}
    if kwargs["num_classes"] != num_classes:
        raise ConfigError(
            f"model.kwargs.num_classes={kwargs['num_classes']} but data.kind "
            f"{config.data.kind!r} has {num_classes} classes"
        )
    try:
        model = create_model(config.model.name, **kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"model.kwargs for {config.model.name!r}: {error}") from error
    if model.task != data_task(config.data.kind):
        raise ConfigError(
            f"model.name: {config.model.name!r} is a {model.task} model but data.kind "
            f"{config.data.kind!r} holds {data_task(config.data.kind)} samples"
        )
    return model


def build_loss(config: ExperimentConfig, model: nn.Module) -> nn.Module:
    """The loss of ``config.loss``, checked against the model's output."""
    from ceec_lab.losses import MultitaskLoss, create_loss

    try:
        loss_fn = create_loss(config.loss.name, **config.loss.kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"loss.kwargs for {config.loss.name!r}: {error}") from error
    if model.output == "multitask" and not isinstance(loss_fn, MultitaskLoss):
        raise ConfigError(
            f"loss.name: {config.model.name!r} returns (segmentation, boundary, distance); "
            "use loss name 'multitask'"
        )
    if model.output != "multitask" and isinstance(loss_fn, MultitaskLoss):
        raise ConfigError(
            f"loss.name: 'multitask' needs a model returning (segmentation, boundary, "
            f"distance) such as ceecnet_v1; {config.model.name!r} returns one map"
        )
    return loss_fn


def build_datasets(data: DataConfig, multitask: bool) -> tuple[Dataset, Dataset]:
    """Training and validation sets; synthetic validation uses ``seed + 1``."""
    if data.kind == "synthetic_segmentation":
        return (
            SyntheticSegmentationDataset(data.n_train, data.size, data.seed),
            SyntheticSegmentationDataset(data.n_val, data.size, data.seed + 1),
        )
    if data.kind == "synthetic_change":
        common = {"size": data.size, "difficulty": data.difficulty, "multitask": multitask}
        return (
            SyntheticChangeDataset(
                data.n_train, seed=data.seed, transform=_augmentation(data), **common
            ),
            SyntheticChangeDataset(data.n_val, seed=data.seed + 1, **common),
        )
    return _folder_datasets(data, multitask)


def _augmentation(data: DataConfig) -> ChangeAugmentation | None:
    """The reference's training augmentation when ``data.augment`` (images stay in [0, 1])."""
    return ChangeAugmentation(normalise=None, seed=data.seed) if data.augment else None


def _folder_datasets(data: DataConfig, multitask: bool) -> tuple[Dataset, Dataset]:
    """``train``/``val`` (or ``test``) splits of a folder; a flat folder serves both."""
    root = Path(data.path)
    splits = [s for s in ("train", "val", "test") if (root / s).is_dir()]
    train_split = "train" if "train" in splits else None
    val_split = next((s for s in ("val", "test") if s in splits), train_split)
    if val_split == train_split:
        logger.info("%s has no validation split: validating on the training images", root)
    try:
        return tuple(
            ChangeFolderDataset(
                root,
                split,
                patch_size=data.patch_size,
                stride=data.patch_stride,
                multitask=multitask,
                transform=transform,
            )
            for split, transform in ((train_split, _augmentation(data)), (val_split, None))
        )
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(f"data.path: {error}") from error


def prepare(config: ExperimentConfig) -> Experiment:
    """Build and cross-check model, loss and data sets (seeded by ``train.seed``)."""
    check_data_path(config.data)
    seed_everything(config.train.seed)  # the model's initial weights repeat too
    model = build_model(config)
    loss_fn = build_loss(config, model)
    train_set, val_set = build_datasets(config.data, multitask=model.output == "multitask")
    return Experiment(config, model, loss_fn, train_set, val_set, data_num_classes(config.data))


def build_schedule(train: TrainConfig) -> tuple[object | None, list]:
    """``(scheduler factory or None, callbacks)`` for ``train.schedule``.

    * ``plateau``: lr × 0.1 when the validation loss stalls (``patience`` 5);
    * ``cosine``: cosine decay of the lr over ``num_epochs``;
    * ``paper``: :class:`~ceec_lab.losses.EvolvingDepth`, the paper's evolving
      loss: (lr 1e-3, depth 0) → (1e-4, 10) → (1e-5, 20) on plateaus
      (``patience`` 5 unless ``milestones`` or ``patience`` is given); it sets
      the lr itself, so ``train.lr`` is not used.
    """
    kwargs = dict(train.schedule_kwargs)
    if train.schedule is None:
        if kwargs:
            raise ConfigError("train.schedule_kwargs given but train.schedule is null")
        return None, []
    if train.schedule == "plateau":
        kwargs = {"factor": 0.1, "patience": 5, **kwargs}
        return lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs), []
    if train.schedule == "cosine":
        kwargs = {"T_max": train.num_epochs, **kwargs}
        return lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, **kwargs), []
    from ceec_lab.losses import EvolvingDepth

    if "milestones" not in kwargs and "patience" not in kwargs:
        kwargs["patience"] = 5
    try:
        return None, [EvolvingDepth.paper(**kwargs)]
    except (TypeError, ValueError) as error:
        raise ConfigError(f"train.schedule_kwargs for 'paper': {error}") from error


def make_trainer(
    experiment: Experiment,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    schedule: bool = True,
) -> Trainer:
    """A :class:`Trainer` set up as ``config.train`` says (the config goes into checkpoints)."""
    train = experiment.config.train
    scheduler, callbacks = build_schedule(train) if schedule else (None, [])
    if schedule and train.schedule == "paper" and not hasattr(experiment.loss_fn, "depth"):
        raise ConfigError(
            "train.schedule: 'paper' changes the loss depth, but loss "
            f"{experiment.config.loss.name!r} has none; use 'fractal_tanimoto' or 'multitask'"
        )
    try:
        return Trainer(
            experiment.model,
            experiment.loss_fn,
            num_classes=experiment.num_classes,
            lr=train.lr,
            scheduler=scheduler,
            device=train.device,
            amp=train.amp,
            grad_clip=train.grad_clip,
            callbacks=callbacks,
            checkpoint_dir=checkpoint_dir,
            seed=train.seed,
            early_stopping_patience=train.early_stopping_patience,
            progress=progress,
            config=experiment.config.to_dict(),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from error


def make_loaders(experiment: Experiment) -> tuple[DataLoader, DataLoader]:
    """Shuffled training batches and ordered validation batches."""
    data = experiment.config.data
    common = {"batch_size": data.batch_size, "num_workers": data.num_workers}
    return (
        DataLoader(experiment.train_set, shuffle=True, **common),
        DataLoader(experiment.val_set, shuffle=False, **common),
    )


def run_training(config: ExperimentConfig, resume: bool = False, progress: bool = True) -> History:
    """Train as ``config`` says; write checkpoints, ``config.yaml`` and ``history.json``.

    Everything is built and checked first; the files land in ``train.out_dir``.

    Args:
        resume: continue from ``train.out_dir/last.pt``.
    """
    out_dir = Path(config.train.out_dir)
    if resume and not (out_dir / "last.pt").is_file():
        raise ConfigError(f"--resume: no checkpoint to resume from at {out_dir / 'last.pt'}")
    experiment = prepare(config)
    trainer = make_trainer(experiment, checkpoint_dir=out_dir, progress=progress)
    train_loader, val_loader = make_loaders(experiment)
    if dist.is_main_process():
        with atomic_path(out_dir / "config.yaml") as tmp:
            tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    history = trainer.fit(train_loader, val_loader, config.train.num_epochs, resume=resume)
    if dist.is_main_process():
        save_json(history.state_dict(), out_dir / "history.json")
    return history


def load_model(
    checkpoint: str | Path, device: str | torch.device | None = None
) -> tuple[nn.Module, ExperimentConfig]:
    """Rebuild the model a checkpoint was trained with and load its weights (eval mode)."""
    state = load_torch(checkpoint)
    if state.get("config") is None:
        raise ConfigError(
            f"{checkpoint}: stores no config (the Trainer was built without config=); "
            "build the model yourself and load state['model']"
        )
    config = ExperimentConfig.from_dict(state["config"])
    model = build_model(config)
    _load_weights(model, state, checkpoint)
    return model.to(get_device(None if device is None else str(device))).eval(), config


def _load_weights(model: nn.Module, state: dict, checkpoint: str | Path) -> None:
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(
            f"{checkpoint}: its weights do not fit this model: {first_line}"
        ) from error


def run_evaluation(
    checkpoint: str | Path, config: ExperimentConfig | None = None, progress: bool = True
) -> dict[str, float]:
    """Loss and metrics of a checkpoint on the validation set of ``config``.

    Args:
        checkpoint: a ``.pt`` file written by the trainer.
        config: defaults to the config stored in the checkpoint.
    """
    state = load_torch(checkpoint)
    if config is None:
        if state.get("config") is None:
            raise ConfigError(f"{checkpoint}: stores no config; pass one with --config")
        config = ExperimentConfig.from_dict(state["config"])
    experiment = prepare(config)
    _load_weights(experiment.model, state, checkpoint)
    trainer = make_trainer(experiment, progress=progress, schedule=False)
    return trainer.evaluate(make_loaders(experiment)[1])


def run_prediction(
    checkpoint: str | Path,
    image1_dir: str | Path,
    image2_dir: str | Path | None,
    out_dir: str | Path,
    window: int | None = None,
    stride: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
) -> list[Path]:
    """Masks and confidence maps for every image (pair) of a folder; see
    :func:`~ceec_lab.train.inference.predict_folder`. ``window`` and ``stride``
    default to the checkpoint config's ``predict`` section."""
    model, config = load_model(checkpoint, device)
    window = config.predict.window if window is None else window
    stride = config.predict.stride if stride is None else stride
    return predict_folder(
        model,
        image1_dir,
        image2_dir,
        out_dir,
        window,
        stride,
        config.predict.threshold,
        batch_size=batch_size,
    )
