"""Sliding-window prediction and atomic PNG output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ceec_lab.train import predict_folder, save_prediction, sliding_window_probs
from ceec_lab.train.inference import (
    PAPER_STRIDE,
    default_batch_size,
    default_stride,
    output_to_probs,
    predict_probs,
)


class PixelwiseChange(nn.Module):
    """A 1×1 convolution: each output pixel depends on that pixel alone, so any
    tiling must reproduce the whole-image prediction exactly."""

    task, output = "change", "logits"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(6, 2, 1)

    def forward(self, x1, x2):
        return self.conv(torch.cat([x1, x2], 1))


class SizeCheckingChange(PixelwiseChange):
    """Refuses inputs that are not ``window``-sized, like a model with fixed input."""

    def __init__(self, window: int) -> None:
        super().__init__()
        self.window = window

    def forward(self, x1, x2):
        assert x1.shape[-2:] == (self.window, self.window)
        return super().forward(x1, x2)


@pytest.mark.parametrize(("window", "stride", "margin"), [(32, 16, None), (32, 8, 0), (16, 16, 3)])
def test_sliding_window_equals_whole_image_for_a_pixelwise_model(window, stride, margin):
    model = SizeCheckingChange(window).eval()
    x1, x2 = torch.rand(2, 3, 70, 93), torch.rand(2, 3, 70, 93)  # odd size
    probs = sliding_window_probs(model, x1, x2, window=window, stride=stride, margin=margin)
    assert probs.shape == (2, 2, 70, 93)
    expected = model.conv(torch.cat([x1, x2], 1)).softmax(1)
    torch.testing.assert_close(probs, expected)


class Multiple32Change(nn.Module):
    """A small conv net that only takes multiples of 32 and whose pixels see their
    neighbours (3×3 convolutions at two scales), like the kit's real models."""

    task, output, input_multiple = "change", "logits", 32

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(6, 2, 3, padding=1)
        self.coarse = nn.Conv2d(6, 2, 3, padding=1)
        self.calls: list[tuple[int, ...]] = []

    def forward(self, x1, x2):
        assert x1.shape[-2] % 32 == 0 and x1.shape[-1] % 32 == 0, x1.shape
        self.calls.append(tuple(x1.shape))
        x = torch.cat([x1, x2], 1)
        coarse = nn.functional.interpolate(
            self.coarse(nn.functional.avg_pool2d(x, 2)), x.shape[-2:]
        )
        return self.conv(x) + coarse


def test_an_image_that_fits_one_window_is_one_forward_pass():
    model = Multiple32Change().eval()
    x1, x2 = torch.rand(3, 3, 64, 96), torch.rand(3, 3, 64, 96)
    probs = sliding_window_probs(model, x1, x2, window=128, batch_size=2)
    assert model.calls == [(2, 3, 64, 96), (1, 3, 64, 96)]  # batches of whole images, no windows
    with torch.no_grad():
        direct = model(x1, x2).softmax(1)
    torch.testing.assert_close(probs, direct)


def test_an_odd_sized_image_is_padded_to_the_model_multiple_only():
    model = Multiple32Change().eval()
    x1, x2 = torch.rand(1, 3, 40, 70), torch.rand(1, 3, 40, 70)
    probs = sliding_window_probs(model, x1, x2, window=256, stride=64)
    assert model.calls == [(1, 3, 64, 96)]  # not 256×256 windows
    assert probs.shape == (1, 2, 40, 70)
    pad = (0, 26, 0, 24)  # right, bottom: reflect up to 96 × 64
    padded = [nn.functional.pad(x, pad, mode="reflect") for x in (x1, x2)]
    with torch.no_grad():
        direct = model(*padded).softmax(1)[..., :40, :70]
    torch.testing.assert_close(probs, direct)


def test_overlapping_windows_are_averaged():
    """Stitching by hand: each window's softmax placed where it came from, divided by
    the number of windows covering each pixel."""
    model = Multiple32Change().eval()
    x1, x2 = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
    probs = sliding_window_probs(model, x1, x2, window=32, stride=16, margin=0)
    total, count = torch.zeros(1, 2, 64, 96), torch.zeros(64, 96)
    with torch.no_grad():
        for top in range(0, 33, 16):
            for left in range(0, 65, 16):
                crop = (..., slice(top, top + 32), slice(left, left + 32))
                total[crop] += model(x1[crop], x2[crop]).softmax(1)
                count[crop[1:]] += 1
    assert count.max() == 4 and count.min() == 1  # corners seen once, the middle four times
    torch.testing.assert_close(probs, total / count)
    assert all(call[-2:] == (32, 32) for call in model.calls)


def test_predict_probs_is_one_pass_or_the_paper_windows():
    model = Multiple32Change()  # in training mode: prediction must switch it to eval
    x1, x2 = torch.rand(2, 3, 64, 96), torch.rand(2, 3, 64, 96)
    probs = predict_probs(model, x1, x2)
    assert not model.training and model.calls == [(2, 3, 64, 96)]  # the whole batch at once
    assert probs.dtype == torch.float32 and probs.device.type == "cpu"
    with torch.no_grad():
        torch.testing.assert_close(probs, model(x1, x2).softmax(1))
    windowed = predict_probs(model, x1, x2, window=64)  # stride: the paper's 64
    expected = sliding_window_probs(model, x1, x2, window=64, stride=PAPER_STRIDE)
    torch.testing.assert_close(windowed, expected)


def test_default_stride_is_half_the_window():
    model = Multiple32Change().eval()
    x = torch.rand(1, 3, 96, 96)
    sliding_window_probs(model, x, x, window=32, margin=0, batch_size=1)
    assert len(model.calls) == 5 * 5  # starts 0, 16, 32, 48, 64 on each axis
    assert default_stride(256) == 128 and PAPER_STRIDE == 64
    assert default_batch_size(torch.device("cpu")) == 1  # batching is slower on a CPU
    assert default_batch_size(torch.device("cuda")) == 8


