"""Data: synthetic scenes (the embedded default), real change folders, tiling,
multitask targets and paired augmentation."""

from ceec_lab.data.augment import (
    NORMALISATION,
    ChangeAugmentation,
    change_augmentation,
    normalisation_stats,
)
from ceec_lab.data.datasets import (
    ChangeDataset,
    ChangeFolderDataset,
    SyntheticChangeDataset,
    SyntheticSegmentationDataset,
)
from ceec_lab.data.export import write_change_folder
from ceec_lab.data.io import read_image, read_label, write_png
from ceec_lab.data.scene_stats import scene_statistics
from ceec_lab.data.synthetic import (
    CLASS_COLOURS,
    SEGMENTATION_CLASSES,
    make_change_pair,
    make_segmentation_scene,
)
from ceec_lab.data.targets import multitask_targets
from ceec_lab.data.tiling import SlidingWindow, TileGrid, stitch_tiles, tile_image

__all__ = [
    "CLASS_COLOURS",
    "NORMALISATION",
    "SEGMENTATION_CLASSES",
    "ChangeAugmentation",
    "ChangeDataset",
    "ChangeFolderDataset",
    "SlidingWindow",
    "SyntheticChangeDataset",
    "SyntheticSegmentationDataset",
    "TileGrid",
    "change_augmentation",
    "make_change_pair",
    "make_segmentation_scene",
    "multitask_targets",
    "normalisation_stats",
    "read_image",
    "read_label",
    "scene_statistics",
    "stitch_tiles",
    "tile_image",
    "write_change_folder",
    "write_png",
]
