"""The shipped weights load, are small, record how they were made, and do their job."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DataLoader

from ceec_lab.data import SyntheticChangeDataset, SyntheticSegmentationDataset
from ceec_lab.experiments import ceecnet_datasets, load_shipped
from ceec_lab.losses import create_loss
from ceec_lab.models import create_model
from ceec_lab.models.pretrained import (
    PRETRAINED,
    SHIPPED_BASELINES,
    load_pretrained,
    pretrained_path,
)
from ceec_lab.train import Trainer


def test_shipped_weights_are_small() -> None:
    assert pretrained_path("ceecnet-tiny-synthetic").stat().st_size < 5e6
    total = sum(pretrained_path(name).stat().st_size for name in PRETRAINED)
    assert total <= 25e6, f"all shipped weights together: {total / 1e6:.1f} MB"


@pytest.mark.parametrize("name", sorted(SHIPPED_BASELINES))
def test_shipped_baseline_loads_with_its_record(name: str) -> None:
    weights = SHIPPED_BASELINES[name]
    model = load_pretrained(weights)
    assert model.pretrained_info["model_name"] == name
    assert all(p.dtype == torch.float32 for p in model.parameters())  # stored in half precision
    record = json.loads(pretrained_path(weights).with_suffix(".json").read_text())
    assert record["metrics"] == model.pretrained_info["metrics"]
    assert record["data"] == model.pretrained_info["data"]


def test_shipped_change_baselines_beat_differencing_under_nuisance() -> None:
    """Unseen pairs (seed 10) at difficulty 1: every shipped FC network beats Otsu's F1."""
    pairs = SyntheticChangeDataset(16, size=64, seed=10, difficulty=1.0)
    otsu = Trainer(create_model("differencing_otsu"), create_loss("tanimoto_complement"))
    otsu_f1 = otsu.evaluate(DataLoader(pairs, batch_size=8))["f1"]
    for name in ("fc_ef", "fc_siam_conc", "fc_siam_diff"):
        f1 = load_shipped(name, val_set=pairs).metrics["f1"]
        assert f1 > otsu_f1 + 0.05, (name, f1, otsu_f1)


def test_shipped_fcns_show_what_the_skips_are_for() -> None:
    """Unseen scenes: each skip (32s → 16s → 8s) raises the boundary mIoU (notebook 01)."""
    scenes = SyntheticSegmentationDataset(16, size=64, seed=10)
    results = [load_shipped(name, val_set=scenes) for name in ("fcn32s", "fcn16s", "fcn8s")]
    assert all(r.shipped and r.seconds == 0.0 for r in results)
    boundary = [r.metrics["boundary_miou"] for r in results]
    assert boundary[0] < boundary[1] < boundary[2], boundary
    assert results[2].metrics["miou"] > 0.4, results[2].metrics  # all background: about 0.16


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


def test_levir_weights_record_the_leave_some_out_goal_and_run_at_half_resolution() -> None:
    """The recorded leave-some-out scores (unseen real pairs) meet the goal of the weights:
    change-F1 >= 0.30 and >= 0.10 above differencing + Otsu."""
    assert pretrained_path("ceecnet-tiny-levir-samples").stat().st_size < 5e6
    model = load_pretrained("ceecnet-tiny-levir-samples")
    assert model.scale == 0.5 and model.input_multiple == 64
    rows = {r["model"]: r for r in model.pretrained_info["leave_some_out"]["rows"]}
    otsu, tuned = rows["differencing + Otsu"]["f1"], rows["fine-tuned"]["f1"]
    assert tuned >= 0.30 and tuned >= otsu + 0.10, rows
    record = json.loads(
        pretrained_path("ceecnet-tiny-levir-samples").with_suffix(".json").read_text()
    )
    assert record["leave_some_out"]["rows"] == model.pretrained_info["leave_some_out"]["rows"]


def test_levir_weights_learned_their_training_pairs(levircd_samples) -> None:
    """On the eleven pairs it was fine-tuned on (not a test of generalisation: the recorded
    leave-some-out is), the real-imagery weights beat the synthetic ones by far."""
    from ceec_lab.data import ChangeFolderDataset

    loader = DataLoader(ChangeFolderDataset(levircd_samples, multitask=True), batch_size=4)
    f1 = {}
    for name in ("ceecnet-tiny-synthetic", "ceecnet-tiny-levir-samples"):
        trainer = Trainer(load_pretrained(name), create_loss("multitask"), progress=False)
        f1[name] = trainer.evaluate(loader)["f1"]
    assert f1["ceecnet-tiny-levir-samples"] > f1["ceecnet-tiny-synthetic"] + 0.2, f1
