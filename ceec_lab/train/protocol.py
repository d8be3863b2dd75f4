"""Evaluation protocols for change detection: how the numbers of a results table are made.

Two published numbers are comparable only when they were measured the same way.
The CEECNet paper (Diakogiannis et al. 2021, its LEVIR-CD and WHU tables)
predicts each whole test raster with overlapping windows and reports, for the
**change class**, precision, recall, F1, IoU and MCC over all test pixels.
Two common slips make numbers look better or worse than they are:

* averaging F1 or IoU over the change *and* the no-change class: no-change
  covers ~95 % of LEVIR-CD and is easy, so the class mean flatters a model;
* scoring independent 256×256 tiles: pixels near a tile border lose context
  that whole-image inference gives them.

So :func:`evaluate_protocol` names its protocol:

* ``"whole-image"``: each image predicted by
  :func:`~ceec_lab.train.inference.sliding_window_probs` with the paper's
  setting (256×256 windows, stride 64, reflect padding, softmax averaged over
  overlaps), thresholded at 0.5;
* ``"tiles"``: each image cut into ``window``-sized tiles (the last one flush
  with the edge), each tile one forward pass.

Metrics come from :func:`ceec_lab.metrics.change_metrics`, accumulated over
every pixel of the split.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ceec_lab.data import ChangeFolderDataset
from ceec_lab.metrics import change_metrics
from ceec_lab.train.config import ExperimentConfig
from ceec_lab.train.inference import (
    PAPER_STRIDE,
    PAPER_WINDOW,
    default_batch_size,
    model_device,
    output_to_probs,
    sliding_window_probs,
)
from ceec_lab.train.runs import load_model

PROTOCOLS = ("whole-image", "tiles")
#: The columns of the paper's results tables, all of the change class.
PAPER_COLUMNS = ("precision", "recall", "f1", "iou", "mcc")


def default_split(root: str | Path) -> str | None:
    """``"test"`` when ``root`` has it, else ``"val"``, else ``None`` (a flat folder)."""
    return next((s for s in ("test", "val") if (Path(root) / s).is_dir()), None)


def describe_protocol(
    protocol: str, window: int = PAPER_WINDOW, stride: int = PAPER_STRIDE, threshold: float = 0.5
) -> str:
    """One line saying how the numbers were made."""
    _check_protocol(protocol)
    if protocol == "whole-image":
        paper = " (the paper's)" if (window, stride) == (PAPER_WINDOW, PAPER_STRIDE) else ""
        return (
            f"whole-image: {window}×{window} windows, stride {stride}, reflect padding, "
            f"softmax averaged over overlaps, threshold {threshold}{paper}; an image no "
            "larger than a window is one forward pass"
        )
    return f"tiles: {window}×{window} tiles, one forward pass each, threshold {threshold}"


def evaluate_protocol(
    model: nn.Module,
    root: str | Path,
    split: str | None,
    protocol: str = "whole-image",
    window: int = PAPER_WINDOW,
    stride: int = PAPER_STRIDE,
    threshold: float = 0.5,
    batch_size: int | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Change-class metrics of a change model on a LEVIR-CD style folder.

    Args:
        model: a kit change model in eval mode; the images go to its device.
        root, split: the folder and split (``None``: a flat folder), read by
            :class:`~ceec_lab.data.ChangeFolderDataset` with its file checks.
        protocol: ``"whole-image"`` or ``"tiles"`` (see the module docstring).
        window: window or tile side. stride: window step (``"whole-image"`` only).
        threshold: change probability that counts as change.
        batch_size: windows or tiles per forward pass (``None``: 8 on a GPU, 1 on a CPU).
        progress: a progress bar over images (or tile batches).

    Returns:
        ``{"precision", "recall", "f1", "iou", "mcc", "images", "pixels"}``; the
        metrics are fractions, of the change class.
    """
    _check_protocol(protocol)
    if model.task != "change":
        raise ValueError(f"evaluation protocols are for change models; this is a {model.task}")
    tiles = protocol == "tiles"
    dataset = ChangeFolderDataset(root, split, patch_size=window if tiles else None, stride=window)
    device = model_device(model)
    batch_size = default_batch_size(device) if batch_size is None else batch_size
    metrics = change_metrics(threshold).to(device)
    loader = DataLoader(dataset, batch_size=batch_size if tiles else 1)
    pixels = 0
    with torch.no_grad():
        for batch in tqdm(loader, desc=f"evaluate ({protocol})", disable=not progress):
            x1, x2 = batch["image1"].to(device), batch["image2"].to(device)
            if tiles:
                probs = output_to_probs(model(x1, x2), model.output)
            else:
                probs = sliding_window_probs(model, x1, x2, window, stride, batch_size=batch_size)
            metrics.update(probs, batch["mask"].to(device))
            pixels += batch["mask"].numel()
    results = {name: float(value) for name, value in metrics.compute().items()}
    return {
        **{name: results[name] for name in PAPER_COLUMNS},
        "images": len(dataset.names),
        "pixels": pixels,
    }


def run_protocol(
    checkpoint: str | Path,
    protocol: str,
    data: str | Path | None = None,
    split: str | None = None,
    stride: int = PAPER_STRIDE,
    config: ExperimentConfig | None = None,
    progress: bool = True,
) -> str:
    """``ceec-lab evaluate --protocol``: load a checkpoint, evaluate, return the printout.

    Args:
        data: the folder; defaults to ``data.path`` of ``config`` (or of the
            config stored in the checkpoint) when its ``data.kind`` is ``folder``.
        split: defaults to :func:`default_split`.
    """
    _check_protocol(protocol)
    model, stored = load_model(checkpoint)
    config = config or stored
    if data is None:
        if config.data.kind != "folder":
            raise ValueError(
                f"--protocol needs a LEVIR-CD style folder: pass --data DIR ({checkpoint} "
                f"was trained on {config.data.kind!r} data)"
            )
        data = config.data.path
    split = default_split(data) if split is None else split
    results = evaluate_protocol(model, data, split, protocol, stride=stride, progress=progress)
    where = Path(data) / split if split else Path(data)
    return f"evaluated {checkpoint} on {where}\n" + format_results(
        results, describe_protocol(protocol, stride=stride)
    )


def format_results(results: dict[str, float], description: str) -> str:
    """The protocol line and the paper's columns in percent, as its tables print them."""
    lines = [
        f"protocol: {description}",
        f"on {results['images']} images ({results['pixels']:,} pixels); change class only "
        "(not the mean over change and no-change), in %:",
        "  " + "  ".join(f"{name:>9}" for name in PAPER_COLUMNS),
        "  " + "  ".join(f"{100 * results[name]:>9.2f}" for name in PAPER_COLUMNS),
    ]
    return "\n".join(lines)


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
