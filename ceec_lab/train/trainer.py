"""The training engine: one :class:`Trainer` for segmentation and change detection.

The loop knows nothing about any particular network. It relies on the
conventions every kit model follows (:mod:`ceec_lab.models.registry`):

* ``model.task``: ``"segmentation"`` is called as ``model(x)`` on batches
  ``{"image", "mask"}``; ``"change"`` as ``model(x1, x2)`` on batches
  ``{"image1", "image2", "mask"}`` (plus ``"boundary"``, ``"distance"`` for
  multitask training);
* ``model.output``: ``"logits"``, ``"probs"``, ``"multitask"`` (CEECNet's
  ``(segmentation, boundary, distance)`` tuple of probabilities) or
  ``"logits_features"`` (LSNet's ``(logits, features)``);

and on one attribute of the loss, ``loss_fn.expects``: ``"probs"`` losses
(Dice, Tanimoto) get softmax probabilities, ``"logits"`` losses (cross-entropy)
get the raw scores. A loss without the attribute is treated as ``"logits"``,
like every loss of :mod:`torch.nn`. A multitask loss gets the whole output tuple
and the batch. A ``"logits_features"`` output goes whole to a loss that says
``takes_features = True`` (LSNet's contrastive loss needs both dates' features);
any other loss, and the metrics, see only its logits.

Everything else - plots, the evolving loss depth of the paper, checkpoints,
early stopping - hooks in through callbacks (:mod:`ceec_lab.train.callbacks`).
The helpers keep the loop short: :mod:`~ceec_lab.train.distributed` (DDP),
:mod:`~ceec_lab.train.checkpoints` (what a checkpoint holds, resuming),
:mod:`~ceec_lab.train.inference` (prediction).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

from ceec_lab.settings import get_device
from ceec_lab.train import distributed as dist
from ceec_lab.train.checkpoints import load_checkpoint
from ceec_lab.train.history import History
from ceec_lab.train.inference import OUTPUT_KINDS, PAPER_STRIDE, output_to_probs, predict_probs
from ceec_lab.train.seeding import seed_everything

logger = logging.getLogger(__name__)

TASKS = ("segmentation", "change")
INPUT_KEYS = {"segmentation": ("image",), "change": ("image1", "image2")}
SCHEDULER_TYPES = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
SchedulerArg = torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau
#: In a Jupyter kernel ``tqdm.auto`` draws ipywidgets bars. A saved notebook keeps a bar that
#: stayed on screen but not its widget state, and reopens it as "Error displaying widget:
#: model not found". There every bar therefore disappears when done (``leave=False``), and
#: the overall bar's last state is printed as plain text, which a saved notebook keeps.
WIDGET_BARS = issubclass(tqdm, notebook_tqdm)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training stopped before the weights were touched.

    Attributes:
        step: the optimisation step (1-based) whose loss was not finite.
        epoch: its epoch.
        checkpoint: the last checkpoint written before it, or ``None``.
    """

    def __init__(self, step: int, epoch: int, value: float, checkpoint: Path | None) -> None:
        self.step, self.epoch, self.checkpoint = step, epoch, checkpoint
        where = (
            f"the last good checkpoint is {checkpoint}"
            if checkpoint is not None
            else "no checkpoint was written before it"
        )
        super().__init__(
            f"loss is {value} at step {step} (epoch {epoch}); training stopped and no "
            f"checkpoint was written with these weights; {where}. Try a lower lr, "
            "grad_clip, or amp=False."
        )


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); says where to continue from.

    Attributes:
        epoch: epochs completed (and saved, when there is a checkpoint).
        checkpoint: the last checkpoint written, or ``None``.
    """

    def __init__(self, epoch: int, checkpoint: Path | None) -> None:
        self.epoch, self.checkpoint = epoch, checkpoint
        where = (
            f"the last checkpoint is {checkpoint} (epoch {epoch})"
            if checkpoint is not None
            else "no checkpoint was written"
        )
        super().__init__(f"training interrupted; {where}")


class Trainer:
    """Fits and evaluates a kit model.

    Args:
        model: a kit model (``task`` and ``output`` attributes).
        loss_fn: a loss module (``expects = "probs"`` or ``"logits"``), or a
            multitask loss for ``model.output == "multitask"``.
        task: ``"segmentation"`` or ``"change"``; defaults to ``model.task``.
        num_classes: classes of the segmentation metrics (ignored for change).
        optimizer: defaults to Adam(lr, betas=(0.9, 0.999)) as in the paper.
        lr: learning rate of the default optimizer.
        scheduler: a torch learning-rate scheduler, or a function
            ``optimizer -> scheduler`` (handy with the default optimizer). It is
            stepped once per epoch; ``ReduceLROnPlateau`` gets the validation loss
            (the training loss without a validation loader).
        device: defaults to :func:`ceec_lab.get_device` (cuda, mps, cpu).
        amp: mixed precision. ``None``: on for CUDA (bf16 where supported, else
            fp16 with a gradient scaler), off elsewhere. ``True``, ``False``,
            ``"bf16"`` or ``"fp16"`` choose explicitly.
        grad_clip: clip the global gradient norm to this value.
        callbacks: objects with any of the hooks of
            :class:`~ceec_lab.train.callbacks.Callback`, e.g.
            ``[EarlyStopping(patience=5), Checkpoint("runs/unet")]``.
        seed: seeds Python, NumPy and torch when the trainer is built.
        progress: show tqdm progress bars.
        metrics: a torchmetrics ``MetricCollection``; defaults to
            :func:`ceec_lab.metrics.change_metrics` or
            :func:`ceec_lab.metrics.segmentation_metrics`.

    A model without trainable parameters (the differencing + Otsu baseline) has
    nothing to fit: :meth:`fit` then logs so, runs one validation pass and
    records it as epoch 1 with no ``train_loss``.

    Under ``torchrun`` the trainer joins the process group, wraps the model in
    DistributedDataParallel and shards the loaders; see
    :mod:`ceec_lab.train.distributed`.

    Attributes:
        history: the :class:`History` of the run (continued by resumes).
        epoch, step: epochs and optimisation steps completed so far.
        stop_training: set it to ``True`` from a callback to stop.
        train_loader, val_loader: the loaders of the current :meth:`fit`.
        last_checkpoint: the last checkpoint written or loaded (its errors name it).
        device, amp_dtype: where and in which precision the model runs.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: nn.Module | Callable[..., Tensor],
        task: str | None = None,
        num_classes: int = 2,
        optimizer: torch.optim.Optimizer | None = None,
        lr: float = 1e-3,
        scheduler: SchedulerArg | Callable[[torch.optim.Optimizer], SchedulerArg] | None = None,
        device: torch.device | str | None = None,
        amp: bool | str | None = None,
        grad_clip: float | None = None,
        callbacks: Iterable[Any] = (),
        seed: int = 0,
        progress: bool = True,
        metrics: nn.Module | None = None,
    ) -> None:
        self.task = _resolve_task(model, task)
        self.output = getattr(model, "output", "logits")
        _check_loss(self.output, loss_fn)
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None, got {grad_clip!r}")
        self.model, self.loss_fn, self.num_classes = model, loss_fn, num_classes
        self.grad_clip, self.seed, self.progress = grad_clip, seed, progress
        seed_everything(seed)
        self.device = dist.init_distributed(get_device(None if device is None else str(device)))
        self.model.to(self.device)
        if isinstance(loss_fn, nn.Module):  # its buffers too, e.g. cross-entropy class weights
            loss_fn.to(self.device)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if optimizer is None and self.params:
            optimizer = torch.optim.Adam(self.params, lr=lr, betas=(0.9, 0.999))
        self.optimizer = optimizer
        self.scheduler = _build_scheduler(scheduler, optimizer)
        self.amp_dtype = _resolve_amp(amp, self.device)
        use_scaler = self.amp_dtype == torch.float16 and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=use_scaler)
        self.metrics = (
            _default_metrics(self.task, num_classes) if metrics is None else metrics
        ).to(self.device)
        self.callbacks = sorted(callbacks, key=lambda cb: getattr(cb, "order", 0))
        self._train_model = dist.wrap_model(model, self.device) if self.params else model
        self.history = History()
        self.epoch = 0  # epochs completed
        self.step = 0  # optimisation steps completed
        self.stop_training = False
        self.train_loader: DataLoader | None = None
        self.val_loader: DataLoader | None = None
        self.last_checkpoint: Path | None = None

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        train_loader: DataLoader,
        val_loader: DataLoader | None = None,
        num_epochs: int = 1,
        resume: str | Path | None = None,
    ) -> History:
        """Train until epoch ``num_epochs`` (a total, counted from the first epoch).

        Args:
            train_loader: batches of training samples (dicts).
            val_loader: when given, evaluated after every epoch; its loss and
                metrics enter the history with the prefix ``val_``.
            num_epochs: the epoch to train up to. A trainer that has done 2
                epochs (or was resumed from epoch 2) and is asked for 5 trains 3.
            resume: a checkpoint to continue from, e.g. ``checkpoint.last_path``
                of a :class:`~ceec_lab.train.callbacks.Checkpoint`; training
                continues the same history.

        Returns:
            The :class:`History` (also ``trainer.history``).

        Raises:
            NonFiniteLossError: when a loss is NaN or infinite.
            TrainingInterrupted: on Ctrl-C; it names the last checkpoint.
        """
        if not isinstance(num_epochs, int) or num_epochs < 1:
            raise ValueError(f"num_epochs must be an int >= 1, got {num_epochs!r}")
        self.train_loader = dist.shard_loader(train_loader, self.seed)
        self.val_loader = None if val_loader is None else dist.shard_loader(val_loader, self.seed)
        if resume is not None:
            load_checkpoint(self, resume)
        if self.optimizer is None:
            return self._evaluate_only()
        if self.epoch >= num_epochs:
            logger.info(
                "already trained %d epochs (num_epochs=%d): nothing to do", self.epoch, num_epochs
            )
            return self.history
        self.stop_training = False
        self._call("on_train_start")
        with self._epochs_bar(num_epochs - self.epoch) as bar:
            for epoch in range(self.epoch + 1, num_epochs + 1):
                logs = self._run_epoch(epoch)
                bar.update()
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k.endswith("loss")})
                if self.stop_training:
                    break
        self._call("on_train_end")
        return self.history

    def _run_epoch(self, epoch: int) -> dict[str, Any]:
        """Train one epoch, validate, step the scheduler; returns the epoch's record."""
        dist.set_epoch(self.train_loader, epoch)
        self._call("on_epoch_start", epoch)
        logs: dict[str, Any] = {"epoch": epoch, "lr": self.lr}
        if getattr(self.loss_fn, "depth", None) is not None:
            logs["loss_depth"] = self.loss_fn.depth
        logs["train_loss"] = self._train_epoch(epoch)
        if self.val_loader is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(self.val_loader).items()})
        self._step_scheduler(logs)
        self.epoch = epoch
        self.history.epochs.append(logs)
        self._call("on_epoch_end", epoch, logs)
        return logs

    def _train_epoch(self, epoch: int) -> float:
        """One pass over the training loader; returns the mean step loss."""
        self._train_model.train()
        losses = []
        bar = self._progress_bar(self.train_loader, desc=f"epoch {epoch}", leave=False)
        for batch in bar:
            loss = self._train_step(batch, epoch)
            losses.append(loss)
            self.step += 1
            logs = {"step": self.step, "epoch": epoch, "loss": loss, "lr": self.lr}
            self.history.steps.append(logs)
            bar.set_postfix(loss=f"{loss:.4g}")
            self._call("on_step_end", self.step, logs)
            if self.stop_training:  # a callback may end the epoch early (a step budget)
                break
        if not losses:
            raise ValueError("train_loader yielded no batches")
        return sum(losses) / len(losses)

    def _train_step(self, batch: dict[str, Tensor], epoch: int) -> float:
        """One optimisation step; returns the loss (averaged over processes)."""
        batch = self._prepare(batch)
        with self._autocast():
            output = self._train_model(*self._inputs(batch))
        loss = self._loss(output, batch)
        # The mean over processes is finite only if every process's loss is, so all
        # ranks stop together instead of some hanging in the gradient all-reduce.
        value = dist.all_reduce_mean(loss.detach()).item()
        if not math.isfinite(value):
            raise NonFiniteLossError(self.step + 1, epoch, value, self.last_checkpoint)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return value

    def _evaluate_only(self) -> History:
        """A model with nothing to train: one validation pass, recorded as the next epoch."""
        if self.val_loader is None:
            raise ValueError("the model has no trainable parameters and no val_loader was given")
        logger.info("the model has no trainable parameters: skipping optimisation, evaluating once")
        results = self.evaluate(self.val_loader)
        self.epoch += 1
        logs = {"epoch": self.epoch, **{f"val_{k}": v for k, v in results.items()}}
        self.history.epochs.append(logs)
        self._call("on_epoch_end", self.epoch, logs)
        return self.history

    def _step_scheduler(self, logs: dict[str, Any]) -> None:
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs["train_loss"]))
        else:
            self.scheduler.step()

    # --------------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, loader: DataLoader) -> dict[str, float]:
        """Mean loss and metrics over ``loader`` (keys unprefixed: ``loss``, ``f1``, ...)."""
        self.model.eval()
        self.metrics.reset()
        loss_sum = torch.zeros((), device=self.device)
        count = torch.zeros((), device=self.device)
        for batch in self._progress_bar(loader, desc="evaluate", leave=False):
            batch = self._prepare(batch)
            with self._autocast():
                output = self.model(*self._inputs(batch))
            n = batch["mask"].shape[0]
            loss_sum += self._loss(output, batch).detach() * n
            count += n
            self.metrics.update(output_to_probs(output, self.output), batch["mask"])
        if count.item() == 0:
            raise ValueError("the evaluation loader yielded no batches")
        results = {"loss": (dist.all_reduce_sum(loss_sum) / dist.all_reduce_sum(count)).item()}
        for name, value in self.metrics.compute().items():
            results[name] = value.item() if value.numel() == 1 else value.tolist()
        return results

    def predict(
        self,
        x1: Tensor,
        x2: Tensor | None = None,
        window: int | None = None,
        stride: int = PAPER_STRIDE,
    ) -> Tensor:
        """Class probabilities ``(B, K, H, W)`` on the CPU, in the trainer's precision;
        see :func:`~ceec_lab.train.inference.predict_probs` for the arguments."""
        with self._autocast():
            return predict_probs(self.model, x1, x2, window, stride)

    # ------------------------------------------------------------------ helpers
    @property
    def lr(self) -> float:
        """The current learning rate (of the first parameter group)."""
        return self.optimizer.param_groups[0]["lr"] if self.optimizer is not None else 0.0

    def _inputs(self, batch: dict[str, Tensor]) -> list[Tensor]:
        """The model's positional inputs: ``[x]`` or ``[x1, x2]``."""
        return [batch[k] for k in INPUT_KEYS[self.task]]

    def _loss(self, output: Tensor | tuple[Tensor, ...], batch: dict[str, Tensor]) -> Tensor:
        """The loss in float32, fed what ``loss_fn.expects``."""
        if self.output == "multitask":
            return self.loss_fn(tuple(o.float() for o in output), batch)
        if self.output == "logits_features":
            if getattr(self.loss_fn, "takes_features", False):
                return self.loss_fn(output, batch["mask"])  # the loss upcasts what it uses
            output = output[0]  # the logits
        pred = output.float()
        if self.output != "probs" and getattr(self.loss_fn, "expects", "logits") == "probs":
            pred = pred.softmax(dim=1)
        return self.loss_fn(pred, batch["mask"])

    def _prepare(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Check a batch's keys and move its tensors to the device."""
        if not isinstance(batch, dict):
            raise TypeError(f"batches must be dicts of tensors, got {type(batch).__name__}")
        needed = [*INPUT_KEYS[self.task], "mask"]
        missing = [k for k in needed if k not in batch]
        if missing:
            raise KeyError(f"a {self.task} batch needs keys {needed}; missing {missing}")
        return {
            k: v.to(self.device, non_blocking=True) if isinstance(v, Tensor) else v
            for k, v in batch.items()
        }

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _progress_bar(self, iterable: Iterable | None = None, **kwargs) -> tqdm:
        return tqdm(iterable, disable=not (self.progress and dist.is_main_process()), **kwargs)

    @contextmanager
    def _epochs_bar(self, total: int) -> Iterator[tqdm]:
        """The bar over the epochs, updated by hand; turns Ctrl-C into :class:`TrainingInterrupted`.

        It ends as finished even after an early stop (a widget bar closed short of
        its total turns red), and in a notebook its last state is printed as text.
        """
        bar = self._progress_bar(total=total, desc="epochs", leave=not WIDGET_BARS)
        shown = not bar.disable  # closing a bar disables it
        try:
            yield bar
        except KeyboardInterrupt:
            bar.close()
            raise TrainingInterrupted(self.epoch, self.last_checkpoint) from None
        bar.total = bar.n
        bar.close()
        if WIDGET_BARS and shown:
            print(bar)  # the bar as text: "epochs: 100%|███| 5/5 [00:12<00:00, ...]"

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(self, *args)


def _resolve_task(model: nn.Module, task: str | None) -> str:
    task = getattr(model, "task", None) if task is None else task
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} (or set model.task), got {task!r}")
    return task


