"""``ceec-lab train|evaluate|predict`` end to end on tiny synthetic runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ceec_lab.cli_train import main
from ceec_lab.files import load_torch

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
TINY = ["data.size=32", "data.n_train=8", "data.n_val=4", "data.batch_size=4"]


def train(config: str, out: Path, *extra: str) -> int:
    args = ["train", "--config", str(CONFIGS / config), "--quiet", *TINY]
    return main([*args, "train.num_epochs=1", f"train.out_dir={out}", *extra])


def write_pairs(folder: Path, names: list[str], shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    for date in ("A", "B"):
        (folder / date).mkdir(parents=True, exist_ok=True)
        for name in names:
            pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / date / name)


def test_train_evaluate_predict(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert train("fc_siam_diff.yaml", out) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "best.pt",
        "config.yaml",
        "history.json",
        "last.pt",
    ]
    history = json.loads((out / "history.json").read_text())
    assert len(history["epochs"]) == 1 and len(history["steps"]) == 2  # 8 samples, batch 4
    assert "val_f1" in history["epochs"][0]
    assert "trained 1 epochs" in capsys.readouterr().out

    assert main(["evaluate", "--checkpoint", str(out / "best.pt"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    f1 = float(next(line for line in printed.splitlines() if line.split()[0] == "f1").split()[1])
    assert f1 == pytest.approx(history["epochs"][0]["val_f1"], abs=1e-4)  # same data, same model

    write_pairs(tmp_path / "pairs", ["a.png", "b.png"], (45, 61))  # odd size
    args = ["--image1", str(tmp_path / "pairs/A"), "--image2", str(tmp_path / "pairs/B")]
    args += ["--out", str(tmp_path / "pred"), "--checkpoint", str(out / "best.pt")]
    assert main(["predict", *args, "--window", "32", "--stride", "16"]) == 0
    for folder in ("masks", "confidence"):
        files = sorted((tmp_path / "pred" / folder).iterdir())
        assert [f.name for f in files] == ["a.png", "b.png"]
        assert np.asarray(Image.open(files[0])).shape == (45, 61)


def test_resume_continues_the_run(tmp_path: Path):
    out = tmp_path / "run"
    assert train("fc_ef.yaml", out) == 0
    assert train("fc_ef.yaml", out, "train.num_epochs=2", "--resume") == 0
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    assert load_torch(out / "last.pt")["step"] == 4


def test_ceecnet_multitask_with_the_evolving_schedule(tmp_path: Path):
    out = tmp_path / "run"
    assert train("ceecnet_v1.yaml", out, "train.schedule_kwargs.patience=1") == 0
    state = load_torch(out / "last.pt")
    assert state["history"]["epochs"][0]["loss_depth"] == 0
    assert state["config"]["loss"]["name"] == "multitask"
    assert any("EvolvingDepth" in key for key in state["callbacks"])


@pytest.mark.parametrize("model", ["lsnet", "lsnet_densefpn"])
def test_lsnet_trains_with_its_loss_evaluates_and_predicts(tmp_path: Path, capsys, model: str):
    out = tmp_path / "run"
    assert train("lsnet.yaml", out, f"model.name={model}") == 0
    state = load_torch(out / "last.pt")
    assert state["config"]["loss"]["name"] == "lsnet_hybrid"
    assert state["config"]["model"]["name"] == model
    history = json.loads((out / "history.json").read_text())
    assert len(history["steps"]) == 2 and "val_f1" in history["epochs"][0]
    assert main(["evaluate", "--checkpoint", str(out / "last.pt"), "--quiet"]) == 0
    assert "f1" in capsys.readouterr().out
    write_pairs(tmp_path / "pairs", ["a.png"], (36, 44))
    args = ["--image1", str(tmp_path / "pairs/A"), "--image2", str(tmp_path / "pairs/B")]
    args += ["--out", str(tmp_path / "pred"), "--checkpoint", str(out / "last.pt")]
    assert main(["predict", *args, "--window", "32", "--stride", "16"]) == 0
    assert np.asarray(Image.open(tmp_path / "pred" / "masks" / "a.png")).shape == (36, 44)


def test_differencing_otsu_is_evaluated_and_predicts(tmp_path: Path):
    out = tmp_path / "run"
    assert train("differencing_otsu.yaml", out) == 0
    history = json.loads((out / "history.json").read_text())
    assert history["steps"] == [] and "val_f1" in history["epochs"][0]
    write_pairs(tmp_path / "pairs", ["a.png"], (40, 40))
    args = ["--image1", str(tmp_path / "pairs/A"), "--image2", str(tmp_path / "pairs/B")]
    args += ["--out", str(tmp_path / "pred"), "--checkpoint", str(out / "last.pt")]
    assert main(["predict", *args, "--window", "32", "--stride", "32"]) == 0
    assert (tmp_path / "pred" / "masks" / "a.png").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["train.epochs=2"], "unknown key train.epochs"),
        (["model.name=resnet9000"], "unknown value 'resnet9000'"),
        (["loss.name=l2"], "loss.name"),
        (["data.kind=folder", "data.path=/no/such/folder"], "data.path: folder not found"),
        (["model.name=unet"], "'unet' is a segmentation model"),
    ],
)
def test_bad_configs_fail_before_any_work(tmp_path: Path, capsys, extra, message):
    assert train("fc_ef.yaml", tmp_path / "run", *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing was written


def test_missing_files_are_named(tmp_path: Path, capsys):
    assert main(["train", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err
    assert train("fc_ef.yaml", tmp_path / "run", "--resume") == 2
    assert "no checkpoint to resume from" in capsys.readouterr().err


def test_nan_training_exits_with_code_1(tmp_path: Path, capsys):
    assert train("fc_ef.yaml", tmp_path / "run", "train.lr=1e30") == 1
    assert "loss is nan" in capsys.readouterr().err


def test_subprocess_entry_point_reports_bad_config():
    command = [sys.executable, "-m", "ceec_lab.cli", "train", "--config", "x.yaml"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "config file not found: x.yaml" in result.stderr
