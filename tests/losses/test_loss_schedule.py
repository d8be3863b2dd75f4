"""EvolvingDepth: stages at milestones or on a plateau, applied to a loss and an optimizer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from ceec_lab.losses import SCHEDULE_PRESETS, EvolvingDepth, FractalTanimotoLoss, Stage, StageChange


def _trainer(loss_fn=None):
    weight = torch.nn.Parameter(torch.zeros(1))
    bias = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([{"params": [weight]}, {"params": [bias], "lr": 0.5}], lr=0.1)
    return SimpleNamespace(loss_fn=loss_fn or FractalTanimotoLoss(), optimizer=optimizer, epoch=0)


def _state(trainer):
    return trainer.loss_fn.depth, [group["lr"] for group in trainer.optimizer.param_groups]


def test_paper_preset():
    assert SCHEDULE_PRESETS["paper"] == (Stage(1e-3, 0), Stage(1e-4, 10), Stage(1e-5, 20))
    schedule = EvolvingDepth.paper(patience=3)
    assert schedule.stages == list(SCHEDULE_PRESETS["paper"])
    assert EvolvingDepth.paper(fourth_stage=True, patience=3).stages[-1].loss_depth == 30
    assert EvolvingDepth.from_preset("paper", milestones=[2, 4]).milestones == [2, 4]


def test_milestones_change_depth_and_every_lr():
    trainer = _trainer()
    schedule = EvolvingDepth.paper(milestones=[2, 4])
    schedule.on_train_start(trainer)
    assert _state(trainer) == (0, [1e-3, 1e-3])
    seen = []
    for epoch in range(6):
        schedule.on_epoch_end(trainer, epoch, {"train_loss": 0.5})
        seen.append(_state(trainer))
    assert seen == [(0, [1e-3] * 2), (10, [1e-4] * 2), (10, [1e-4] * 2)] + [(20, [1e-5] * 2)] * 3
    assert schedule.events == [
        StageChange(0, 1e-3, 0),
        StageChange(2, 1e-4, 10),
        StageChange(4, 1e-5, 20),
    ]


def test_plateau_switches_after_patience_and_forgets_the_best():
    trainer = _trainer()
    schedule = EvolvingDepth.paper(patience=2, min_delta=0.01)
    schedule.on_train_start(trainer)
    # epochs: improve, improve, too small a gain, no gain -> switch after the 4th epoch
    for epoch, val_loss in enumerate([0.5, 0.4, 0.395, 0.41]):
        schedule.on_epoch_end(trainer, epoch, {"train_loss": 9.0, "val_loss": val_loss})
    assert schedule.stage_index == 1 and trainer.loss_fn.depth == 10
    assert schedule.events[-1] == StageChange(4, 1e-4, 10)
    # The deeper loss is larger; that must not count as "no improvement".
    schedule.on_epoch_end(trainer, 4, {"val_loss": 0.7})
    schedule.on_epoch_end(trainer, 5, {"val_loss": 0.69})
    assert schedule.stage_index == 1
    schedule.on_epoch_end(trainer, 6, {"val_loss": 0.70})
    schedule.on_epoch_end(trainer, 7, {"val_loss": 0.70})
    assert schedule.stage_index == 2 and _state(trainer) == (20, [1e-5, 1e-5])
    for epoch in range(8, 12):  # the last stage stays
        schedule.on_epoch_end(trainer, epoch, {"val_loss": 1.0})
    assert schedule.stage_index == 2 and len(schedule.events) == 3


def test_plateau_falls_back_to_train_loss():
    schedule = EvolvingDepth([(1e-3, 0), (1e-4, 3)], patience=1)
    trainer = _trainer()
    schedule.on_train_start(trainer)
    schedule.on_epoch_end(trainer, 0, {"train_loss": 1.0})
    schedule.on_epoch_end(trainer, 1, {"train_loss": 1.0})
    assert trainer.loss_fn.depth == 3


def test_on_train_start_resets():
    trainer = _trainer()
    schedule = EvolvingDepth.paper(milestones=[1, 2])
    schedule.on_train_start(trainer)
    schedule.on_epoch_end(trainer, 0, {})
    schedule.on_train_start(trainer)
    assert schedule.stage_index == 0 and schedule.events == [StageChange(0, 1e-3, 0)]
    assert _state(trainer) == (0, [1e-3, 1e-3])
    assert "milestones=[1, 2]" in repr(schedule)


def test_resumed_run_keeps_its_stage():
    trainer = _trainer()
    schedule = EvolvingDepth.paper(milestones=[1, 3])
    schedule.on_train_start(trainer)
    schedule.on_epoch_end(trainer, 1, {"train_loss": 1.0})
    state = schedule.state_dict()
    resumed, fresh_trainer = EvolvingDepth.paper(milestones=[1, 3]), _trainer()
    resumed.load_state_dict(state)
    fresh_trainer.epoch = 1  # the trainer restored its own epoch count from the checkpoint
    resumed.on_train_start(fresh_trainer)
    assert _state(fresh_trainer) == (10, [1e-4, 1e-4]) and resumed.events == schedule.events
    resumed.on_epoch_end(fresh_trainer, 2, {"train_loss": 1.0})
    resumed.on_epoch_end(fresh_trainer, 3, {"train_loss": 1.0})
    assert _state(fresh_trainer) == (20, [1e-5, 1e-5])


def test_needs_a_loss_with_depth():
    with pytest.raises(TypeError, match=r"CrossEntropyLoss.*no depth attribute"):
        EvolvingDepth.paper(patience=2).on_train_start(_trainer(torch.nn.CrossEntropyLoss()))


def test_patience_needs_a_value():
    with pytest.raises(ValueError, match="needs the monitored loss"):
        EvolvingDepth.paper(patience=2).step(None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of milestones"),
        ({"milestones": [2, 4], "patience": 2}, "exactly one of milestones"),
        ({"milestones": [2]}, "one epoch per stage change"),
        ({"milestones": [4, 2]}, "increasing positive"),
        ({"patience": 0}, "positive integer"),
        ({"stages": [], "patience": 1}, "at least one"),
        ({"stages": [(0.0, 0)], "patience": 1}, r"stages\[0\]: lr must be > 0"),
        ({"stages": [(1e-3, 0), (1e-4, 2.5)], "patience": 1}, r"stages\[1\]: loss_depth"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EvolvingDepth(**kwargs)


def test_unknown_preset():
    with pytest.raises(ValueError, match=r"unknown preset 'fast'.*paper"):
        EvolvingDepth.from_preset("fast", patience=1)


def test_drives_the_kit_trainer():
    from torch.utils.data import DataLoader

    from ceec_lab.train import Trainer

    model = torch.nn.Conv2d(3, 2, kernel_size=1)
    model.task, model.output = "segmentation", "logits"
    samples = [{"image": torch.rand(3, 8, 8), "mask": torch.randint(0, 2, (8, 8))}] * 4
    loader = DataLoader(samples, batch_size=2)
    schedule = EvolvingDepth.paper(milestones=[1, 2])
    trainer = Trainer(
        model, FractalTanimotoLoss(), num_classes=2, callbacks=[schedule], progress=False
    )
    history = trainer.fit(loader, loader, num_epochs=4)
    assert history.column("loss_depth") == [0, 10, 20, 20]
    assert history.column("lr") == pytest.approx([1e-3, 1e-4, 1e-5, 1e-5])
    assert [event.epoch for event in schedule.events] == [0, 1, 2]