def _check_loss(output: str, loss_fn: Any) -> None:
    """Refuse a loss that cannot take the model's ``output``."""
    if output not in OUTPUT_KINDS:
        raise ValueError(f"model.output must be one of {OUTPUT_KINDS}, got {output!r}")
    expects = getattr(loss_fn, "expects", "logits")
    if expects not in ("probs", "logits"):
        raise ValueError(f"loss_fn.expects must be 'probs' or 'logits', got {expects!r}")
    if output == "probs" and expects == "logits":
        raise ValueError(
            "the model outputs probabilities but the loss expects logits; use a "
            "probability loss (expects = 'probs'), e.g. Dice or Tanimoto"
        )
    if getattr(loss_fn, "takes_features", False) and output != "logits_features":
        raise ValueError(
            f"the loss needs the model's features (model.output 'logits_features', e.g. "
            f"lsnet) but the model's output is {output!r}"
        )


def _build_scheduler(
    scheduler: SchedulerArg | Callable[[torch.optim.Optimizer], SchedulerArg] | None,
    optimizer: torch.optim.Optimizer | None,
) -> SchedulerArg | None:
    """``scheduler`` itself, or what a factory ``optimizer -> scheduler`` makes."""
    if scheduler is None or isinstance(scheduler, SCHEDULER_TYPES):
        return scheduler
    if not callable(scheduler):
        raise TypeError(f"scheduler must be a torch scheduler or a factory, got {scheduler!r}")
    return scheduler(optimizer)


def _resolve_amp(amp: bool | str | None, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or ``None`` for full precision."""
    if amp is None:
        amp = device.type == "cuda"
    if amp is False:
        return None
    if amp is True:
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if device.type != "cuda" or cuda_bf16 else torch.float16
    if amp in ("bf16", "bfloat16"):
        return torch.bfloat16
    if amp in ("fp16", "float16"):
        if device.type != "cuda":
            raise ValueError(f"amp='fp16' needs a CUDA device (got {device}); use 'bf16'")
        return torch.float16
    raise ValueError(f"amp must be None, True, False, 'bf16' or 'fp16', got {amp!r}")


def _default_metrics(task: str, num_classes: int) -> nn.Module:
    from ceec_lab import metrics

    return (
        metrics.change_metrics() if task == "change" else metrics.segmentation_metrics(num_classes)
    )
