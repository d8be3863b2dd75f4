"""In a notebook no progress bar stays on screen: a saved widget bar reopens as an error."""

from __future__ import annotations

from typing import ClassVar

import pytest
from tqdm.std import tqdm as text_tqdm

from ceec_lab.train import trainer as trainer_module


class RecordingBar(text_tqdm):
    """A text bar that remembers how every bar was made."""

    made: ClassVar[list[dict]] = []

    def __init__(self, *args, **kwargs) -> None:
        RecordingBar.made.append(kwargs)
        super().__init__(*args, **kwargs)


@pytest.fixture
def bars(monkeypatch) -> list[dict]:
    RecordingBar.made = []
    monkeypatch.setattr(trainer_module, "tqdm", RecordingBar)
    return RecordingBar.made


@pytest.mark.parametrize("widget_bars", [True, False])
def test_only_a_terminal_keeps_the_overall_bar(
    bars, monkeypatch, capsys, make_trainer, change_loaders, widget_bars
) -> None:
    monkeypatch.setattr(trainer_module, "WIDGET_BARS", widget_bars)
    train, val = change_loaders
    make_trainer(progress=True).fit(train, val, num_epochs=2)
    leave = {kwargs["desc"]: kwargs.get("leave", True) for kwargs in bars}
    assert set(leave) == {"epochs", "epoch 1", "epoch 2", "evaluate"}
    assert leave == {desc: desc == "epochs" and not widget_bars for desc in leave}
    printed = capsys.readouterr().out
    # in a notebook the overall bar is printed as text, which a saved notebook keeps
    assert ("epochs: 100%" in printed and "2/2" in printed) == widget_bars


def test_an_early_stop_closes_the_bar_as_finished(
    bars, monkeypatch, capsys, make_trainer, change_loaders
) -> None:
    monkeypatch.setattr(trainer_module, "WIDGET_BARS", True)

    class StopAfterOne:
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            trainer.stop_training = True

    train, val = change_loaders
    make_trainer(progress=True, callbacks=[StopAfterOne()]).fit(train, val, num_epochs=5)
    # a widget bar closed short of its total turns red and stays on screen
    assert "epochs: 100%" in capsys.readouterr().out
