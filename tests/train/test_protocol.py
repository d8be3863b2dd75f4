"""``ceec-lab evaluate --protocol whole-image|tiles`` on a fake LEVIR-CD tree built from
the shared samples: the protocol is named, and the numbers are the change class's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ceec_lab.cli_train import main
from ceec_lab.data import ChangeFolderDataset
from ceec_lab.files import save_torch
from ceec_lab.models import create_model
from ceec_lab.models.pretrained import load_pretrained
from ceec_lab.train.config import ExperimentConfig
from ceec_lab.train.protocol import evaluate_protocol


def write_checkpoint(path: Path, model: torch.nn.Module, name: str, kwargs: dict) -> Path:
    loss = "multitask" if model.output == "multitask" else "ce"
    config = ExperimentConfig.from_dict(
        {"model": {"name": name, "kwargs": kwargs}, "loss": {"name": loss}}
    )
    return save_torch({"model": model.state_dict(), "config": config.to_dict()}, path)


def printed_columns(text: str) -> dict[str, float]:
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["precision", "recall"])
    return dict(zip(lines[header].split(), map(float, lines[header + 1].split()), strict=True))


def change_f1(masks: list[np.ndarray], predictions: list[np.ndarray]) -> tuple[float, float]:
    """F1 of the change class and the mean F1 of both classes, by hand."""
    mask, pred = (
        np.concatenate([m.ravel() for m in masks]),
        np.concatenate([p.ravel() for p in predictions]),
    )
    f1 = []
    for positive in (1, 0):
        tp = np.sum((pred == positive) & (mask == positive))
        fp = np.sum((pred == positive) & (mask != positive))
        fn = np.sum((pred != positive) & (mask == positive))
        f1.append(2 * tp / (2 * tp + fp + fn))
    return f1[0], (f1[0] + f1[1]) / 2


def test_whole_image_protocol_reports_the_change_class(fake_levircd: Path, tmp_path: Path, capsys):
    otsu = create_model("differencing_otsu")
    checkpoint = write_checkpoint(tmp_path / "otsu.pt", otsu, "differencing_otsu", {})
    args = ["evaluate", "--checkpoint", str(checkpoint), "--protocol", "whole-image", "--quiet"]
    assert main([*args, "--data", str(fake_levircd)]) == 0
    printed = capsys.readouterr().out
    assert f"on {fake_levircd / 'test'}" in printed  # the test split by default
    assert "protocol: whole-image: 256×256 windows, stride 64, reflect padding" in printed
    assert "(the paper's)" in printed and "on 7 images" in printed
    columns = printed_columns(printed)
    assert list(columns) == ["precision", "recall", "f1", "iou", "mcc"]

    test = ChangeFolderDataset(fake_levircd, "test")  # 256² images: one window each
    samples = [test[i] for i in range(len(test))]
    with torch.no_grad():
        predictions = [otsu(s["image1"][None], s["image2"][None])[0, 1].numpy() for s in samples]
    f1, class_mean_f1 = change_f1([s["mask"].numpy() for s in samples], predictions)
    assert columns["f1"] == pytest.approx(100 * f1, abs=0.01)
    assert abs(class_mean_f1 - f1) > 0.1  # the class mean would be a different number


def _mosaic_tree(samples: Path, root: Path) -> Path:
    """Two 512×512 pairs, each a 2×2 mosaic of sample pairs, so windows and tiles differ."""
    names = sorted(p.name for p in (samples / "A").iterdir())[:8]
    for i in range(2):
        for folder in ("A", "B", "label"):
            parts = [np.asarray(Image.open(samples / folder / n)) for n in names]
            rows = [np.concatenate(parts[4 * i + 2 * r : 4 * i + 2 * r + 2], 1) for r in (0, 1)]
            (root / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.concatenate(rows, 0)).save(root / folder / f"m{i}.png")
    return root


def test_tiles_and_whole_image_are_different_protocols(levircd_samples: Path, tmp_path: Path):
    root = _mosaic_tree(levircd_samples, tmp_path / "mosaic")
    otsu = create_model("differencing_otsu")
    tiles = evaluate_protocol(otsu, root, None, "tiles", progress=False)
    whole = evaluate_protocol(otsu, root, None, "whole-image", stride=128, progress=False)
    assert tiles["images"] == whole["images"] == 2
    assert tiles["pixels"] == whole["pixels"] == 2 * 512 * 512

    dataset = ChangeFolderDataset(root, patch_size=256, stride=256)  # 4 tiles per image
    samples = [dataset[i] for i in range(len(dataset))]
    with torch.no_grad():
        predictions = [otsu(s["image1"][None], s["image2"][None])[0, 1].numpy() for s in samples]
    f1, _ = change_f1([s["mask"].numpy() for s in samples], predictions)
    assert tiles["f1"] == pytest.approx(f1, abs=1e-6)  # Otsu thresholds each tile on its own
    assert whole["f1"] != pytest.approx(tiles["f1"], abs=1e-3)  # windows average 16 thresholds


def test_the_shipped_tiny_ceecnet_through_both_protocols(
    fake_levircd: Path, tmp_path: Path, capsys
):
    model = load_pretrained()
    kwargs = model.pretrained_info["model_kwargs"]
    checkpoint = write_checkpoint(tmp_path / "tiny.pt", model, "ceecnet_v1", kwargs)
    base = ["evaluate", "--checkpoint", str(checkpoint), "--data", str(fake_levircd), "--quiet"]
    columns = {}
    for protocol in ("whole-image", "tiles"):
        assert main([*base, "--split", "val", "--protocol", protocol]) == 0
        columns[protocol] = printed_columns(capsys.readouterr().out)
    assert columns["whole-image"] == columns["tiles"]  # a 256² image is one window, one tile


def test_protocol_needs_a_folder(tmp_path: Path, capsys):
    otsu = create_model("differencing_otsu")
    checkpoint = write_checkpoint(tmp_path / "otsu.pt", otsu, "differencing_otsu", {})
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--protocol", "tiles"]) == 2
    assert "pass --data DIR" in capsys.readouterr().err


def test_tiles_larger_than_the_images_are_named(tmp_path: Path, capsys):
    root = tmp_path / "small"
    for folder in ("A", "B", "label"):
        (root / "test" / folder).mkdir(parents=True)
        Image.new("RGB" if folder != "label" else "L", (64, 64)).save(
            root / "test" / folder / "a.png"
        )
    otsu = create_model("differencing_otsu")
    checkpoint = write_checkpoint(tmp_path / "otsu.pt", otsu, "differencing_otsu", {})
    args = ["evaluate", "--checkpoint", str(checkpoint), "--data", str(root), "--quiet"]
    assert main([*args, "--protocol", "tiles"]) == 2
    assert (
        f"{root / 'test/A/a.png'}: 64×64 is smaller than patch_size=256" in capsys.readouterr().err
    )
    assert main([*args, "--protocol", "whole-image"]) == 0  # one forward pass of the 64² image
