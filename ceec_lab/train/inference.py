"""Prediction on images of any size: sliding windows, averaged softmax, PNG output.

Networks are trained on small tiles (256×256 in the paper) but rasters are
larger, and CEECNet only takes sizes divisible by a power of two. The paper
predicts large rasters by sliding a 256×256 window with stride 64 over the
image (reflect padding at the edges) and averaging the softmax outputs where
windows overlap (docs/paper_map.md): each pixel is then decided by up to
(256/64)² = 16 windows that saw it in different contexts, which removes the
seams a plain tiling leaves at the tile borders. The tiling and stitching live
in :mod:`ceec_lab.data.tiling`; this module feeds them a model and writes the
results.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

OUTPUT_KINDS = ("logits", "probs", "multitask")


def output_to_probs(output: Tensor | Sequence[Tensor], kind: str) -> Tensor:
    """Class probabilities ``(B, K, H, W)`` in float32 from a model's raw output.

    Args:
        output: what the model returned.
        kind: the model's ``output`` attribute: ``"logits"`` (softmax is applied),
            ``"probs"`` (used as is) or ``"multitask"`` (the first element of the
            tuple, CEECNet's segmentation probabilities).
    """
    if kind == "multitask":
        return output[0].float()
    if kind == "probs":
        return output.float()
    if kind == "logits":
        return output.float().softmax(dim=1)
    raise ValueError(f"model output kind must be one of {OUTPUT_KINDS}, got {kind!r}")


def _check_window(window: int, stride: int, margin: int | None) -> None:
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")
    if not isinstance(stride, int) or not 1 <= stride <= window:
        raise ValueError(f"stride must be an int in [1, window={window}], got {stride!r}")
    if margin is not None and (not isinstance(margin, int) or margin < 0):
        raise ValueError(f"margin must be None or an int >= 0, got {margin!r}")


def sliding_window_probs(
    model: nn.Module,
    x1: Tensor,
    x2: Tensor | None = None,
    window: int = 256,
    stride: int = 64,
    margin: int | None = None,
    batch_size: int = 8,
) -> Tensor:
    """Class probabilities for images of any size, averaged over overlapping windows.

    A thin layer over the data layer's :class:`~ceec_lab.data.SlidingWindow`:
    the images are reflect-padded by ``margin`` on every side (and up to
    ``window`` when smaller), cut into ``window``-sized crops every ``stride``
    pixels (the last crop flush with the edge), the model's softmax is computed
    on every crop and the crops are stitched back, averaging where they overlap.

    Args:
        model: a kit model (``task``, ``output`` attributes), already in eval mode
            and on the images' device.
        x1: ``(B, C, H, W)`` images (the first date for change detection).
        x2: ``(B, C, H, W)`` second date, for change models only.
        window: crop side (a size the model accepts).
        stride: step between crops, at most ``window``.
        margin: reflected border added on every side; ``None`` uses
            ``(window - stride) // 2``, so that edge pixels are not only ever seen
            at the border of a crop.
        batch_size: crops per forward pass.

    Returns:
        ``(B, K, H, W)`` float32 probabilities on the images' device.
    """
    from ceec_lab.data import SlidingWindow

    _check_window(window, stride, margin)
    inputs = [x1] if model.task == "segmentation" else [x1, x2]
    if any(x is None or x.ndim != 4 for x in inputs):
        raise ValueError(
            f"a {model.task} model needs {len(inputs)} image batch(es) of shape (B, C, H, W)"
        )
    slider = SlidingWindow(size=window, stride=stride, margin=margin, batch_size=batch_size)
    with torch.no_grad():
        return slider(lambda *crops: output_to_probs(model(*crops), model.output), *inputs)


def _model_device(model: nn.Module) -> torch.device:
    """Where the model's tensors live (the CPU for a model without any)."""
    tensors = [*model.parameters(), *model.buffers()]
    return tensors[0].device if tensors else torch.device("cpu")


def read_image(path: str | os.PathLike) -> Tensor:
    """An RGB image file as a ``(3, H, W)`` float32 tensor in [0, 1], the scale the kit's
    datasets give the models (read by :func:`ceec_lab.data.read_image`)."""
    from ceec_lab.data import read_image as read_array

    return torch.from_numpy(read_array(path)).permute(2, 0, 1).contiguous()  # (3, H, W)


def find_pairs(image1_dir: str | os.PathLike, image2_dir: str | os.PathLike | None) -> list:
    """Image files of ``image1_dir`` matched by file name with those of ``image2_dir``.

    Returns:
        A list of ``(path1, path2)`` (``path2`` is ``None`` without ``image2_dir``).
    """
    from ceec_lab.data.io import IMAGE_SUFFIXES

    image1_dir = Path(image1_dir)
    if not image1_dir.is_dir():
        raise FileNotFoundError(f"image1 folder not found: {image1_dir}")
    paths1 = sorted(p for p in image1_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths1:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {image1_dir}")
    if image2_dir is None:
        return [(p, None) for p in paths1]
    image2_dir = Path(image2_dir)
    if not image2_dir.is_dir():
        raise FileNotFoundError(f"image2 folder not found: {image2_dir}")
    missing = [p.name for p in paths1 if not (image2_dir / p.name).is_file()]
    if missing:
        raise ValueError(
            f"{len(missing)} image(s) of {image1_dir} lack a partner in {image2_dir}: {missing[:5]}"
        )
    return [(p, image2_dir / p.name) for p in paths1]


def save_prediction(
    probs: Tensor, out_dir: str | os.PathLike, stem: str, threshold: float = 0.5
) -> tuple[Path, Path]:
    """Write ``masks/<stem>.png`` and ``confidence/<stem>.png`` under ``out_dir``, atomically.

    Two classes (change / no change): the mask is 255 where the change
    probability reaches ``threshold``, else 0, and the confidence map is the
    change probability scaled to 0-255. More classes: the mask holds the class
    index of the most probable class and the confidence map its probability.

    Args:
        probs: ``(K, H, W)`` class probabilities.
    """
    if probs.ndim != 3:
        raise ValueError(f"probs must have shape (K, H, W), got {tuple(probs.shape)}")
    probs = probs.detach().float().cpu()
    if probs.shape[0] == 2:
        mask = (probs[1] >= threshold).to(torch.uint8) * 255
        confidence = probs[1]
    else:
        confidence, mask = probs.max(dim=0)
        mask = mask.to(torch.uint8)
    confidence = (confidence.clamp(0, 1) * 255).round().to(torch.uint8)
    from ceec_lab.data import write_png  # atomic: temporary file, then os.replace

    mask_path = Path(out_dir) / "masks" / f"{stem}.png"
    confidence_path = Path(out_dir) / "confidence" / f"{stem}.png"
    write_png(mask_path, mask.numpy())
    write_png(confidence_path, confidence.numpy())
    return mask_path, confidence_path


def predict_folder(
    model: nn.Module,
    image1_dir: str | os.PathLike,
    image2_dir: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    window: int = 256,
    stride: int = 64,
    threshold: float = 0.5,
    batch_size: int = 8,
    device: torch.device | str | None = None,
) -> list[Path]:
    """Predict every image (pair) of a folder and write masks and confidence maps.

    Args:
        model: a trained kit model; put in eval mode and moved to ``device`` here.
        image1_dir, image2_dir: folders of images matched by file name
            (``image2_dir`` only for change models).
        out_dir: receives ``masks/`` and ``confidence/`` PNGs named after the inputs.
        window, stride, batch_size: see :func:`sliding_window_probs`.
        threshold: change probability that counts as change.
        device: defaults to the model's device.

    Returns:
        The mask paths written.
    """
    if model.task == "change" and image2_dir is None:
        raise ValueError("a change model needs image2_dir (the second date)")
    if device is None:
        device = _model_device(model)
    model.to(device).eval()
    written = []
    for path1, path2 in find_pairs(image1_dir, image2_dir if model.task == "change" else None):
        x1 = read_image(path1)[None].to(device)  # (1, 3, H, W)
        x2 = None if path2 is None else read_image(path2)[None].to(device)
        probs = sliding_window_probs(model, x1, x2, window, stride, batch_size=batch_size)
        written.append(save_prediction(probs[0], out_dir, path1.stem, threshold)[0])
    return written
