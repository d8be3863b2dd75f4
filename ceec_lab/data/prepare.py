"""Check a LEVIR-CD or WHU-CD download, then describe it in a manifest and normalisation file.

A download that is incomplete or subtly wrong (a missing label, a label saved
as a greyscale JPEG with values between 0 and 255, a date-2 image of another
size) otherwise shows up deep inside a training run, or never. ``ceec-lab
prepare levir-cd --root DIR`` reads every file once and reports **all** the
problems it finds, one line each, naming the file and what was expected:

* layout: ``DIR/{train,val,test}/{A,B,label}/`` (the layout LEVIR-CD ships in);
* pairs: every ``A`` image has a ``B`` image and a ``label`` of the same name
  (so the file counts of the three folders agree);
* sizes: the three files of a pair have the same height and width, at least
  the 256×256 crops the paper trains on;
* values: RGB images, binary labels (0/255 or 0/1).

Differences from the published data set that do not stop training (fewer pairs
than the official splits, tiles of another size) are reported as notes.

When nothing is wrong it writes, atomically, beside the data (or in ``out``):

* ``manifest.json``: the pairs of each split with their size and changed pixels;
* ``normalisation.json``: per-channel mean and std of the training images
  (both dates) on the 0–255 scale, the form
  :class:`~ceec_lab.data.ChangeAugmentation` takes as ``normalise=(mean, std)``.
  The CEECNet reference code normalises LEVIR-CD with the constants in
  :data:`~ceec_lab.data.augment.NORMALISATION`; a full LEVIR-CD download
  should give numbers close to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ceec_lab.data.augment import normalisation_stats
from ceec_lab.data.io import IMAGE_SUFFIXES, image_header, list_images, read_image, read_label
from ceec_lab.files import save_json

#: The paper's training crops: smaller images cannot be trained on as it did.
MIN_SIZE = 256
FOLDERS = ("A", "B", "label")
MANIFEST, NORMALISATION_FILE = "manifest.json", "normalisation.json"


@dataclass(frozen=True)
class DatasetSpec:
    """What a download of one data set should look like."""

    name: str
    splits: tuple[str, ...]
    official_pairs: dict[str, int] | None  # pairs per split as published (None: no fixed split)
    official_size: tuple[int, int] | None  # (H, W) of the published tiles
    how_to_get: str  # shown when the layout is wrong


DATASETS: dict[str, DatasetSpec] = {
    "levir-cd": DatasetSpec(
        name="LEVIR-CD",
        splits=("train", "val", "test"),
        official_pairs={"train": 445, "val": 64, "test": 128},
        official_size=(1024, 1024),
        how_to_get="LEVIR-CD (Chen & Shi 2020) ships as train/, val/ and test/ folders, "
        "each with A/, B/ and label/ PNGs",
    ),
    "whu-cd": DatasetSpec(
        name="WHU-CD",
        splits=("train", "val", "test"),
        official_pairs=None,
        official_size=None,
        how_to_get="WHU-CD is published as two large GeoTIFFs (2012, 2016) and a change "
        "label; cut them into tiles and split them into train/, val/ and test/, each with "
        "A/, B/ and label/ (the CEECNet paper used its own split)",
    ),
}


@dataclass
class PrepareReport:
    """What :func:`check_download` found.

    ``problems`` stop ``prepare`` (nothing is written); ``notes`` do not.
    """

    dataset: str
    root: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    splits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    normalisation: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def manifest(self) -> dict[str, Any]:
        """The ``manifest.json`` content: per split, the pairs and the changed share."""
        splits = {}
        for split, pairs in self.splits.items():
            pixels = sum(p["height"] * p["width"] for p in pairs)
            changed = sum(p["change_pixels"] for p in pairs)
            splits[split] = {
                "pairs": len(pairs),
                "change_fraction": changed / pixels if pixels else 0.0,
                "files": pairs,
            }
        return {"dataset": self.dataset, "root": str(self.root.resolve()), "splits": splits}


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``"levir-cd"`` or ``"whu-cd"``."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def check_download(root: str | Path, dataset: str, progress: bool = True) -> PrepareReport:
    """Check every file of a download; gather all problems instead of stopping at the first.

    Args:
        root: the folder holding ``train/``, ``val/`` and ``test/``.
        dataset: ``"levir-cd"`` or ``"whu-cd"``.
        progress: a progress bar over the pairs of each split.

    Returns:
        A :class:`PrepareReport`; its ``normalisation`` is computed on the
        training split's images (both dates).
    """
    spec, root = dataset_spec(dataset), Path(root)
    report = PrepareReport(spec.name, root)
    if not root.is_dir():
        report.problems.append(f"{root}: folder not found ({spec.how_to_get})")
        return report
    for split in spec.splits:
        files = _split_files(root / split, report, spec)
        if files is None:
            continue
        names = _complete_pairs(root / split, files, report)
        pairs = tqdm(names, desc=f"check {split}", unit="pair", disable=not progress)
        stats = _normalisation(_checked_samples(split, files, pairs, report), report, split)
        if split == "train":
            report.normalisation = stats
        _add_notes(spec, split, report)
    return report


def prepare_dataset(
    root: str | Path, dataset: str, out: str | Path | None = None, progress: bool = True
) -> PrepareReport:
    """:func:`check_download`, then write ``manifest.json`` and ``normalisation.json``.

    Nothing is written when a problem was found.

    Args:
        out: where the two files go; defaults to ``root``.
    """
    report = check_download(root, dataset, progress)
    if report.ok:
        out = Path(root if out is None else out)
        save_json(report.manifest(), out / MANIFEST)
        save_json(report.normalisation, out / NORMALISATION_FILE)
    return report


def _split_files(
    folder: Path, report: PrepareReport, spec: DatasetSpec
) -> dict[str, dict[str, Path]] | None:
    """``{"A": {stem: path}, "B": ..., "label": ...}``, or ``None`` when a folder is missing."""
    if not folder.is_dir():
        report.problems.append(f"{folder}: missing split folder ({spec.how_to_get})")
        return None
    missing = [key for key in FOLDERS if not (folder / key).is_dir()]
    for key in missing:
        report.problems.append(f"{folder / key}: missing folder (expected A/, B/ and label/)")
    if missing:
        return None
    files = {key: list_images(folder / key) for key in FOLDERS}
    if not files["A"]:
        report.problems.append(f"{folder / 'A'}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _complete_pairs(
    folder: Path, files: dict[str, dict[str, Path]], report: PrepareReport
) -> list[str]:
    """Names present in A, B and label; one problem per file left without its partners."""
    counts = ", ".join(f"{key} {len(files[key])}" for key in FOLDERS)
    for name in sorted(set().union(*files.values())):
        present = [key for key in FOLDERS if name in files[key]]
        missing = [f"{key}/" for key in FOLDERS if key not in present]
        if missing:
            report.problems.append(
                f"{files[present[0]][name]}: no file {name}.* in {' or '.join(missing)} "
                f"of {folder} (A, B and label must hold the same names; found {counts} files)"
            )
    return sorted(set(files["A"]) & set(files["B"]) & set(files["label"]))


def _checked_samples(
    split: str, files: dict[str, dict[str, Path]], names, report: PrepareReport
) -> Iterator[dict[str, np.ndarray]]:
    """Check each pair's sizes and values; record it and yield its images when all is fine."""
    report.splits[split] = []
    for name in names:
        paths = {key: files[key][name] for key in FOLDERS}
        size = _checked_size(paths, report)
        if size is None:
            continue
        try:
            sample = {"image1": read_image(paths["A"]), "image2": read_image(paths["B"])}
            label = read_label(paths["label"])
        except (ValueError, OSError) as error:  # messages name the file
            report.problems.append(str(error))
            continue
        root = report.root
        entry = {"name": name} | {k: str(path.relative_to(root)) for k, path in paths.items()}
        entry |= {"height": size[0], "width": size[1], "change_pixels": int(label.sum())}
        report.splits[split].append(entry)
        yield sample


