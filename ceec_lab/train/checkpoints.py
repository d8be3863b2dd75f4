"""One reader for every checkpoint ``evaluate`` and ``predict`` accept.

Two kinds of file hold a trained model:

* a trainer checkpoint (``runs/NAME/best.pt``, ``last.pt``): the weights under
  ``"model"`` and the whole experiment config under ``"config"``;
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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceec_lab.files import load_torch
from ceec_lab.train.config import ConfigError, ExperimentConfig


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
