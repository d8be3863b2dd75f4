"""The Trainer: history, output handling, resume, NaN stop, callbacks, schedules."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from ceec_lab.files import load_torch
from ceec_lab.losses import EvolvingDepth, FractalTanimotoLoss, create_loss
from ceec_lab.train import Callback, Checkpoint, EarlyStopping, NonFiniteLossError, Trainer
from ceec_lab.train.trainer import _resolve_amp


class ProbsLoss(nn.Module):
    """Mean squared error on the change probability; records what it was given."""

    expects = "probs"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.depth = 0

    def forward(self, probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.seen.append(probs.detach())
        return (probs[:, 1] - target.float()).square().mean()


def test_fit_records_steps_and_epochs(make_trainer, change_loaders):
    train, val = change_loaders
    history = make_trainer(lr=0.05).fit(train, val, num_epochs=3)
    assert [s["step"] for s in history.steps] == list(range(1, 7))  # 2 batches × 3 epochs
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3]
    first = history.epochs[0]
    metrics = {"val_precision", "val_recall", "val_f1", "val_iou", "val_mcc", "val_kappa"}
    assert {"epoch", "lr", "train_loss", "val_loss", "val_accuracy", *metrics} <= set(first)
    epoch_1_steps = [s["loss"] for s in history.steps if s["epoch"] == 1]
    assert first["train_loss"] == pytest.approx(sum(epoch_1_steps) / 2)
    assert history.epochs[-1]["val_loss"] < first["val_loss"]  # it learns


def test_segmentation_task_calls_model_with_one_image(tiny, make_trainer, seg_loaders):
    train, val = seg_loaders
    trainer = make_trainer(tiny.SegNet(3), num_classes=3, lr=0.05)
    history = trainer.fit(train, val, num_epochs=4)
    assert trainer.task == "segmentation"
    assert {"val_pixel_accuracy", "val_mean_accuracy", "val_miou", "val_fwiou"} <= set(
        history.epochs[0]
    )
    assert history.epochs[-1]["val_pixel_accuracy"] > history.epochs[0]["val_pixel_accuracy"]
    probs = trainer.predict(torch.rand(2, 3, 16, 16))
    assert probs.shape == (2, 3, 16, 16)
    torch.testing.assert_close(probs.sum(1), torch.ones(2, 16, 16))


def test_probability_loss_gets_softmax_of_logits(make_trainer, change_loaders):
    loss = ProbsLoss()
    make_trainer(loss_fn=loss).fit(change_loaders[0], num_epochs=1)
    probs = loss.seen[0]
    assert probs.shape == (4, 2, 16, 16)
    torch.testing.assert_close(probs.sum(1), torch.ones(4, 16, 16))


def test_probability_model_with_logit_loss_is_refused(tiny, make_trainer):
    model = tiny.ChangeNet()
    model.output = "probs"
    with pytest.raises(ValueError, match="expects logits"):
        make_trainer(model, create_loss("ce"))


def test_multitask_loss_gets_tuple_and_batch(tiny, make_trainer, change_loaders):
    class Multitask(tiny.ChangeNet):
        output = "multitask"

        def forward(self, x1, x2):
            probs = super().forward(x1, x2).softmax(1)
            return probs, probs, probs  # (segmentation, boundary, distance)

    calls = []

    def multitask_loss(outputs, batch):
        calls.append((len(outputs), sorted(batch)))
        return sum((o[:, 1] - batch["mask"].float()).square().mean() for o in outputs) / 3

    multitask_loss.expects = "probs"
    trainer = make_trainer(Multitask(), multitask_loss)
    history = trainer.fit(*change_loaders, num_epochs=1)
    assert calls[0] == (3, ["image1", "image2", "mask"])
    assert "val_accuracy" in history.epochs[0]  # metrics use the segmentation output


def test_features_output_goes_whole_to_a_features_loss_and_logits_elsewhere(
    tiny, make_trainer, change_loaders
):
    class WithFeatures(tiny.ChangeNet):
        output = "logits_features"

        def forward(self, x1, x2):
            return super().forward(x1, x2), ((x1, x2),)  # (logits, per-level date pairs)

    seen = []

    class FeaturesLoss(nn.Module):
        expects, takes_features = "logits", True

        def forward(self, output, target):
            seen.append(type(output))
            return create_loss("ce")(output[0], target)

    trainer = make_trainer(WithFeatures(), FeaturesLoss())
    history = trainer.fit(*change_loaders, num_epochs=1)
    assert seen and all(t is tuple for t in seen)
    assert "val_f1" in history.epochs[0]  # the metrics see the logits
    pairs = change_loaders[1].dataset
    assert trainer.predict(pairs.x1[:2], pairs.x2[:2]).shape == (2, 2, 16, 16)
    assert trainer.predict(pairs.x1[:2], pairs.x2[:2], window=8, stride=8).shape == (2, 2, 16, 16)
    probs_loss = ProbsLoss()  # a plain loss gets the logits' softmax
    make_trainer(WithFeatures(), probs_loss).fit(change_loaders[0], num_epochs=1)
    assert probs_loss.seen[0].shape == (4, 2, 16, 16)


def test_features_loss_with_a_plain_model_is_refused(make_trainer):
    with pytest.raises(ValueError, match="needs the model's features"):
        make_trainer(loss_fn=create_loss("lsnet_hybrid"))


def test_resume_continues_the_same_run(tiny, make_trainer, change_loaders, tmp_path: Path):
    train, val = change_loaders

    def run(num_epochs: int, resume: bool, folder: Path) -> Trainer:
        torch.manual_seed(1)
        checkpoint = Checkpoint(folder)
        trainer = make_trainer(tiny.ChangeNet(), ProbsLoss(), callbacks=[checkpoint], lr=0.05)
        trainer.fit(train, val, num_epochs, resume=checkpoint.last_path if resume else None)
        return trainer

    straight = run(2, False, tmp_path / "a")
    run(1, False, tmp_path / "b")
    resumed = run(2, True, tmp_path / "b")
    assert len(resumed.history.epochs) == len(straight.history.epochs) == 2
    assert len(resumed.history.steps) == len(straight.history.steps) == 4
    assert resumed.history.epochs == straight.history.epochs
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)
    assert resumed.optimizer.state_dict()["state"][0]["step"] == 4


def test_checkpoint_holds_the_run_and_loads_weights_only(
    make_trainer, change_loaders, tmp_path: Path
):
    loss = ProbsLoss()
    loss.depth = 3
    checkpoint = Checkpoint(tmp_path, config={"model": {"name": "x"}})
    trainer = make_trainer(loss_fn=loss, callbacks=[checkpoint])
    trainer.fit(*change_loaders, num_epochs=1)
    state = load_torch(tmp_path / "last.pt")  # weights_only=True
    assert state["epoch"] == 1 and state["step"] == 2 and state["loss_depth"] == 3
    assert state["config"] == {"model": {"name": "x"}}
    assert (tmp_path / "best.pt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]  # no temp files


def test_nan_loss_stops_with_step_and_last_good_checkpoint(
    make_trainer, change_loaders, tmp_path: Path
):
    class NanAtStep(nn.CrossEntropyLoss):
        calls = 0

        def forward(self, logits, target):
            if torch.is_grad_enabled():  # count training steps only
                NanAtStep.calls += 1
                if NanAtStep.calls == 3:
                    return logits.sum() * math.nan
            return super().forward(logits, target)

    trainer = make_trainer(loss_fn=NanAtStep(), callbacks=[Checkpoint(tmp_path)])
    with pytest.raises(NonFiniteLossError, match="step 3") as info:
        trainer.fit(*change_loaders, num_epochs=3)
    assert info.value.step == 3 and info.value.epoch == 2
    assert str(tmp_path / "last.pt") in str(info.value)
    state = load_torch(tmp_path / "last.pt")
    assert state["epoch"] == 1  # the checkpoint of the last good epoch, untouched
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_nan_before_any_checkpoint_says_so(make_trainer, change_loaders):
    def nan_loss(logits, target):
        return logits.sum() * math.nan

    with pytest.raises(NonFiniteLossError, match="no checkpoint was written"):
        make_trainer(loss_fn=nan_loss).fit(change_loaders[0], num_epochs=1)


def test_callbacks_see_every_hook_in_order(make_trainer, change_loaders):
    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_train_start(self, trainer):
            self.events.append("train_start")

        def on_epoch_start(self, trainer, epoch):
            self.events.append(f"epoch_start {epoch}")

        def on_step_end(self, trainer, step, logs):
            self.events.append(f"step {step}")

        def on_epoch_end(self, trainer, epoch, logs):
            self.events.append(f"epoch_end {epoch} {sorted(logs)}")
            trainer.stop_training = epoch == 2

        def on_train_end(self, trainer):
            self.events.append("train_end")

    recorder = Recorder()
    make_trainer(callbacks=[recorder]).fit(change_loaders[0], num_epochs=5)
    keys = "['epoch', 'lr', 'train_loss']"
    assert recorder.events == [
        "train_start",
        "epoch_start 1",
        "step 1",
        "step 2",
        f"epoch_end 1 {keys}",
        "epoch_start 2",
        "step 3",
        "step 4",
        f"epoch_end 2 {keys}",
        "train_end",
    ]


def test_stop_inside_an_epoch_still_validates(make_trainer, change_loaders):
    class StepBudget(Callback):
        def on_step_end(self, trainer, step, logs):
            trainer.stop_training = step >= 3

    history = make_trainer(callbacks=[StepBudget()]).fit(*change_loaders, num_epochs=5)
    assert len(history.steps) == 3 and len(history.epochs) == 2
    assert "val_f1" in history.epochs[-1]


def test_early_stopping_when_val_loss_stalls(tiny, make_trainer, change_loaders):
    frozen = tiny.ChangeNet()
    optimizer = torch.optim.SGD(frozen.parameters(), lr=0.0)  # val loss never improves
    trainer = make_trainer(frozen, optimizer=optimizer, callbacks=[EarlyStopping(patience=2)])
    history = trainer.fit(*change_loaders, num_epochs=10)
    assert len(history.epochs) == 3  # best at epoch 1, then 2 epochs without improvement


def test_early_stopping_needs_validation(make_trainer, change_loaders):
    with pytest.raises(ValueError, match="val_loader"):
        make_trainer(callbacks=[EarlyStopping()]).fit(change_loaders[0], num_epochs=2)


def test_scheduler_factory_is_stepped_each_epoch(make_trainer, change_loaders):
    def halve(optimizer):
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    history = make_trainer(lr=0.1, scheduler=halve).fit(change_loaders[0], num_epochs=3)
    assert history.column("lr") == pytest.approx([0.1, 0.05, 0.025])


def test_reduce_on_plateau_gets_the_validation_loss(make_trainer, change_loaders):
    seen = []

    class Plateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    history = make_trainer(scheduler=Plateau).fit(*change_loaders, num_epochs=2)
    assert seen == history.column("val_loss")


def test_gradient_clipping_bounds_the_update(tiny, make_trainer, change_loaders):
    model = tiny.ChangeNet()
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)

    def huge_loss(logits, target):
        return 1e6 * nn.functional.cross_entropy(logits, target)

    one_batch = DataLoader(tiny.PairDataset(4), batch_size=4)
    make_trainer(model, huge_loss, optimizer=optimizer, grad_clip=0.1).fit(one_batch)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm().item() == pytest.approx(0.1, rel=1e-4)


def test_model_without_parameters_is_evaluated_only(make_trainer, change_loaders):
    class Threshold(nn.Module):
        task, output = "change", "probs"

        def forward(self, x1, x2):
            change = ((x1 - x2).abs().mean(1, keepdim=True) > 0.3).float()
            return torch.cat([1 - change, change], dim=1)

    history = make_trainer(Threshold(), ProbsLoss()).fit(*change_loaders, num_epochs=5)
    assert len(history.epochs) == 1 and not history.steps
    assert history.epochs[0]["val_accuracy"] == 1.0  # the data's own rule
    assert history.epochs[0]["val_loss"] == 0.0 and "train_loss" not in history.epochs[0]


def test_same_seed_same_run(tiny, make_trainer, change_loaders):
    runs = []
    for _ in range(2):
        torch.manual_seed(5)
        trainer = make_trainer(tiny.ChangeNet(), seed=3)
        loader = DataLoader(tiny.PairDataset(8), batch_size=2, shuffle=True)
        runs.append(trainer.fit(loader, num_epochs=2).steps)
    assert runs[0] == runs[1]


def test_evaluate_returns_loss_and_metrics(make_trainer, change_loaders):
    trainer = make_trainer()
    results = trainer.evaluate(change_loaders[1])
    names = {"loss", "precision", "recall", "f1", "iou", "mcc", "kappa", "accuracy"}
    assert set(results) == names
    assert 0.0 <= results["f1"] <= 1.0 and results["loss"] > 0


def test_bf16_autocast_on_cpu_trains(make_trainer, change_loaders):
    history = make_trainer(amp="bf16").fit(*change_loaders, num_epochs=1)
    assert math.isfinite(history.epochs[0]["train_loss"])


def test_amp_resolution():
    cpu = torch.device("cpu")
    assert _resolve_amp(None, cpu) is None
    assert _resolve_amp(True, cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="fp16"):
        _resolve_amp("fp16", cpu)
    with pytest.raises(ValueError, match="amp must be"):
        _resolve_amp("half", cpu)


def test_bad_arguments_are_named(make_trainer, change_loaders):
    with pytest.raises(ValueError, match="task must be one of"):
        make_trainer(nn.Conv2d(3, 2, 1))
    with pytest.raises(ValueError, match="num_epochs"):
        make_trainer().fit(change_loaders[0], num_epochs=0)
    with pytest.raises(ValueError, match="grad_clip"):
        make_trainer(grad_clip=-1.0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            make_trainer(device="cuda")
    with pytest.raises(TypeError, match="scheduler must be"):
        make_trainer(scheduler=3)
    bad = DataLoader([{"image1": torch.rand(3, 8, 8), "mask": torch.zeros(8, 8).long()}])
    with pytest.raises(KeyError, match="missing \\['image2'\\]"):
        make_trainer().fit(bad)
    with pytest.raises(FileNotFoundError, match="file not found: missing"):
        make_trainer().fit(change_loaders[0], resume="missing.pt")


def test_evolving_depth_schedule_and_its_resume(tiny, make_trainer, change_loaders, tmp_path):
    def run(num_epochs: int, resume: bool, folder: Path) -> Trainer:
        torch.manual_seed(1)
        schedule, checkpoint = EvolvingDepth.paper(milestones=[1, 2]), Checkpoint(folder)
        # The checkpoint comes first here, yet runs last: it must save the new stage.
        trainer = make_trainer(
            tiny.ChangeNet(), FractalTanimotoLoss(), callbacks=[checkpoint, schedule]
        )
        resume_from = checkpoint.last_path if resume else None
        trainer.fit(*change_loaders, num_epochs=num_epochs, resume=resume_from)
        return trainer

    straight = run(3, False, tmp_path / "a")
    assert straight.history.column("loss_depth") == [0, 10, 20]
    assert straight.history.column("lr") == pytest.approx([1e-3, 1e-4, 1e-5])
    run(1, False, tmp_path / "b")
    resumed = run(3, True, tmp_path / "b")
    assert resumed.history.epochs == straight.history.epochs
    assert resumed.loss_fn.depth == straight.loss_fn.depth == 20
