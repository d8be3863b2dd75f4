"""From a config to a run: model, loss, data sets and trainer, checked before any work.

The command line (``ceec-lab train|evaluate|predict``) is a thin layer over the
``run_*`` functions here; a notebook can call them too::

    from ceec_lab.train.config import load_config
    from ceec_lab.train.runs import run_training

    history = run_training(load_config("configs/unet.yaml", ["train.num_epochs=2"]))

:func:`prepare` builds everything a run needs and raises
:class:`~ceec_lab.train.config.ConfigError` for any mismatch (a segmentation
model on change pairs, a multitask model without the multitask loss, bad
model or loss arguments, a data size the model cannot take, a data file that
does not read) before a single batch is drawn. :func:`run_training` writes
nothing until those checks pass, and refuses an ``out_dir`` that holds another
run unless told to resume it or overwrite it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ceec_lab.data import (
    ChangeAugmentation,
    ChangeFolderDataset,
    SyntheticChangeDataset,
    SyntheticSegmentationDataset,
)
from ceec_lab.data.io import band_count
from ceec_lab.files import atomic_folder, atomic_path, check_output_folder, save_json
from ceec_lab.settings import get_device
from ceec_lab.train import distributed as dist
from ceec_lab.train.callbacks import Checkpoint, EarlyStopping
from ceec_lab.train.checkpoints import StoredModel, read_checkpoint
from ceec_lab.train.config import (
    ConfigError,
    DataConfig,
    ExperimentConfig,
    TrainConfig,
    check_data_path,
)
from ceec_lab.train.history import History
from ceec_lab.train.inference import predict_folder
from ceec_lab.train.seeding import seed_everything, seed_worker
from ceec_lab.train.trainer import Trainer

logger = logging.getLogger(__name__)

#: The files a training run writes into ``train.out_dir``.
RUN_FILES = ("best.pt", "last.pt", "config.yaml", "history.json")


@dataclass
class Experiment:
    """Everything built from a config, ready to train or evaluate."""

    config: ExperimentConfig
    model: nn.Module
    loss_fn: nn.Module
    train_set: Dataset
    val_set: Dataset | None  # None only when prepare() is given no validation set
    num_classes: int

    def loaders(self, seed: int | None = None) -> tuple[DataLoader, DataLoader | None]:
        """:func:`make_loaders` of the two data sets, batched and read as the config says."""
        data = self.config.data
        return make_loaders(self.train_set, self.val_set, data.batch_size, seed, data.num_workers)


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
    if config.data.kind == "folder" and band_count(config.data.bands) != 3:
        kwargs.setdefault("in_channels", band_count(config.data.bands))
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
    if getattr(loss_fn, "takes_features", False) and model.output != "logits_features":
        raise ConfigError(
            f"loss.name: {config.loss.name!r} needs the two dates' features, which "
            f"{config.model.name!r} does not return; use it with lsnet or lsnet_densefpn"
        )
    return loss_fn


def build_datasets(data: DataConfig, multitask: bool) -> tuple[Dataset, Dataset]:
    """Training and validation sets; synthetic validation uses ``seed + 1``."""
    if data.kind == "synthetic_segmentation":
        return (
            SyntheticSegmentationDataset(data.n_train, data.size, data.seed, cache=data.cache),
            SyntheticSegmentationDataset(data.n_val, data.size, data.seed + 1, cache=data.cache),
        )
    if data.kind == "synthetic_change":
        common = {
            "size": data.size,
            "difficulty": data.difficulty,
            "style": data.style,
            "multitask": multitask,
            "cache": data.cache,
        }
        return (
            SyntheticChangeDataset(
                data.n_train, seed=data.seed, transform=_augmentation(data), **common
            ),
            SyntheticChangeDataset(data.n_val, seed=data.seed + 1, **common),
        )
    return _folder_datasets(data, multitask)


def _augmentation(data: DataConfig) -> ChangeAugmentation | None:
    """The reference's training augmentation when ``data.augment`` (images stay in [0, 1])."""
    return ChangeAugmentation(seed=data.seed) if data.augment else None


def folder_splits(root: str | Path) -> tuple[str | None, str | None]:
    """``(train split, validation split)`` of a folder: ``train`` and ``val`` (or
    ``test``); ``None`` stands for a flat folder, which then serves both."""
    splits = [s for s in ("train", "val", "test") if (Path(root) / s).is_dir()]
    train_split = "train" if "train" in splits else None
    return train_split, next((s for s in ("val", "test") if s in splits), train_split)


