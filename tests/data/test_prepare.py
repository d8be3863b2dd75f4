"""``ceec-lab prepare levir-cd|whu-cd``: a fake LEVIR-CD tree built from the shared samples,
and damaged copies of it, each problem reported once with the file at fault."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ceec_lab.cli import main
from ceec_lab.data import ChangeFolderDataset
from ceec_lab.data.augment import normalisation_stats
from ceec_lab.data.prepare import check_download


def prepare(root: Path, capsys, dataset: str = "levir-cd") -> tuple[int, str, str]:
    code = main(["prepare", dataset, "--root", str(root), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_good_tree_gets_a_manifest_and_normalisation(fake_levircd: Path, capsys) -> None:
    code, out, err = prepare(fake_levircd, capsys)
    assert code == 0, err
    manifest = json.loads((fake_levircd / "manifest.json").read_text())
    assert manifest["dataset"] == "LEVIR-CD"
    assert {s: v["pairs"] for s, v in manifest["splits"].items()} == {
        "train": 3,
        "val": 1,
        "test": 7,
    }
    no_change = next(f for f in manifest["splits"]["train"]["files"] if "386" in f["name"])
    assert no_change["change_pixels"] == 0  # the sample with an all-zero label
    assert no_change["label"] == "train/label/train_386_0512_0768.png"
    train = ChangeFolderDataset(fake_levircd, split="train")
    mean, std = normalisation_stats(train.load(i) for i in range(len(train)))
    stats = json.loads((fake_levircd / "normalisation.json").read_text())
    np.testing.assert_allclose(stats["mean"], mean, atol=1e-3)
    np.testing.assert_allclose(stats["std"], std, atol=1e-3)
    assert "train: 3 pairs; the published LEVIR-CD train split has 445" in out  # a note
    assert "not 1024×1024" in out
    assert sorted(p.name for p in fake_levircd.iterdir()) == [
        "manifest.json",
        "normalisation.json",
        "test",
        "train",
        "val",
    ]  # no temporary files left


def _grey_label(root: Path) -> str:
    path = root / "test/label/test_2_0000_0000.png"
    label = np.asarray(Image.open(path)).copy()
    label[:4] = 128  # a JPEG-like grey edge
    Image.fromarray(label).save(path)
    return f"{path}: label values [0, 128, 255] found"


def _wrong_size(root: Path) -> str:
    path = root / "train/B/train_36_0512_0512.png"
    Image.open(path).crop((0, 0, 256, 200)).save(path)
    return (
        f"{root / 'train/A/train_36_0512_0512.png'}: the pair's sizes differ (A 256×256, B 200×256"
    )


def _missing_label(root: Path) -> str:
    (root / "val/label/val_27_0000_0256.png").unlink()
    return f"{root / 'val/A/val_27_0000_0256.png'}: no file val_27_0000_0256.* in label/ of"


def _count_mismatch(root: Path) -> str:
    Image.new("RGB", (256, 256)).save(root / "test/B/extra.png")
    return f"{root / 'test/B/extra.png'}: no file extra.* in A/ or label/ of {root / 'test'}"


def _small_images(root: Path) -> str:
    for folder in ("A", "B", "label"):
        path = root / "test" / folder / "test_7_0256_0512.png"
        Image.open(path).crop((0, 0, 128, 128)).save(path)
    return f"{root / 'test/A/test_7_0256_0512.png'}: 128×128 is smaller than the 256×256"


def _missing_split(root: Path) -> str:
    for path in sorted((root / "val").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (root / "val").rmdir()
    return f"{root / 'val'}: missing split folder (LEVIR-CD"


DAMAGE = [_grey_label, _wrong_size, _missing_label, _count_mismatch, _small_images, _missing_split]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_each_problem_is_named_once(fake_levircd: Path, capsys, damage) -> None:
    expected = damage(fake_levircd)
    code, _, err = prepare(fake_levircd, capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], err
    assert "1 problem(s)" in err and "nothing written" in err
    assert not (fake_levircd / "manifest.json").exists()


def test_all_problems_are_reported_together(fake_levircd: Path) -> None:
    expected = [damage(fake_levircd) for damage in DAMAGE if damage is not _missing_split]
    report = check_download(fake_levircd, "levir-cd", progress=False)
    assert len(report.problems) == len(expected)
    for message in expected:
        assert sum(message in problem for problem in report.problems) == 1, message


def test_whu_cd_has_no_published_split_to_compare_with(fake_levircd: Path, capsys) -> None:
    code, out, _ = prepare(fake_levircd, capsys, "whu-cd")
    assert code == 0 and "note:" not in out
    assert json.loads((fake_levircd / "manifest.json").read_text())["dataset"] == "WHU-CD"


def test_a_missing_root_says_how_the_data_set_comes(tmp_path: Path, capsys) -> None:
    code, _, err = prepare(tmp_path / "nowhere", capsys, "whu-cd")
    assert code == 1 and "two large GeoTIFFs" in err
