"""Experiment configuration: a YAML file becomes five checked dataclasses.

A config file has five sections (every key optional; defaults below)::

    model:                      # a model of ceec_lab.models.list_models()
      name: fc_siam_diff
      kwargs: {dropout: 0.2}    # passed to the model's factory
    data:
      kind: synthetic_change    # synthetic_change | synthetic_segmentation | folder
      size: 64
      n_train: 256
      n_val: 64
      batch_size: 8
    loss:                       # a loss of ceec_lab.losses.list_losses()
      name: ce
      kwargs: {}                # e.g. {weight: [1.0, 10.0]}: the change class weighted up
    train:
      num_epochs: 10
      lr: 1.0e-3
      schedule: null            # null | plateau | cosine | paper (evolving depth)
      out_dir: runs/fc_siam_diff
    predict:                    # ceec-lab predict on the trained checkpoint
      window: 256
      stride: null              # null: window / 2; the paper: 64

Command-line overrides use dotted keys: ``train.num_epochs=2 model.name=unet``;
the value is read as YAML (``2`` is an int, ``null`` is None, ``[1, 2]`` a list).

Every mistake is reported before any work starts, as a :class:`ConfigError`
naming the key (``data.batch_size``) or the file. Builders that turn a config
into a model, data and a trainer are in :mod:`ceec_lab.train.runs`.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA_KINDS = ("synthetic_change", "synthetic_segmentation", "folder")
SCHEDULES = (None, "plateau", "cosine", "paper")
AMP_CHOICES = (None, True, False, "bf16", "fp16")


class ConfigError(ValueError):
    """A configuration mistake; the message names the key or file at fault."""


@dataclass
class ModelConfig:
    name: str = "fc_siam_diff"  # one of ceec_lab.models.list_models()
    kwargs: dict[str, Any] = field(default_factory=dict)  # factory arguments


@dataclass
class DataConfig:
    kind: str = "synthetic_change"  # one of DATA_KINDS
    path: str | None = None  # folder kind: ROOT with A/ B/ label/ (or train|val|test/ with them)
    size: int = 64  # synthetic tile side in pixels
    patch_size: int | None = None  # folder kind: cut tiles into patches of this side
    patch_stride: int | None = None  # folder kind: step between patches (None: patch_size)
    n_train: int = 256  # synthetic training samples
    n_val: int = 64  # synthetic validation samples
    batch_size: int = 8
    difficulty: float | list[float] = 0.5  # synthetic nuisance in [0, 1], or [low, high] per pair
    style: str = "classic"  # synthetic_change: "classic" or "realistic" (LEVIR-CD's scale and look)
    seed: int = 0  # synthetic data set seed (validation uses seed + 1)
    cache: bool = False  # synthetic kinds: keep generated samples in memory for later epochs
    num_workers: int = 0  # DataLoader worker processes
    augment: bool = False  # change pairs: shared D4, per-date jitter, time swap, no-change pairs
    bands: int | list[int] = 3  # folder kind: bands per image, or indices to keep ([0, 1, 2])


@dataclass
class LossConfig:
    name: str = "ce"  # one of ceec_lab.losses.list_losses()
    kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {depth: 5}


@dataclass
class TrainConfig:
    num_epochs: int = 10
    lr: float = 1e-3  # Adam(0.9, 0.999), as in the paper
    grad_clip: float | None = None  # max global gradient norm
    amp: bool | str | None = None  # None: automatic (bf16/fp16 on CUDA, off on CPU)
    early_stopping_patience: int | None = None  # epochs without val-loss improvement
    out_dir: str = "runs/experiment"  # checkpoints, config.yaml, history.json
    schedule: str | None = None  # one of SCHEDULES; "paper" = evolving loss depth
    schedule_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {patience: 5}
    seed: int = 0
    device: str | None = None  # None: cuda, then mps, then cpu


@dataclass
class PredictConfig:
    window: int = 256  # sliding-window side; a multiple of the model's input_multiple
    stride: int | None = None  # window step; None: window // 2 (cheap on a CPU); the paper: 64
    threshold: float = 0.5  # change probability that counts as change


@dataclass
class ExperimentConfig:
    """The whole experiment: what to train, on what, with which loss, and how."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts (what checkpoints and ``config.yaml`` store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ExperimentConfig:
        """Build and check a config from nested dicts.

        Raises:
            ConfigError: unknown section or key, or a value of the wrong type or range.
        """
        _check_keys(raw, cls, "config")
        sections = {}
        for section in dataclasses.fields(cls):
            values = raw.get(section.name) or {}
            section_cls = typing.get_type_hints(cls)[section.name]
            _check_keys(values, section_cls, section.name)
            hints = typing.get_type_hints(section_cls)
            checked = {
                k: _checked_value(f"{section.name}.{k}", v, hints[k]) for k, v in values.items()
            }
            sections[section.name] = section_cls(**checked)
        config = cls(**sections)
        validate(config)
        return config


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Read a YAML config file and apply ``KEY=VALUE`` overrides.

    Raises:
        ConfigError: a missing or unreadable file, or any mistake in the config.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected sections (model, data, loss, train, predict), "
            f"got {type(raw).__name__}"
        )
    try:
        return ExperimentConfig.from_dict(apply_overrides(raw, overrides))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from error


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``raw`` with ``section.key=value`` (or ``section.kwargs.key=value``) set."""
    raw = copy.deepcopy(raw)
    for text in overrides:
        key, sep, value = text.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) < 2 or not all(parts):
            raise ConfigError(
                f"override {text!r}: expected section.key=value, e.g. train.num_epochs=2"
            )
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {part} is not a section")
        node[parts[-1]] = yaml.safe_load(value) if value.strip() else None
    return raw


def validate(config: ExperimentConfig) -> None:
    """Check names and ranges (types were checked by :meth:`ExperimentConfig.from_dict`)."""
    from ceec_lab.data.synthetic import check_difficulty, check_style
    from ceec_lab.losses import list_losses
    from ceec_lab.models import list_models

    _check_choice("model.name", config.model.name, list_models())
    _check_choice("loss.name", config.loss.name, list_losses())
    data, train = config.data, config.train
    _check_choice("data.kind", data.kind, DATA_KINDS)
    for key in ("size", "n_train", "n_val", "batch_size"):
        _check_at_least(f"data.{key}", getattr(data, key), 1)
    _check_at_least("data.num_workers", data.num_workers, 0)
    _check_at_least("data.patch_size", data.patch_size, 1)
    _check_at_least("data.patch_stride", data.patch_stride, 1)
    try:
        check_difficulty(data.difficulty, "data.difficulty")
        check_style(data.style, "data.style")
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if isinstance(data.bands, list) and not all(type(b) is int and b >= 0 for b in data.bands):
        raise ConfigError(f"data.bands: expected band indices >= 0, got {data.bands}")
    _check_at_least("data.bands", data.bands if isinstance(data.bands, int) else None, 1)
    if data.kind == "folder" and data.path is None:
        raise ConfigError("data.path is required when data.kind is 'folder'")
    _check_at_least("train.num_epochs", train.num_epochs, 1)
    _check_at_least("train.early_stopping_patience", train.early_stopping_patience, 1)
    if not train.lr > 0:
        raise ConfigError(f"train.lr must be > 0, got {train.lr}")
    if train.grad_clip is not None and not train.grad_clip > 0:
        raise ConfigError(f"train.grad_clip must be > 0 or null, got {train.grad_clip}")
    _check_choice("train.amp", train.amp, AMP_CHOICES)
    _check_choice("train.schedule", train.schedule, SCHEDULES)
    predict = config.predict
    _check_at_least("predict.window", predict.window, 1)
    _check_at_least("predict.stride", predict.stride, 1)
    if predict.stride is not None and predict.stride > predict.window:
        raise ConfigError(
            f"predict.stride must be <= predict.window={predict.window}, got {predict.stride}"
        )
    if not 0.0 < predict.threshold < 1.0:
        raise ConfigError(f"predict.threshold must be in (0, 1), got {predict.threshold}")


def check_data_path(data: DataConfig) -> None:
    """Check that a folder data set exists (kept apart from :func:`validate` so that a
    checkpoint's config still loads for prediction where its training data is absent)."""
    if data.kind == "folder" and not Path(data.path).is_dir():
        raise ConfigError(f"data.path: folder not found: {data.path}")


def _check_keys(values: Any, cls: type, where: str) -> None:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {type(values).__name__}")
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        prefix = "" if where == "config" else f"{where}."
        hint = " (model/loss arguments go under kwargs)" if "kwargs" in known else ""
        raise ConfigError(
            f"unknown key {prefix}{unknown[0]}; valid keys here: {', '.join(known)}{hint}"
        )


def _checked_value(key: str, value: Any, hint: Any) -> Any:
    """``value`` if it fits the type ``hint``.

    Numeric strings become floats where a float is expected: YAML 1.1 reads
    ``1e-3`` (no dot) as text.
    """
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if _fits(value, option):
            return value
    if float in options and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    names = " or ".join(
        "null" if o is type(None) else getattr(o, "__name__", str(o)) for o in options
    )
    raise ConfigError(f"{key}: expected {names}, got {type(value).__name__} {value!r}")


def _fits(value: Any, option: Any) -> bool:
    if option is type(None):
        return value is None
    if option is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if option is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typing.get_origin(option) or option)


def _check_choice(key: str, value: Any, choices: Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        shown = ", ".join("null" if c is None else str(c) for c in choices)
        raise ConfigError(f"{key}: unknown value {value!r}; choose one of: {shown}")


def _check_at_least(key: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        raise ConfigError(f"{key} must be >= {low}, got {value}")