def _folder_datasets(data: DataConfig, multitask: bool) -> tuple[Dataset, Dataset]:
    """``train``/``val`` (or ``test``) splits of a folder, every file checked up front."""
    root = Path(data.path)
    train_split, val_split = folder_splits(root)
    if val_split == train_split:
        logger.info("%s has no validation split: validating on the training images", root)
    common = {
        "patch_size": data.patch_size,
        "stride": data.patch_stride,
        "bands": data.bands,
        "multitask": multitask,
    }
    try:
        datasets = tuple(
            ChangeFolderDataset(root, split, transform=transform, **common)
            for split, transform in ((train_split, _augmentation(data)), (val_split, None))
        )
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(f"data.path: {error}") from error
    for dataset in datasets:
        _check_equal_sizes(dataset, data)
    return datasets


def _check_equal_sizes(dataset: ChangeFolderDataset, data: DataConfig) -> None:
    """Whole tiles batch together only when they share one size."""
    if data.patch_size is not None or data.batch_size == 1 or len(set(dataset.sizes)) == 1:
        return
    first = dataset.sizes[0]
    other = next(i for i, size in enumerate(dataset.sizes) if size != first)
    shown = [
        f"{dataset.names[i]}: {h}×{w}" for i, (h, w) in ((0, first), (other, dataset.sizes[other]))
    ]
    raise ConfigError(
        f"data.patch_size: {dataset.folder} holds tiles of different sizes ({', '.join(shown)}); "
        "set data.patch_size (e.g. 256) to cut them into equal patches, or data.batch_size=1"
    )


def sample_size(data: DataConfig, dataset: Dataset) -> tuple[int, int] | None:
    """``(H, W)`` of the samples a data set yields (``None``: tiles of several sizes)."""
    if data.kind != "folder":
        return data.size, data.size
    if data.patch_size is not None:
        return data.patch_size, data.patch_size
    sizes = set(dataset.sizes)
    return sizes.pop() if len(sizes) == 1 else None


def check_input_size(
    model: nn.Module, channels: int, size: tuple[int, int], key: str, name: str
) -> None:
    """Check that ``model`` takes ``(channels, H, W)`` images of ``size``, without computing.

    The kit's models check their inputs first thing in ``forward`` and raise a
    ``ValueError`` saying what they need. Fed an empty tensor on PyTorch's
    ``meta`` device, a model runs that check and then stops at its first real
    operation (weights and input on different devices): any error other than
    ``ValueError`` means the check passed.

    Raises:
        ConfigError: naming ``key`` (``data.size``, ``--window``) and the model's reason.
    """
    x = torch.empty(2, channels, *size, device="meta")  # 2: batch norm trains on 2 or more
    try:
        with torch.no_grad():
            model(x) if model.task == "segmentation" else model(x, x)
    except ValueError as error:
        shown = "×".join(map(str, size))
        raise ConfigError(f"{key}: {name} cannot take {shown} images: {error}") from error
    except Exception:  # the first operation after the checks: the size is fine
        return


def prepare(
    config: ExperimentConfig, datasets: tuple[Dataset, Dataset | None] | None = None
) -> Experiment:
    """Build and cross-check model, loss and data sets (seeded by ``train.seed``).

    Args:
        datasets: ``(train_set, val_set)`` built elsewhere (a notebook's), to use
            instead of building ``config.data``'s; the model then checks their sizes
            when it first sees them.
    """
    check_data_path(config.data)
    seed_everything(config.train.seed)  # the model's initial weights repeat too
    model = build_model(config)
    loss_fn = build_loss(config, model)
    if datasets is None:
        datasets = build_datasets(config.data, multitask=model.output == "multitask")
        size = sample_size(config.data, datasets[0])
        if size is not None:
            key = "data.patch_size" if config.data.kind == "folder" else "data.size"
            check_input_size(model, band_count(config.data.bands), size, key, config.model.name)
    return Experiment(config, model, loss_fn, *datasets, data_num_classes(config.data))


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
    callbacks: Sequence[Any] = (),
    **trainer_kwargs: Any,
) -> Trainer:
    """A :class:`Trainer` set up as ``config.train`` says.

    Args:
        checkpoint_dir: write checkpoints there, which store the config.
        schedule: build ``train.schedule`` (off for evaluation).
        callbacks: more callbacks, after the schedule's (a notebook's live plot).
        **trainer_kwargs: :class:`Trainer` arguments that replace the config's
            (a notebook's ``device``).
    """
    train = experiment.config.train
    scheduler, schedule_callbacks = build_schedule(train) if schedule else (None, [])
    callbacks = [*schedule_callbacks, *callbacks]
    if schedule and train.schedule == "paper" and not hasattr(experiment.loss_fn, "depth"):
        raise ConfigError(
            "train.schedule: 'paper' changes the loss depth, but loss "
            f"{experiment.config.loss.name!r} has none; use 'fractal_tanimoto' or 'multitask'"
        )
    try:
        if train.early_stopping_patience is not None:
            callbacks.append(EarlyStopping("val_loss", patience=train.early_stopping_patience))
        if checkpoint_dir is not None:
            callbacks.append(Checkpoint(checkpoint_dir, config=experiment.config.to_dict()))
        arguments = {
            "num_classes": experiment.num_classes,
            "lr": train.lr,
            "scheduler": scheduler,
            "device": train.device,
            "amp": train.amp,
            "grad_clip": train.grad_clip,
            "seed": train.seed,
            "progress": progress,
        }
        arguments.update(trainer_kwargs)
        return Trainer(experiment.model, experiment.loss_fn, callbacks=callbacks, **arguments)
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from error


