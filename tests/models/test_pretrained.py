"""The shipped tiny weights load, are small, and detect synthetic change."""

from __future__ import annotations

import pytest
from torch.utils.data import DataLoader

from ceec_lab.experiments import ceecnet_datasets
from ceec_lab.losses import create_loss
from ceec_lab.models.pretrained import load_pretrained, pretrained_path
from ceec_lab.train import Trainer


def test_shipped_weights_are_small() -> None:
    assert pretrained_path("ceecnet-tiny-synthetic").stat().st_size < 5e6


def test_shipped_weights_detect_synthetic_change() -> None:
    model = load_pretrained()
    assert model.output == "multitask" and not model.training
    assert model.pretrained_info["metrics"]["f1"] > 0.5
    _, val_set = ceecnet_datasets(n_train=1, n_val=16, size=64, seed=10)  # unseen pairs
    trainer = Trainer(model, create_loss("multitask"), device="cpu", progress=False)
    metrics = trainer.evaluate(DataLoader(val_set, batch_size=8))
    assert metrics["f1"] > 0.5, metrics  # an untrained model scores about 0.05


def test_unknown_weights_name() -> None:
    with pytest.raises(ValueError, match="available: ceecnet-tiny-synthetic"):
        load_pretrained("ceecnet-huge")


def test_missing_weights_file_names_the_script(monkeypatch) -> None:
    from ceec_lab.models import pretrained

    monkeypatch.setitem(pretrained.PRETRAINED, "gone", ("gone.pt", "scripts/train_tiny_weights.py"))
    with pytest.raises(FileNotFoundError, match=r"scripts/train_tiny_weights\.py"):
        pretrained_path("gone")
