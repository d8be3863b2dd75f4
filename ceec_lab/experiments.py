"""Small, repeatable experiments shared by the notebooks and the benchmarks.

A notebook cell that compares five models should read like the comparison,
not like a training loop: :func:`train_model` builds the loaders, trains with
the :class:`~ceec_lab.train.Trainer` and times it; :func:`results_table` and
:func:`plot_histories` turn several runs into a table and a figure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ceec_lab.train import History, Trainer


@dataclass
class RunResult:
    """One trained model: its trainer, history, final validation metrics and wall time."""

    name: str
    trainer: Trainer
    history: History
    metrics: dict[str, float]
    seconds: float

    @property
    def model(self) -> nn.Module:
        return self.trainer.model


def make_loaders(
    train_set: Dataset, val_set: Dataset | None, batch_size: int, seed: int = 0
) -> tuple[DataLoader, DataLoader | None]:
    """Shuffled training loader (whole batches only: BatchNorm needs > 1 sample) and
    an ordered validation loader."""
    generator = torch.Generator().manual_seed(seed)
    drop_last = len(train_set) > batch_size
    train_loader = DataLoader(
        train_set, batch_size, shuffle=True, drop_last=drop_last, generator=generator
    )
    val_loader = None if val_set is None else DataLoader(val_set, batch_size)
    return train_loader, val_loader


def train_model(
    name: str,
    model: nn.Module,
    loss_fn: nn.Module,
    train_set: Dataset,
    val_set: Dataset | None,
    num_epochs: int,
    batch_size: int = 8,
    seed: int = 0,
    progress: bool = True,
    **trainer_kwargs: Any,
) -> RunResult:
    """Train ``model`` on ``train_set`` and evaluate it on ``val_set`` after every epoch.

    Args:
        name: label of the run in tables and legends.
        model, loss_fn: a kit model and a loss (see :class:`~ceec_lab.train.Trainer`).
        train_set, val_set: datasets of dict samples.
        num_epochs, batch_size, seed: the usual.
        progress: tqdm progress bars.
        **trainer_kwargs: passed on to :class:`~ceec_lab.train.Trainer` (``lr``,
            ``callbacks``, ``num_classes``, ``device``, ``amp`` ...).
    """
    train_loader, val_loader = make_loaders(train_set, val_set, batch_size, seed)
    trainer = Trainer(model, loss_fn, seed=seed, progress=progress, **trainer_kwargs)
    start = time.perf_counter()
    history = trainer.fit(train_loader, val_loader, num_epochs=num_epochs)
    seconds = time.perf_counter() - start
    last = history.epochs[-1] if history.epochs else {}
    metrics = {k.removeprefix("val_"): v for k, v in last.items() if k.startswith("val_")}
    return RunResult(name, trainer, history, metrics, seconds)


def results_table(results: Iterable[RunResult], keys: Sequence[str], percent: bool = True) -> str:
    """A Markdown table of the final validation metrics ``keys`` and the wall time.

    Display it in a notebook with ``IPython.display.Markdown(results_table(...))``.
    """
    header = "| model | " + " | ".join(keys) + " | time (s) |"
    rule = "|---|" + "---:|" * (len(keys) + 1)
    rows = []
    for result in results:
        values = [result.metrics.get(k) for k in keys]
        cells = ["–" if v is None else f"{100 * v:.1f}" if percent else f"{v:.4f}" for v in values]
        rows.append(f"| {result.name} | " + " | ".join(cells) + f" | {result.seconds:.1f} |")
    return "\n".join([header, rule, *rows])


def plot_histories(results: Iterable[RunResult], keys: Sequence[str] = ("val_loss",)) -> Figure:
    """One panel per history key (e.g. ``"val_loss"``, ``"val_f1"``), one line per run."""
    results = list(results)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for result in results:
            points = [(e["epoch"], e[key]) for e in result.history.epochs if e.get(key) is not None]
            if points:
                epochs, values = zip(*points, strict=True)
                ax.plot(epochs, values, "o-", ms=3, label=result.name)
        ax.set(xlabel="epoch", title=key)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