def make_loaders(
    train_set: Dataset,
    val_set: Dataset | None,
    batch_size: int,
    seed: int | None = None,
    num_workers: int = 0,
) -> tuple[DataLoader, DataLoader | None]:
    """Shuffled training batches and ordered validation batches.

    Training drops a last, incomplete batch when there are whole ones: batch
    norm needs more than one sample.

    Args:
        seed: shuffle with a generator of its own, so that the order repeats
            whatever drew random numbers before. ``None`` (the command line's
            choice): torch's global generator, which checkpoints save, so that a
            resumed run shuffles as the uninterrupted run would have.
        num_workers: ``DataLoader`` worker processes, each seeded by :func:`seed_worker`.
    """
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    common = {
        "batch_size": batch_size,
        "num_workers": num_workers,
        "worker_init_fn": seed_worker,  # exact resumes with augmentation in workers too
    }
    drop_last = len(train_set) > batch_size
    train_loader = DataLoader(
        train_set, shuffle=True, drop_last=drop_last, generator=generator, **common
    )
    return train_loader, None if val_set is None else DataLoader(val_set, **common)


def run_training(
    config: ExperimentConfig, resume: bool = False, progress: bool = True, overwrite: bool = False
) -> History:
    """Train as ``config`` says; write checkpoints, ``config.yaml`` and ``history.json``.

    Everything is built and checked first; the files land in ``train.out_dir``
    only then.

    Args:
        resume: continue from ``train.out_dir/last.pt`` (the same model only).
        overwrite: start over in an ``out_dir`` that holds another run, replacing
            its files; without it (or ``resume``) such an ``out_dir`` is an error.

    Raises:
        ConfigError: before any file is written, for any mistake.
        TrainingInterrupted: on Ctrl-C, naming the last checkpoint.
    """
    out_dir = Path(config.train.out_dir)
    _check_out_dir(out_dir, config, resume, overwrite)
    experiment = prepare(config)
    trainer = make_trainer(experiment, checkpoint_dir=out_dir, progress=progress)
    train_loader, val_loader = experiment.loaders()
    if dist.is_main_process():
        if overwrite and not resume:
            for name in RUN_FILES:
                (out_dir / name).unlink(missing_ok=True)
        with atomic_path(out_dir / "config.yaml") as tmp:
            tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    last = out_dir / "last.pt" if resume else None
    history = trainer.fit(train_loader, val_loader, config.train.num_epochs, resume=last)
    if dist.is_main_process():
        save_json(history.state_dict(), out_dir / "history.json")
    return history


def _check_out_dir(out_dir: Path, config: ExperimentConfig, resume: bool, overwrite: bool) -> None:
    """A fresh run needs an empty ``out_dir`` (or ``overwrite``); a resume, the same model.

    Under ``torchrun`` only rank 0 checks for an empty ``out_dir`` (the process group
    does not exist yet, hence ``RANK``): another rank could otherwise find the
    ``config.yaml`` rank 0 has just written. ``torchrun`` stops every rank when one fails.
    """
    if not resume:
        if os.environ.get("RANK", "0") != "0":
            return
        try:
            check_output_folder(out_dir, overwrite, "train.out_dir")
        except ValueError as error:
            raise ConfigError(f"{error}, or --resume to continue that run") from error
        return
    last = out_dir / "last.pt"
    if not last.is_file():
        raise ConfigError(f"--resume: no checkpoint to resume from at {last}")
    stored = read_checkpoint(last).config
    if (stored.model, stored.data.kind) != (config.model, config.data.kind):
        raise ConfigError(
            f"--resume: {last} holds model {stored.model.name} {stored.model.kwargs} on "
            f"{stored.data.kind} data, but the config asks for {config.model.name} "
            f"{config.model.kwargs} on {config.data.kind}; resume with the same model, "
            "or train into another train.out_dir"
        )


