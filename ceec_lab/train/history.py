"""What a training run remembers: one record per optimisation step and per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """Per-step and per-epoch records of a run, returned by :meth:`Trainer.fit`.

    Attributes:
        steps: one dict per optimisation step: ``step``, ``epoch``, ``loss``, ``lr``.
        epochs: one dict per epoch: ``epoch``, ``train_loss``, ``lr`` (the rate used
            during the epoch), ``loss_depth`` (when the loss has a fractal depth)
            and, with a validation loader, ``val_loss`` plus every validation
            metric prefixed ``val_`` (``val_f1``, ``val_iou``, ``val_miou``, ...).
    """

    steps: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)

    def column(self, key: str) -> list[Any]:
        """The values of ``key`` over the epochs (``None`` where an epoch lacks it)."""
        return [record.get(key) for record in self.epochs]

    def state_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {"steps": [dict(s) for s in self.steps], "epochs": [dict(e) for e in self.epochs]}

    def load_state_dict(self, state: dict[str, list[dict[str, Any]]]) -> None:
        self.steps = [dict(s) for s in state["steps"]]
        self.epochs = [dict(e) for e in state["epochs"]]
