"""Trainer checkpoints on their own: what a file holds, and a resume that restores all of it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ceec_lab.data import ChangeAugmentation
from ceec_lab.files import load_torch, save_torch
from ceec_lab.losses import EvolvingDepth, FractalTanimotoLoss
from ceec_lab.train import Checkpoint, EarlyStopping
from ceec_lab.train.checkpoints import load_checkpoint, save_checkpoint, training_state

#: The keys of a trainer checkpoint. Files written before the Checkpoint callback
#: took over the saving have exactly these; changing them breaks old runs' resumes.
CHECKPOINT_KEYS = [
    "augmentation",
    "callbacks",
    "config",
    "epoch",
    "history",
    "loss_depth",
    "model",
    "num_classes",
    "optimizer",
    "output",
    "rng",
    "scaler",
    "scheduler",
    "step",
    "task",
]


def halve(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.StepLR:
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)


def draws(augmentation: ChangeAugmentation) -> list[float]:
    """One number from every generator a checkpoint restores."""
    return [torch.rand(()).item(), random.random(), np.random.rand(), augmentation.rng.random()]  # noqa: NPY002


def test_the_file_format_and_the_callback_keys(tiny, make_trainer, change_loaders):
    # The callbacks of `ceec-lab train --config ...` with the paper's schedule.
    callbacks = [EvolvingDepth.paper(milestones=[1, 2]), EarlyStopping(), Checkpoint(".")]
    trainer = make_trainer(tiny.ChangeNet(), FractalTanimotoLoss(), callbacks=callbacks)
    state = training_state(trainer, config={"model": {"name": "x"}})
    assert sorted(state) == CHECKPOINT_KEYS
    assert list(state["callbacks"]) == ["0:EvolvingDepth", "1:EarlyStopping", "2:Checkpoint"]
    assert state["config"] == {"model": {"name": "x"}} and state["augmentation"] == []
    assert (state["task"], state["output"], state["num_classes"]) == ("change", "logits", 2)


def test_resume_restores_weights_optimiser_schedule_history_and_every_generator(
    tiny, make_trainer, change_loaders, tmp_path: Path
):
    train, val = change_loaders
    train.dataset.transform = ChangeAugmentation(seed=1)
    saved = make_trainer(lr=0.1, scheduler=halve, callbacks=[EarlyStopping(patience=5)])
    saved.fit(train, val, num_epochs=2)
    path = save_checkpoint(saved, tmp_path / "run.pt", config={"note": "kept"})
    expected = draws(train.dataset.transform)

    train.dataset.transform = ChangeAugmentation(seed=2)  # another generator state
    stopper = EarlyStopping(patience=5)
    resumed = make_trainer(tiny.ChangeNet(), lr=0.1, scheduler=halve, callbacks=[stopper])
    resumed.fit(train, val, num_epochs=2, resume=path)  # 2 epochs done: loads, trains nothing

    assert draws(train.dataset.transform) == expected
    for key, value in saved.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)
    for name in ("exp_avg", "exp_avg_sq", "step"):
        torch.testing.assert_close(
            resumed.optimizer.state_dict()["state"][0][name],
            saved.optimizer.state_dict()["state"][0][name],
        )
    assert resumed.lr == saved.lr == pytest.approx(0.025)  # halved after epochs 1 and 2
    assert resumed.scheduler.state_dict() == saved.scheduler.state_dict()
    assert resumed.history == saved.history and (resumed.epoch, resumed.step) == (2, 4)
    assert stopper.state_dict() == saved.callbacks[0].state_dict()
    assert resumed.last_checkpoint == path
    assert load_torch(path)["config"] == {"note": "kept"}


def test_the_loss_depth_is_restored(make_trainer, change_loaders, tmp_path: Path):
    deep = FractalTanimotoLoss()
    deep.depth = 7
    path = save_checkpoint(make_trainer(loss_fn=deep), tmp_path / "deep.pt")
    fresh = make_trainer(loss_fn=FractalTanimotoLoss())
    load_checkpoint(fresh, path)
    assert fresh.loss_fn.depth == 7


def test_nan_weights_are_never_written(make_trainer, tmp_path: Path):
    trainer = make_trainer()
    with torch.no_grad():
        trainer.model.conv.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="NaN/inf weights"):
        save_checkpoint(trainer, tmp_path / "broken.pt")
    assert not (tmp_path / "broken.pt").exists() and trainer.last_checkpoint is None


def test_a_foreign_file_or_another_model_is_named(tiny, make_trainer, tmp_path: Path):
    save_torch({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"other\.pt: not a training checkpoint"):
        load_checkpoint(make_trainer(), tmp_path / "other.pt")
    seg = save_checkpoint(make_trainer(tiny.SegNet(3), num_classes=3), tmp_path / "seg.pt")
    with pytest.raises(ValueError, match=r"seg\.pt: does not fit this model"):
        load_checkpoint(make_trainer(), seg)
