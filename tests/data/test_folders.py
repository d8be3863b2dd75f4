"""Real LEVIR-CD/WHU-CD style folders: layouts, checks with clear messages, the real samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from ceec_lab.data import (
    ChangeFolderDataset,
    SyntheticChangeDataset,
    tile_image,
    write_change_folder,
)


def _write_pair(
    root: Path, name: str, size=(16, 16), image_mode="RGB", label_values=(0, 255)
) -> None:
    rng = np.random.default_rng(0)
    bands = {"RGB": 3, "RGBA": 4, "L": 1}[image_mode]
    for date in ("A", "B"):
        (root / date).mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (*size, bands), dtype=np.uint8).squeeze()
        Image.fromarray(pixels, mode=image_mode).save(root / date / f"{name}.png")
    (root / "label").mkdir(parents=True, exist_ok=True)
    label = np.resize(np.array(label_values, np.uint8), size)
    Image.fromarray(label, mode="L").save(root / "label" / f"{name}.png")


def test_flat_and_split_layouts(tmp_path: Path) -> None:
    _write_pair(tmp_path / "flat", "a")
    _write_pair(tmp_path / "split" / "train", "a")
    _write_pair(tmp_path / "split" / "train", "b")
    assert len(ChangeFolderDataset(tmp_path / "flat")) == 1
    assert len(ChangeFolderDataset(tmp_path / "split", split="train")) == 2
    with pytest.raises(ValueError, match="pass split="):
        ChangeFolderDataset(tmp_path / "split")
    with pytest.raises(FileNotFoundError, match="split 'val' not found"):
        ChangeFolderDataset(tmp_path / "split", split="val")


@pytest.mark.parametrize("values", [(0, 255), (0, 1)])
def test_labels_0_255_and_0_1_both_read_as_0_1(tmp_path: Path, values: tuple[int, int]) -> None:
    _write_pair(tmp_path, "a", label_values=values)
    mask = ChangeFolderDataset(tmp_path)[0]["mask"]
    assert mask.dtype == torch.int64 and set(mask.unique().tolist()) == {0, 1}


def test_missing_label_names_the_file(tmp_path: Path) -> None:
    _write_pair(tmp_path, "a")
    _write_pair(tmp_path, "b")
    (tmp_path / "label" / "b.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"label.*b\.\*: missing label"):
        ChangeFolderDataset(tmp_path)


def test_mismatched_sizes_name_the_files(tmp_path: Path) -> None:
    _write_pair(tmp_path, "a")
    Image.new("RGB", (16, 20)).save(tmp_path / "B" / "a.png")
    with pytest.raises(ValueError, match=r"mismatched sizes for 'a'.*B.a\.png: 20×16"):
        ChangeFolderDataset(tmp_path)


def test_one_band_image_is_rejected_when_the_dataset_is_built(tmp_path: Path) -> None:
    _write_pair(tmp_path, "a", image_mode="L")
    with pytest.raises(ValueError, match=r"A.a\.png: expected 3 bands, found 1"):
        ChangeFolderDataset(tmp_path)


def test_four_bands_are_an_error_unless_bands_are_chosen(tmp_path: Path) -> None:
    _write_pair(tmp_path, "a", image_mode="RGBA")
    with pytest.raises(ValueError, match=r"A.a\.png: expected 3 bands, found 4.*bands=\[0, 1, 2\]"):
        ChangeFolderDataset(tmp_path)
    dataset = ChangeFolderDataset(tmp_path, bands=[0, 1, 2])
    rgba = np.asarray(Image.open(tmp_path / "A" / "a.png"), np.float32) / 255
    assert dataset.in_channels == 3
    np.testing.assert_array_equal(dataset[0]["image1"].numpy(), np.moveaxis(rgba[..., :3], -1, 0))
    with pytest.raises(ValueError, match=r"bands=\[0, 4\] asked for, but the file has 4 bands"):
        ChangeFolderDataset(tmp_path, bands=[0, 4])


def test_four_band_tiff_is_not_read_as_rgba(tmp_path: Path) -> None:
    _write_pair(tmp_path, "a")
    for date in ("A", "B"):
        tifffile.imwrite(
            tmp_path / date / "a.tif",
            np.zeros((4, 16, 16), np.uint8),
            photometric="minisblack",
            planarconfig="separate",
        )
        (tmp_path / date / "a.png").unlink()
    with pytest.raises(ValueError, match=r"a\.tif: expected 3 bands, found 4"):
        ChangeFolderDataset(tmp_path)
    assert ChangeFolderDataset(tmp_path, bands=[2, 1, 0])[0]["image1"].shape == (3, 16, 16)


def test_non_binary_label_is_found_when_the_dataset_is_built(tmp_path: Path) -> None:
    _write_pair(tmp_path, "a")
    _write_pair(tmp_path, "z", label_values=(0, 1, 2))  # the last file
    with pytest.raises(ValueError, match=r"label.z\.png: label values \[0, 1, 2\].*0/1 or 0/255"):
        ChangeFolderDataset(tmp_path)


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    _write_pair(tmp_path, "a")
    (tmp_path / "B" / "a.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"B.a\.png: cannot be read as an image"):
        ChangeFolderDataset(tmp_path)


def test_tiff_and_jpeg_are_read(tmp_path: Path) -> None:
    for date in ("A", "B"):
        (tmp_path / date).mkdir()
    (tmp_path / "label").mkdir()
    tifffile.imwrite(
        tmp_path / "A" / "t.tif",
        np.full((3, 12, 10), 65535, np.uint16),
        photometric="rgb",
        planarconfig="separate",
    )  # band-first
    Image.new("RGB", (10, 12), (255, 0, 0)).save(tmp_path / "B" / "t.jpg", quality=100)
    Image.fromarray(np.zeros((12, 10), np.uint8)).save(tmp_path / "label" / "t.png")
    sample = ChangeFolderDataset(tmp_path)[0]
    assert sample["image1"].shape == (3, 12, 10) and torch.allclose(sample["image1"], torch.ones(1))
    assert sample["image2"][0].mean() > 0.95 and sample["image2"][1].mean() < 0.05


def test_synthetic_folder_round_trip(tmp_path: Path) -> None:
    write_change_folder(tmp_path, n=3, size=32, seed=4, progress=False)
    folder, synthetic = ChangeFolderDataset(tmp_path), SyntheticChangeDataset(3, 32, seed=4)
    assert len(folder) == 3
    for i in range(3):
        assert torch.equal(folder[i]["mask"], synthetic[i]["mask"])
        assert (folder[i]["image2"] - synthetic[i]["image2"]).abs().max() <= 0.5 / 255 + 1e-6
    assert not list(tmp_path.rglob(".*")), "temporary files left behind"


def test_real_levircd_samples_load_and_tile(levircd_samples: Path) -> None:
    dataset = ChangeFolderDataset(levircd_samples, multitask=True)
    assert len(dataset) == 11
    masks = [dataset[i]["mask"] for i in range(len(dataset))]
    assert all(m.shape == (256, 256) for m in masks)
    empty = dataset.names.index("train_386_0512_0768")
    assert masks[empty].sum() == 0 and sum(m.sum() for m in masks) > 0
    sample = dataset[0]
    assert (
        sample["image1"].shape == (3, 256, 256)
        and 0 <= sample["image1"].min() <= sample["image1"].max() <= 1
    )
    tiles, _ = tile_image(sample["image1"], size=128, stride=64)
    assert tiles.shape == (9, 3, 128, 128)
    patches = ChangeFolderDataset(levircd_samples, patch_size=128, stride=64)
    assert len(patches) == 11 * 9
    assert torch.equal(patches[1]["image1"], tiles[1])