def _checked_size(paths: dict[str, Path], report: PrepareReport) -> tuple[int, int] | None:
    """The pair's ``(H, W)``, or ``None`` after recording why it is unusable."""
    sizes = {}
    for key, path in paths.items():
        try:
            sizes[key] = image_header(path)[:2]
        except OSError as error:
            report.problems.append(f"{path}: not a readable image ({error})")
            return None
    if len(set(sizes.values())) != 1:
        shown = ", ".join(f"{key} {h}×{w}" for key, (h, w) in sizes.items())
        report.problems.append(f"{paths['A']}: the pair's sizes differ ({shown}); expected equal")
        return None
    h, w = sizes["A"]
    if min(h, w) < MIN_SIZE:
        report.problems.append(
            f"{paths['A']}: {h}×{w} is smaller than the {MIN_SIZE}×{MIN_SIZE} training crops"
        )
        return None
    return h, w


def _normalisation(
    samples: Iterator[dict[str, np.ndarray]], report: PrepareReport, split: str
) -> dict[str, Any] | None:
    """Mean and std per channel (0–255) of a split's images, both dates (reads them all)."""
    try:
        mean, std = normalisation_stats(samples)
    except ValueError:  # no usable pair; the problems say why
        return None
    return {
        "dataset": report.dataset,
        "computed_on": f"{split} split, both dates, {len(report.splits[split])} pairs",
        "scale": "0-255 per channel (R, G, B)",
        "mean": [round(v, 3) for v in mean],
        "std": [round(v, 3) for v in std],
    }


def _add_notes(spec: DatasetSpec, split: str, report: PrepareReport) -> None:
    """Differences from the published data set that do not stop training."""
    pairs = report.splits.get(split, [])
    official = (spec.official_pairs or {}).get(split)
    if official is not None and pairs and len(pairs) != official:
        report.notes.append(
            f"{split}: {len(pairs)} pairs; the published {spec.name} {split} split has "
            f"{official} (numbers on a subset are not comparable with the paper's)"
        )
    if spec.official_size is not None:
        other = [p for p in pairs if (p["height"], p["width"]) != spec.official_size]
        if other:
            h, w = spec.official_size
            report.notes.append(
                f"{split}: {len(other)} of {len(pairs)} pairs are not {h}×{w} like the "
                f"published {spec.name} tiles (e.g. {other[0]['A']}: "
                f"{other[0]['height']}×{other[0]['width']})"
            )
