"""Callbacks: how plots, schedules and checkpoints hook into the training loop.

The :class:`~ceec_lab.train.Trainer` calls, on every callback that has them,

* ``on_train_start(trainer)``
* ``on_epoch_start(trainer, epoch)``
* ``on_step_end(trainer, step, logs)`` - ``logs``: ``step``, ``epoch``, ``loss``, ``lr``
* ``on_epoch_end(trainer, epoch, logs)`` - ``logs``: the epoch's history record
* ``on_train_end(trainer)``

Any object with some of these methods works (duck typing); subclassing
:class:`Callback` just documents the intent. Callbacks run in ascending
``order`` (0 unless set; equal orders keep the list order): :class:`Checkpoint`
has a high one, so it saves what the others changed in the same epoch.

A callback reads the trainer's attributes (``model``, ``optimizer``,
``loss_fn``, ``history``, ``epoch``, and during :meth:`~ceec_lab.train.Trainer.fit`
its ``train_loader`` and ``val_loader``) and stops training by setting
``trainer.stop_training = True``: set in ``on_step_end`` it ends the epoch early
(validation and ``on_epoch_end`` still run), in ``on_epoch_end`` it ends the run.
Callbacks with state that a resumed run needs (a best value, a patience
counter) expose ``state_dict()``/``load_state_dict()``; checkpoints store it
(:func:`~ceec_lab.train.checkpoints.training_state`).

Epochs are numbered from 1.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceec_lab.train.checkpoints import save_checkpoint

if TYPE_CHECKING:
    from ceec_lab.train.history import History
    from ceec_lab.train.trainer import Trainer

logger = logging.getLogger(__name__)


class Callback:
    """Base class: every hook does nothing. Override the ones you need.

    Attributes:
        order: callbacks with a lower order run first.
    """

    order: int = 0

    def on_train_start(self, trainer: Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_train_end(self, trainer: Trainer) -> None:
        pass


class _Monitor:
    """Tracks the best value of one logged quantity (``mode`` ``"min"`` or ``"max"``)."""

    def __init__(self, key: str, mode: str, min_delta: float = 0.0) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.key, self.mode, self.min_delta = key, mode, min_delta
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs: dict[str, Any]) -> float:
        if self.key not in logs:
            raise KeyError(f"monitored key {self.key!r} is not in the epoch logs {sorted(logs)}")
        return float(logs[self.key])

    def update(self, value: float) -> bool:
        """Record ``value``; return whether it beat the best by more than ``min_delta``."""
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best = value
        return improved


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs in a row.

    Args:
        monitor: an epoch-log key, e.g. ``"val_loss"`` or ``"val_f1"``.
        patience: epochs without improvement to tolerate.
        mode: ``"min"`` (losses) or ``"max"`` (scores such as F1).
        min_delta: smallest change that counts as an improvement.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        mode: str = "min",
        min_delta: float = 0.0,
    ) -> None:
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        self.monitor = _Monitor(monitor, mode, min_delta)
        self.patience = patience
        self.wait = 0

    def on_train_start(self, trainer: Trainer) -> None:
        if self.monitor.key.startswith("val_") and trainer.val_loader is None:
            raise ValueError(f"EarlyStopping watches {self.monitor.key}: pass a val_loader to fit")

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if self.monitor.update(self.monitor.value(logs)):
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            logger.info(
                "early stopping at epoch %d: %s has not improved on %.5g for %d epochs",
                epoch,
                self.monitor.key,
                self.monitor.best,
                self.patience,
            )
            trainer.stop_training = True

    def state_dict(self) -> dict[str, float]:
        return {"best": self.monitor.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.monitor.best, self.wait = state["best"], int(state["wait"])


class Checkpoint(Callback):
    """Save ``last.pt`` after every epoch and ``best.pt`` when ``monitor`` improves.

    Each file holds the whole run (:func:`~ceec_lab.train.checkpoints.training_state`);
    continue it with ``trainer.fit(..., resume=checkpoint.last_path)``. Its
    ``order`` puts it after the other callbacks, so a checkpoint holds what they
    changed at the end of the epoch (the loss depth and learning rate of an
    evolving schedule, an early-stopping counter).

    Args:
        dirpath: folder for the ``.pt`` files.
        monitor: epoch-log key deciding the best model; epochs without it (no
            validation loader) only update ``last.pt``.
        mode: ``"min"`` or ``"max"``.
        config: a plain dict stored in every file (the CLI stores its experiment
            config there, so ``evaluate``/``predict`` can rebuild the model).
    """

    order = 100

    def __init__(
        self,
        dirpath: str | Path,
        monitor: str = "val_loss",
        mode: str = "min",
        config: dict | None = None,
    ) -> None:
        self.dirpath = Path(dirpath)
        self.monitor = _Monitor(monitor, mode)
        self.config = config

    @property
    def last_path(self) -> Path:
        return self.dirpath / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.dirpath / "best.pt"

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        # Update the best value first, so that last.pt stores the new one.
        improved = self.monitor.key in logs and self.monitor.update(self.monitor.value(logs))
        if improved:
            save_checkpoint(trainer, self.best_path, self.config)
        # Written last, so it is the trainer's last_checkpoint, which its errors name.
        save_checkpoint(trainer, self.last_path, self.config)

    def state_dict(self) -> dict[str, float]:
        return {"best": self.monitor.best}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.monitor.best = state["best"]


class LivePlot(Callback):
    """Loss and metric curves that redraw in place in a notebook after every epoch.

    Left panel: the loss of every step (faint) and the train/validation loss of
    every epoch. Right panel: the validation metrics. The figure is shown once
    with ``IPython.display`` and then updated through its display handle, so the
    notebook cell does not fill up with copies.

    Args:
        metrics: epoch-log keys for the right panel; ``None`` shows every
            ``val_*`` key except ``val_loss``.
        figsize: matplotlib figure size in inches.
    """

    def __init__(
        self, metrics: Sequence[str] | None = None, figsize: tuple[float, float] = (11, 3.5)
    ) -> None:
        self.metrics = None if metrics is None else list(metrics)
        self.figsize = figsize
        self.fig = None
        self._handle = None

    def on_train_start(self, trainer: Trainer) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        self.fig, _ = plt.subplots(1, 2, figsize=self.figsize)
        self._handle = display(self.fig, display_id=True)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if self.fig is None:
            self.on_train_start(trainer)
        self.draw(trainer.history)
        if self._handle is not None:
            self._handle.update(self.fig)

    def on_train_end(self, trainer: Trainer) -> None:
        import matplotlib.pyplot as plt

        # Closing keeps the inline backend from drawing the figure a second time.
        if self.fig is not None:
            plt.close(self.fig)

    def metric_keys(self, history: History) -> list[str]:
        """The keys drawn on the metric panel."""
        if self.metrics is not None:
            return self.metrics
        keys = {k for record in history.epochs for k in record}
        return sorted(k for k in keys if k.startswith("val_") and k != "val_loss")

    def draw(self, history: History) -> None:
        """Redraw both panels from ``history``."""
        loss_ax, metric_ax = self.fig.axes
        loss_ax.clear()
        metric_ax.clear()
        step_x, step_loss = _fractional_epochs(history.steps)
        loss_ax.plot(step_x, step_loss, color="tab:blue", alpha=0.3, lw=0.8, label="step loss")
        epochs = history.column("epoch")
        for key, color in (("train_loss", "tab:blue"), ("val_loss", "tab:orange")):
            _plot_column(loss_ax, epochs, history.column(key), key, color=color)
        for key in self.metric_keys(history):
            _plot_column(metric_ax, epochs, history.column(key), key)
        loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
        metric_ax.set(xlabel="epoch", title="validation metrics")
        for ax in (loss_ax, metric_ax):
            if ax.lines:
                ax.legend(loc="best", fontsize="small")
        self.fig.tight_layout()


def _plot_column(ax, epochs: list, values: list, label: str, **kwargs) -> None:
    points = [(e, v) for e, v in zip(epochs, values, strict=True) if v is not None]
    if points:
        x, y = zip(*points, strict=True)
        ax.plot(x, y, marker="o", ms=3, label=label, **kwargs)


def _fractional_epochs(steps: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Place step ``k`` of ``n`` in epoch ``e`` at ``e - 1 + k / n`` on the epoch axis."""
    per_epoch: dict[int, int] = {}
    for record in steps:
        per_epoch[record["epoch"]] = per_epoch.get(record["epoch"], 0) + 1
    seen: dict[int, int] = {}
    x = []
    for record in steps:
        epoch = record["epoch"]
        seen[epoch] = seen.get(epoch, 0) + 1
        x.append(epoch - 1 + seen[epoch] / per_epoch[epoch])
    return x, [record["loss"] for record in steps]
