"""Evolving depth: raise the fractal Tanimoto depth whenever the learning rate drops.

The CEECNet paper (§4, "evolving loss") trains with the plain Tanimoto
(depth 0) until the validation loss stops improving, then drops the learning
rate and switches to a deeper, steeper loss, "shifting gears":
(lr 1e-3, D 0) → (lr 1e-4, D 10) → (lr 1e-5, D 20), with a fourth stage D 30 in
the appendix. A deeper loss is steeper near the optimum, which is where a model
is once the first stage has converged; starting deep from scratch trains worse.

:class:`EvolvingDepth` is a training callback. Any loop can drive it::

    schedule = EvolvingDepth.paper(patience=5)
    schedule.on_train_start(trainer)              # applies stage 0
    for epoch in range(num_epochs):
        ...                                       # train and validate
        schedule.on_epoch_end(trainer, epoch, {"val_loss": val_loss})

It needs ``trainer.loss_fn.depth`` (settable) and ``trainer.optimizer``. A
stage calls this fractal depth ``loss_depth``, as the trainer's history does, to
keep it apart from a model's ``depth`` (encoder levels) and ``attention_depth``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple


class Stage(NamedTuple):
    """One stage of the schedule: the learning rate and the loss depth to use."""

    lr: float
    loss_depth: int


class StageChange(NamedTuple):
    """A record of a stage starting, for plots.

    ``epoch`` is the number of epochs completed when the stage took effect (0
    for the first stage). With epochs numbered from 1, as in the trainer's
    history, the stage's first epoch is ``epoch + 1``: draw the boundary at
    ``epoch + 0.5``.
    """

    epoch: int
    lr: float
    loss_depth: int


#: Named presets: the paper's three stages, and with the appendix's fourth.
#: The fourth stage's learning rate (one more tenfold drop) is our choice; the
#: appendix names only its depth.
SCHEDULE_PRESETS: dict[str, tuple[Stage, ...]] = {
    "paper": (Stage(1e-3, 0), Stage(1e-4, 10), Stage(1e-5, 20)),
    "paper_d30": (Stage(1e-3, 0), Stage(1e-4, 10), Stage(1e-5, 20), Stage(1e-6, 30)),
}


class EvolvingDepth:
    """Step through ``(lr, loss_depth)`` stages at fixed epochs or on a plateau.

    Give exactly one trigger:

    * ``milestones``: stage ``k + 1`` starts after ``milestones[k]`` completed
      epochs (one milestone per stage change, increasing);
    * ``patience``: the next stage starts when the monitored loss has not
      improved by more than ``min_delta`` for ``patience`` epochs. The best
      value is forgotten at every change, because a deeper loss has a
      different scale.

    Args:
        stages: ``(lr, loss_depth)`` pairs, first stage first.
        milestones: epochs at which to change stage.
        patience: epochs without improvement before changing stage.
        min_delta: the smallest decrease that counts as an improvement.
        monitor: the key of the epoch logs to watch; when it is missing the
            callback falls back to ``"train_loss"`` (no validation ran).

    Attributes:
        stage_index: the current stage (0-based).
        events: one :class:`StageChange` per stage started, for plotting.
    """

    def __init__(
        self,
        stages: Sequence[tuple[float, int]] = SCHEDULE_PRESETS["paper"],
        *,
        milestones: Sequence[int] | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
    ) -> None:
        self.stages = [_check_stage(i, stage) for i, stage in enumerate(stages)]
        if not self.stages:
            raise ValueError("stages must hold at least one (lr, loss_depth) pair")
        if (milestones is None) == (patience is None):
            raise ValueError(
                "give exactly one of milestones= (fixed epochs) or patience= (plateau)"
            )
        if milestones is not None:
            milestones = _check_milestones(milestones, len(self.stages))
        if patience is not None and (int(patience) != patience or patience < 1):
            raise ValueError(f"patience must be a positive integer, got {patience!r}")
        self.milestones = milestones
        self.patience = patience
        self.min_delta = min_delta
        self.monitor = monitor
        self.reset()

    @classmethod
    def paper(cls, *, fourth_stage: bool = False, **kwargs: Any) -> EvolvingDepth:
        """The paper's schedule (1e-3, 0) → (1e-4, 10) → (1e-5, 20) [→ (1e-6, 30)].

        Args:
            fourth_stage: add the appendix's fourth stage at depth 30.
            **kwargs: the trigger, ``milestones=`` or ``patience=`` (and
                ``min_delta``, ``monitor``).
        """
        return cls.from_preset("paper_d30" if fourth_stage else "paper", **kwargs)

    @classmethod
    def from_preset(cls, name: str, **kwargs: Any) -> EvolvingDepth:
        """A schedule from :data:`SCHEDULE_PRESETS` by name; ``kwargs`` as in the constructor."""
        if name not in SCHEDULE_PRESETS:
            raise ValueError(
                f"unknown preset {name!r}; choose one of: {', '.join(SCHEDULE_PRESETS)}"
            )
        return cls(SCHEDULE_PRESETS[name], **kwargs)

    @property
    def stage(self) -> Stage:
        """The current ``(lr, loss_depth)``."""
        return self.stages[self.stage_index]

    def reset(self) -> None:
        """Back to the first stage, forgetting the epoch count, best value and events."""
        self.stage_index = 0
        self.epochs_done = 0
        self.best = math.inf
        self.bad_epochs = 0
        self.events = [StageChange(0, *self.stages[0])]

    def step(self, value: float | None = None) -> bool:
        """Count one finished epoch; return whether the next stage starts now.

        Args:
            value: the monitored loss of that epoch (needed for ``patience``).
        """
        self.epochs_done += 1
        if self.stage_index == len(self.stages) - 1:
            return False
        if self.milestones is not None:
            advance = self.epochs_done >= self.milestones[self.stage_index]
        else:
            advance = self._plateaued(value)
        if advance:
            self.stage_index += 1
            self.best, self.bad_epochs = math.inf, 0
            self.events.append(StageChange(self.epochs_done, *self.stage))
        return advance

    def _plateaued(self, value: float | None) -> bool:
        if value is None:
            raise ValueError("a patience schedule needs the monitored loss every epoch, got None")
        if value < self.best - self.min_delta:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def apply(self, trainer: Any) -> None:
        """Set ``trainer.loss_fn.depth`` and the lr of every group of ``trainer.optimizer``."""
        if not hasattr(trainer.loss_fn, "depth"):
            raise TypeError(
                f"trainer.loss_fn ({type(trainer.loss_fn).__name__}) has no depth attribute; "
                "use a fractal Tanimoto loss, e.g. create_loss('fractal_tanimoto')"
            )
        trainer.loss_fn.depth = self.stage.loss_depth
        for group in trainer.optimizer.param_groups:
            group["lr"] = self.stage.lr

    def on_train_start(self, trainer: Any) -> None:
        """Apply the current stage; a fresh run (``trainer.epoch == 0``) starts from the first.

        A resumed or continued run keeps its stage (the trainer restores it
        with :meth:`load_state_dict` from the checkpoint).
        """
        if getattr(trainer, "epoch", 0) == 0:
            self.reset()
        self.apply(trainer)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        """Move to the next stage when its trigger fires (``epoch`` is not used: we count)."""
        value = logs.get(self.monitor, logs.get("train_loss"))
        if self.step(value):
            self.apply(trainer)

    def state_dict(self) -> dict[str, Any]:
        """The progress a resumed run needs (stored in the trainer's checkpoints)."""
        return {
            "stage_index": self.stage_index,
            "epochs_done": self.epochs_done,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "events": [tuple(event) for event in self.events],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.stage_index = state["stage_index"]
        self.epochs_done = state["epochs_done"]
        self.best = state["best"]
        self.bad_epochs = state["bad_epochs"]
        self.events = [StageChange(*event) for event in state["events"]]

    def __repr__(self) -> str:
        trigger = (
            f"milestones={self.milestones}"
            if self.milestones is not None
            else f"patience={self.patience}"
        )
        stages = ", ".join(f"(lr={s.lr:g}, loss_depth={s.loss_depth})" for s in self.stages)
        return f"EvolvingDepth([{stages}], {trigger}, stage={self.stage_index})"


def _check_stage(index: int, stage: tuple[float, int]) -> Stage:
    lr, loss_depth = stage
    if not lr > 0:
        raise ValueError(f"stages[{index}]: lr must be > 0, got {lr!r}")
    if int(loss_depth) != loss_depth or loss_depth < 0:
        raise ValueError(
            f"stages[{index}]: loss_depth must be a non-negative integer, got {loss_depth!r}"
        )
    return Stage(float(lr), int(loss_depth))


def _check_milestones(milestones: Sequence[int], num_stages: int) -> list[int]:
    milestones = [int(m) for m in milestones]
    if len(milestones) != num_stages - 1:
        raise ValueError(
            f"milestones needs one epoch per stage change ({num_stages - 1}), got {milestones}"
        )
    if any(m < 1 for m in milestones) or milestones != sorted(set(milestones)):
        raise ValueError(f"milestones must be increasing positive epochs, got {milestones}")
    return milestones