def load_model(
    checkpoint: str | Path, device: str | torch.device | None = None
) -> tuple[nn.Module, ExperimentConfig]:
    """Rebuild the model a checkpoint was trained with and load its weights (eval mode).

    Args:
        checkpoint: a trainer checkpoint, shipped weights, or a shipped name
            (``"ceecnet-tiny-synthetic"``); see :func:`~ceec_lab.train.checkpoints.read_checkpoint`.
    """
    stored = read_checkpoint(checkpoint)
    model = build_model(stored.config)
    _load_weights(model, stored, stored.config.model.name)
    return model.to(get_device(None if device is None else str(device))).eval(), stored.config


def _load_weights(model: nn.Module, stored: StoredModel, name: str) -> None:
    """Load ``stored``'s weights into ``model`` (built as model ``name``), or say what differs."""
    from ceec_lab.models.utils import state_dict_mismatches

    problems = state_dict_mismatches(model.state_dict(), stored.weights)
    if problems:
        raise ConfigError(
            f"{stored.path}: holds weights of {stored.config.model.name} "
            f"{stored.config.model.kwargs}, which do not fit the model built here ({name}): "
            + "; ".join(problems)
        )
    model.load_state_dict(stored.weights)


def evaluation_data(data: DataConfig) -> str:
    """Which samples :func:`run_evaluation` scores for ``data``, in words."""
    if data.kind != "folder":
        what = "change pairs" if data.kind == "synthetic_change" else "scenes"
        detail = (
            f", difficulty {data.difficulty}, {data.style} style"
            if data.kind == "synthetic_change"
            else ""
        )
        return (
            f"{data.n_val} synthetic {what} of {data.size}×{data.size} "
            f"(seed {data.seed + 1}{detail})"
        )
    split = folder_splits(data.path)[1]
    where = Path(data.path) if split is None else Path(data.path) / split
    cut = (
        "whole tiles" if data.patch_size is None else f"{data.patch_size}×{data.patch_size} patches"
    )
    return f"{where} as {cut}"


def run_evaluation(
    checkpoint: str | Path, config: ExperimentConfig | None = None, progress: bool = True
) -> dict[str, float]:
    """Loss and metrics of a checkpoint on the validation set of ``config``
    (:func:`evaluation_data` says which); metrics count every pixel of every sample.

    Args:
        checkpoint: a trainer checkpoint, shipped weights or a shipped name.
        config: defaults to the config the checkpoint records.
    """
    stored = read_checkpoint(checkpoint)
    experiment = prepare(stored.config if config is None else config)
    _load_weights(experiment.model, stored, experiment.config.model.name)
    trainer = make_trainer(experiment, progress=progress, schedule=False)
    return trainer.evaluate(experiment.loaders()[1])


def run_prediction(
    checkpoint: str | Path,
    image1_dir: str | Path,
    image2_dir: str | Path | None,
    out_dir: str | Path,
    window: int | None = None,
    stride: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Masks and confidence maps for every image (pair) of a folder; see
    :func:`~ceec_lab.train.inference.predict_folder`. ``window`` and ``stride``
    default to the checkpoint config's ``predict`` section.

    Everything is checked before anything is written: the output folder (empty,
    unless ``overwrite``), the checkpoint, every image's header (readable, the
    bands the model was trained on, both dates of one size) and the window size.
    The outputs are built in a temporary folder and moved into ``out_dir`` at
    the end, so a failure half-way leaves no partial set of masks.

    Returns:
        The mask paths written (in ``out_dir``).
    """
    out_dir = check_output_folder(out_dir, overwrite, "--out")
    model, config = load_model(checkpoint, device)
    window = config.predict.window if window is None else window
    stride = config.predict.stride if stride is None else stride
    channels = band_count(config.data.bands)
    check_input_size(model, channels, (window, window), "--window", config.model.name)
    with atomic_folder(out_dir) as tmp:
        written = predict_folder(
            model,
            image1_dir,
            image2_dir,
            tmp,
            window,
            stride,
            config.predict.threshold,
            batch_size=batch_size,
            bands=config.data.bands,
            progress=progress,
        )
    return [out_dir / path.relative_to(tmp) for path in written]
