"""EarlyStopping, Checkpoint and LivePlot on their own and inside a fit."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from torch import nn
from torch.utils.data import DataLoader

from ceec_lab.files import load_torch
from ceec_lab.train import Callback, Checkpoint, EarlyStopping, History, LivePlot


def feed(callback, values: list[float], key: str = "val_f1") -> list[bool]:
    """Epoch-end calls with ``values``; returns ``stop_training`` after each."""
    trainer = SimpleNamespace(stop_training=False)
    stops = []
    for epoch, value in enumerate(values, start=1):
        callback.on_epoch_end(trainer, epoch, {key: value})
        stops.append(trainer.stop_training)
    return stops


def test_early_stopping_max_mode_with_min_delta():
    stopper = EarlyStopping("val_f1", patience=2, mode="max", min_delta=0.01)
    # 0.505 is not 0.01 better than 0.5, so it counts as no improvement.
    assert feed(stopper, [0.5, 0.505, 0.6, 0.6, 0.605]) == [False, False, False, False, True]
    assert stopper.state_dict() == {"best": 0.6, "wait": 2}


def test_early_stopping_state_round_trip():
    stopper = EarlyStopping(patience=3)
    stopper.load_state_dict({"best": 0.2, "wait": 2})
    assert feed(stopper, [0.3], key="val_loss") == [True]


def test_early_stopping_names_a_missing_key():
    with pytest.raises(KeyError, match="'val_iou' is not in the epoch logs"):
        feed(EarlyStopping("val_iou"), [0.1], key="val_f1")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"patience": 0}, "patience"), ({"mode": "up"}, "mode"), ({"min_delta": -1.0}, "min_delta")],
)
def test_early_stopping_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


def test_checkpoint_writes_best_only_on_improvement(make_trainer, tmp_path: Path):
    checkpoint = Checkpoint(tmp_path, monitor="val_f1", mode="max")
    trainer = make_trainer(callbacks=[checkpoint])
    for epoch, f1 in enumerate([0.3, 0.5, 0.4], start=1):
        trainer.epoch = epoch  # as the trainer sets it before on_epoch_end
        checkpoint.on_epoch_end(trainer, epoch, {"val_f1": f1})
        assert trainer.last_checkpoint == checkpoint.last_path
    best, last = load_torch(checkpoint.best_path), load_torch(checkpoint.last_path)
    assert (best["epoch"], last["epoch"]) == (2, 3)
    assert best["callbacks"] == last["callbacks"] == {"0:Checkpoint": {"best": 0.5}}


def test_checkpoint_without_its_monitored_key_writes_only_last(tiny, make_trainer, tmp_path):
    checkpoint = Checkpoint(tmp_path)  # val_loss, but no validation loader
    make_trainer(callbacks=[checkpoint]).fit(DataLoader(tiny.PairDataset(4), batch_size=4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_callbacks_run_in_ascending_order(make_trainer, change_loaders):
    calls = []

    class Named(Callback):
        def __init__(self, name: str, order: int = 0) -> None:
            self.name, self.order = name, order

        def on_epoch_end(self, trainer, epoch, logs) -> None:
            calls.append(self.name)

    class Plain:  # no order attribute: counts as 0
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            calls.append("plain")

    callbacks = [Named("late", 5), Named("a"), Plain(), Named("early", -1), Named("b")]
    make_trainer(callbacks=callbacks).fit(change_loaders[0])
    assert calls == ["early", "a", "plain", "b", "late"]


def test_early_stopping_on_the_training_loss_needs_no_validation(make_trainer, change_loaders):
    class Stalled(nn.Module):
        expects = "logits"

        def forward(self, logits, mask):
            return logits.sum() * 0 + 1.0  # never improves

    stopper = EarlyStopping("train_loss", patience=2)
    history = make_trainer(loss_fn=Stalled(), callbacks=[stopper]).fit(
        change_loaders[0], num_epochs=10
    )
    assert len(history.epochs) == 3


def test_checkpoint_monitor_on_f1_inside_fit(make_trainer, change_loaders, tmp_path: Path):
    checkpoint = Checkpoint(tmp_path, monitor="val_accuracy", mode="max")
    trainer = make_trainer(callbacks=[checkpoint], lr=0.05)
    history = trainer.fit(*change_loaders, num_epochs=3)
    best_epoch = max(history.epochs, key=lambda e: e["val_accuracy"])["epoch"]
    assert load_torch(tmp_path / "best.pt")["epoch"] == best_epoch
    assert load_torch(tmp_path / "last.pt")["epoch"] == 3


def test_live_plot_draws_the_history(make_trainer, change_loaders):
    plot = LivePlot()
    make_trainer(callbacks=[plot]).fit(*change_loaders, num_epochs=2)
    loss_ax, metric_ax = plot.fig.axes
    labels = [line.get_label() for line in loss_ax.lines]
    assert labels == ["step loss", "train_loss", "val_loss"]
    assert list(loss_ax.lines[0].get_xdata()) == [0.5, 1.0, 1.5, 2.0]  # 2 steps per epoch
    metric_labels = [line.get_label() for line in metric_ax.lines]
    assert "val_f1" in metric_labels and "val_loss" not in metric_labels
    assert list(metric_ax.lines[0].get_xdata()) == [1, 2]


def test_live_plot_chosen_metrics_and_missing_values():
    history = History(epochs=[{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.5}])
    history.epochs[1]["val_f1"] = 0.7
    plot = LivePlot(metrics=["val_f1"])
    plot.on_train_start(None)
    plot.draw(history)
    line = plot.fig.axes[1].lines[0]
    assert list(line.get_xdata()) == [2] and list(line.get_ydata()) == [0.7]