def test_window_must_fit_the_model_multiple():
    x = torch.rand(1, 3, 100, 100)
    with pytest.raises(ValueError, match="window=48 is not a multiple of 32"):
        sliding_window_probs(Multiple32Change(), x, x, window=48)


def test_output_to_probs_by_kind():
    logits = torch.tensor([[[[0.0]], [[np.log(3.0)]]]])  # (1, 2, 1, 1)
    torch.testing.assert_close(
        output_to_probs(logits, "logits").flatten(), torch.tensor([0.25, 0.75])
    )
    probs = torch.tensor([0.4, 0.6]).reshape(1, 2, 1, 1)
    assert output_to_probs(probs, "probs") is not None
    torch.testing.assert_close(output_to_probs((probs, None, None), "multitask"), probs)
    features = ((torch.rand(1, 4, 1, 1), torch.rand(1, 4, 1, 1)),)
    torch.testing.assert_close(
        output_to_probs((logits, features), "logits_features").flatten(),
        torch.tensor([0.25, 0.75]),
    )
    with pytest.raises(ValueError, match="output kind"):
        output_to_probs(probs, "scores")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"window": 0}, "window"), ({"stride": 40}, "stride"), ({"margin": -1}, "margin")],
)
def test_bad_window_settings_are_named(kwargs, match):
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match=match):
        sliding_window_probs(PixelwiseChange(), x, x, **{"window": 32, "stride": 16, **kwargs})


def test_change_model_needs_both_dates():
    with pytest.raises(ValueError, match="2 image batch"):
        sliding_window_probs(PixelwiseChange(), torch.rand(1, 3, 8, 8), window=8, stride=8)


def test_save_prediction_two_classes(tmp_path: Path):
    change = torch.tensor([[0.2, 0.8], [0.5, 0.0]])
    mask_path, confidence_path = save_prediction(torch.stack([1 - change, change]), tmp_path, "a")
    assert mask_path == tmp_path / "masks" / "a.png"
    mask = np.asarray(Image.open(mask_path))
    confidence = np.asarray(Image.open(confidence_path))
    np.testing.assert_array_equal(mask, [[0, 255], [255, 0]])  # threshold 0.5 counts as change
    np.testing.assert_array_equal(confidence, [[51, 204], [128, 0]])


def test_save_prediction_many_classes(tmp_path: Path):
    probs = torch.tensor([[[0.1]], [[0.6]], [[0.3]]])  # (3, 1, 1)
    mask_path, confidence_path = save_prediction(probs, tmp_path, "b")
    assert np.asarray(Image.open(mask_path)).tolist() == [[1]]
    assert np.asarray(Image.open(confidence_path)).tolist() == [[153]]


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch):
    probs = torch.tensor([[[0.9]], [[0.1]]])
    mask_path, _ = save_prediction(probs, tmp_path, "c")
    before = mask_path.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_prediction(probs.flip(0), tmp_path, "c")
    assert mask_path.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == ["c.png"]


def write_rgb(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_predict_folder_on_an_odd_sized_pair(tmp_path: Path):
    rng = np.random.default_rng(0)
    for name in ("x.png", "y.png"):
        write_rgb(tmp_path / "A" / name, rng.integers(0, 256, (70, 93, 3), dtype=np.uint8))
        write_rgb(tmp_path / "B" / name, rng.integers(0, 256, (70, 93, 3), dtype=np.uint8))
    model = SizeCheckingChange(32)
    written = predict_folder(
        model, tmp_path / "A", tmp_path / "B", tmp_path / "out", window=32, stride=16
    )
    assert written == [tmp_path / "out" / "masks" / n for n in ("x.png", "y.png")]
    for folder in ("masks", "confidence"):
        files = sorted((tmp_path / "out" / folder).iterdir())
        assert [f.name for f in files] == ["x.png", "y.png"]  # nothing else, no temp files
        assert np.asarray(Image.open(files[0])).shape == (70, 93)
    mask = np.asarray(Image.open(written[0]))
    assert set(np.unique(mask)) <= {0, 255}


def test_predict_folder_needs_matching_names(tmp_path: Path):
    write_rgb(tmp_path / "A" / "x.png", np.zeros((8, 8, 3), np.uint8))
    write_rgb(tmp_path / "B" / "z.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="lack a partner"):
        predict_folder(PixelwiseChange(), tmp_path / "A", tmp_path / "B", tmp_path / "out", 8, 8)
    with pytest.raises(FileNotFoundError, match="image2 folder"):
        predict_folder(PixelwiseChange(), tmp_path / "A", tmp_path / "C", tmp_path / "out", 8, 8)


def test_prediction_settings_come_from_the_checkpoint_config(tmp_path: Path, monkeypatch):
    from ceec_lab.files import save_torch
    from ceec_lab.train import runs
    from ceec_lab.train.config import ExperimentConfig

    raw = {"model": {"name": "differencing_otsu"}, "predict": {"window": 128, "stride": 64}}
    config = ExperimentConfig.from_dict(raw).to_dict()
    save_torch({"model": {}, "config": config}, tmp_path / "otsu.pt")
    seen = []

    def record(*args, **kwargs) -> list[Path]:
        seen.append(args[4:6])
        return []

    monkeypatch.setattr(runs, "predict_folder", record)
    runs.run_prediction(tmp_path / "otsu.pt", "A", "B", tmp_path / "out1")
    runs.run_prediction(tmp_path / "otsu.pt", "A", "B", tmp_path / "out2", stride=32)  # flag wins
    assert seen == [(128, 64), (128, 32)]
