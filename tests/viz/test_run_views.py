"""Runs side by side: histories per epoch and metrics across nuisance levels."""

from __future__ import annotations

from types import SimpleNamespace

from ceec_lab.train import History
from ceec_lab.viz import plot_histories, plot_sweep


def _run(name: str, epochs: list[dict]) -> SimpleNamespace:
    """What the plot reads of a RunResult: its name and history."""
    return SimpleNamespace(name=name, history=History(epochs=epochs))


def test_histories_one_panel_per_key_one_line_per_trained_run() -> None:
    trained = _run("fc_ef", [{"epoch": 1, "val_loss": 0.9}, {"epoch": 2, "val_loss": 0.5}])
    shipped = _run("shipped", [])  # no history: no line
    fig = plot_histories([trained, shipped], ["val_loss", "val_f1"])
    loss_panel, f1_panel = fig.axes[:2]
    assert [line.get_label() for line in loss_panel.lines] == ["fc_ef"]
    assert list(loss_panel.lines[0].get_ydata()) == [0.9, 0.5]
    assert loss_panel.get_title() == "val_loss" and not f1_panel.lines  # no val_f1 recorded


def test_sweep_one_line_per_model_across_difficulties() -> None:
    rows = [
        {"model": "otsu", "difficulty": 0.0, "f1": 0.8, "iou": 0.7},
        {"model": "fc_ef", "difficulty": 0.0, "f1": 0.6, "iou": 0.4},
        {"model": "otsu", "difficulty": 1.0, "f1": 0.2, "iou": 0.1},
    ]
    f1_panel = plot_sweep(rows, ["f1", "iou"]).axes[0]
    assert [line.get_label() for line in f1_panel.lines] == ["otsu", "fc_ef"]
    assert list(f1_panel.lines[0].get_xdata()) == [0.0, 1.0]
    assert list(f1_panel.lines[0].get_ydata()) == [0.8, 0.2]
    assert f1_panel.get_ylim() == (0, 1)
