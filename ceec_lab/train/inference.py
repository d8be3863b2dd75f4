"""Prediction on images of any size: one pass when the image fits, else sliding windows.

Networks are trained on small tiles (256×256 in the paper) but rasters are
larger, and CEECNet only takes sizes divisible by a power of two. The paper
predicts its 1024×1024 LEVIR-CD rasters by sliding a 256×256 window with
stride 64 over the image (reflect padding at the edges) and averaging the
softmax outputs where windows overlap (Diakogiannis et al. 2021, the inference
setting of their LEVIR-CD and WHU experiments): each pixel is then decided by
up to (256/64)² = 16 windows that saw it in different contexts, which removes
the seams a plain tiling leaves at the tile borders.

That costs about 16 forward passes per window of area. Two choices keep it
affordable on a laptop:

* an image no larger than one window is predicted in **one** forward pass,
  reflect-padded only up to the model's ``input_multiple``;
* the default stride is half the window (:func:`default_stride`): each pixel
  is seen by up to 4 windows, 4× fewer passes than the paper's stride 64,
  which stays one argument away (``stride=PAPER_STRIDE``).

The tiling and stitching live in :mod:`ceec_lab.data.tiling`; this module
feeds them a model and writes the results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ceec_lab.data.io import Bands

OUTPUT_KINDS = ("logits", "probs", "multitask", "logits_features")


def output_to_probs(output: Tensor | Sequence[Tensor], kind: str) -> Tensor:
    """Class probabilities ``(B, K, H, W)`` in float32 from a model's raw output.

    Args:
        output: what the model returned.
        kind: the model's ``output`` attribute: ``"logits"`` (softmax is applied),
            ``"probs"`` (used as is), ``"multitask"`` (the first element of the
            tuple, CEECNet's segmentation probabilities) or ``"logits_features"``
            (softmax of the first element, LSNet's logits).
    """
    if kind == "logits_features":
        return output[0].float().softmax(dim=1)
    if kind == "multitask":
        return output[0].float()
    if kind == "probs":
        return output.float()
    if kind == "logits":
        return output.float().softmax(dim=1)
    raise ValueError(f"model output kind must be one of {OUTPUT_KINDS}, got {kind!r}")


#: The paper's inference setting: 256×256 windows moved by 64 pixels.
PAPER_WINDOW, PAPER_STRIDE = 256, 64


def default_stride(window: int) -> int:
    """Half the window: every pixel is averaged over up to 4 windows, a quarter of the
    paper's 16 (stride 64 for 256 windows) and so 4× cheaper, with the seams still
    averaged away."""
    return max(1, window // 2)


def default_batch_size(device: torch.device) -> int:
    """Windows per forward pass: 8 on a GPU, 1 on a CPU.

    A GPU runs a batch of windows in parallel. On a CPU batching does not pay:
    ``benchmarks/predict_speed.py`` measured the tiny CEECNet at ~2.3 CPU
    seconds per 256×256 window in batches of 8 against ~1.0 one at a time
    (larger activations overflow the caches).
    """
    return 1 if device.type == "cpu" else 8


def input_multiple(model: nn.Module) -> int:
    """What the model needs ``H`` and ``W`` to be multiples of (1: any size)."""
    return int(getattr(model, "input_multiple", 1))


def _check_window(window: int, stride: int, margin: int | None, multiple: int) -> None:
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")
    if window % multiple:
        raise ValueError(
            f"window={window} is not a multiple of {multiple}, the sizes this model takes"
        )
    if not isinstance(stride, int) or not 1 <= stride <= window:
        raise ValueError(f"stride must be an int in [1, window={window}], got {stride!r}")
    if margin is not None and (not isinstance(margin, int) or margin < 0):
        raise ValueError(f"margin must be None or an int >= 0, got {margin!r}")


def sliding_window_probs(
    model: nn.Module,
    x1: Tensor,
    x2: Tensor | None = None,
    window: int = PAPER_WINDOW,
    stride: int | None = None,
    margin: int | None = None,
    batch_size: int | None = None,
) -> Tensor:
    """Class probabilities for images of any size.

    * ``H, W <= window``: one forward pass per image (``batch_size`` images at
      a time), the images reflect-padded at the bottom and right up to the
      model's ``input_multiple`` and the output cropped back.
    * larger: the data layer's :class:`~ceec_lab.data.SlidingWindow`: the
      images are reflect-padded by ``margin`` on every side, cut into
      ``window``-sized crops every ``stride`` pixels (the last crop flush with
      the edge), the model's softmax is computed on ``batch_size`` crops at a
      time and the crops are stitched back, averaging where they overlap.

    Args:
        model: a kit model (``task``, ``output`` attributes), already in eval mode
            and on the images' device.
        x1: ``(B, C, H, W)`` images (the first date for change detection).
        x2: ``(B, C, H, W)`` second date, for change models only.
        window: crop side, a multiple of the model's ``input_multiple``.
        stride: step between crops, at most ``window``; ``None`` uses
            :func:`default_stride` (``window // 2``); the paper uses
            :data:`PAPER_STRIDE` (64).
        margin: reflected border added on every side; ``None`` uses
            ``(window - stride) // 2``, so that edge pixels are not only ever seen
            at the border of a crop.
        batch_size: images or crops per forward pass; ``None``:
            :func:`default_batch_size` of the images' device.

    Returns:
        ``(B, K, H, W)`` float32 probabilities on the images' device.
    """
    from ceec_lab.data import SlidingWindow

    stride = default_stride(window) if stride is None else stride
    batch_size = default_batch_size(x1.device) if batch_size is None else batch_size
    _check_window(window, stride, margin, input_multiple(model))
    inputs = [x1] if model.task == "segmentation" else [x1, x2]
    if any(x is None or x.ndim != 4 for x in inputs):
        raise ValueError(
            f"a {model.task} model needs {len(inputs)} image batch(es) of shape (B, C, H, W)"
        )

    def predict(*crops: Tensor) -> Tensor:
        return output_to_probs(model(*crops), model.output)

    with torch.no_grad():
        if max(x1.shape[-2:]) <= window:
            return _single_pass(predict, inputs, input_multiple(model), batch_size)
        slider = SlidingWindow(size=window, stride=stride, margin=margin, batch_size=batch_size)
        return slider(predict, *inputs)


def _single_pass(
    predict: Callable[..., Tensor], inputs: list[Tensor], multiple: int, batch_size: int
) -> Tensor:
    """Whole images through ``predict``, padded up to ``multiple`` and cropped back."""
    from ceec_lab.data.tiling import pad_to_multiple

    h, w = inputs[0].shape[-2:]
    padded = [pad_to_multiple(x, multiple) for x in inputs]
    outputs = [
        predict(*(x[i : i + batch_size] for x in padded))
        for i in range(0, len(padded[0]), batch_size)
    ]
    return torch.cat(outputs)[..., :h, :w]  # (B, K, H, W)


@torch.no_grad()
def predict_probs(
    model: nn.Module,
    x1: Tensor,
    x2: Tensor | None = None,
    window: int | None = None,
    stride: int = PAPER_STRIDE,
) -> Tensor:
    """Class probabilities ``(B, K, H, W)`` of a batch, in float32 on the CPU.

    The model is put in eval mode and the images are moved to its device.

    Args:
        model: a kit model (``task``, ``output`` attributes; without ``window``
            a model without ``output`` counts as returning logits).
        x1: ``(B, C, H, W)`` images (the first date for change models).
        x2: the second date, change models only.
        window: ``None``: one forward pass of the whole batch. A size: overlapping
            windows of that size every ``stride`` pixels (:func:`sliding_window_probs`),
            for images larger than, or not divisible like, the training tiles.
    """
    model.eval()
    device = model_device(model)
    x1 = x1.to(device)
    x2 = None if x2 is None else x2.to(device)
    if window is not None:
        probs = sliding_window_probs(model, x1, x2, window=window, stride=stride)
    else:
        inputs = [x1] if x2 is None else [x1, x2]
        probs = output_to_probs(model(*inputs), getattr(model, "output", "logits"))
    return probs.float().cpu()


def model_device(model: nn.Module) -> torch.device:
    """Where the model's tensors live (the CPU for a model without any)."""
    tensors = [*model.parameters(), *model.buffers()]
    return tensors[0].device if tensors else torch.device("cpu")


def read_image(path: str | os.PathLike, bands: Bands = 3) -> Tensor:
    """An image file as a ``(C, H, W)`` float32 tensor in [0, 1], the scale the kit's
    datasets give the models (read by :func:`ceec_lab.data.read_image`, which
    explains ``bands``)."""
    from ceec_lab.data import read_image as read_array

    return torch.from_numpy(read_array(path, bands)).permute(2, 0, 1).contiguous()  # (C, H, W)


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


def check_pairs(pairs: list, bands: Bands = 3) -> None:
    """Check every file of :func:`find_pairs` from its header, before any prediction.

    Raises:
        ValueError: a file that does not open as an image, has other bands than
            ``bands``, or differs in size from its partner (the message names it).
    """
    from ceec_lab.data.io import check_bands, image_header

    for path1, path2 in pairs:
        headers = [(path, image_header(path)) for path in (path1, path2) if path is not None]
        for path, (_, _, found) in headers:
            check_bands(found, bands, path)
        if len({header[:2] for _, header in headers}) > 1:
            shown = ", ".join(f"{path}: {h}×{w}" for path, (h, w, _) in headers)
            raise ValueError(f"the two dates differ in size ({shown}); expected one size")


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
    window: int = PAPER_WINDOW,
    stride: int | None = None,
    threshold: float = 0.5,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    bands: Bands = 3,
    progress: bool = True,
) -> list[Path]:
    """Predict every image (pair) of a folder and write masks and confidence maps.

    Every file's header is checked (:func:`check_pairs`) before the first
    prediction; ``ceec-lab predict`` (:func:`~ceec_lab.train.runs.run_prediction`)
    also writes into a temporary folder, so a failure leaves no partial set.

    Args:
        model: a trained kit model; put in eval mode and moved to ``device`` here.
        image1_dir, image2_dir: folders of images matched by file name
            (``image2_dir`` only for change models).
        out_dir: receives ``masks/`` and ``confidence/`` PNGs named after the inputs.
        window, stride, batch_size: see :func:`sliding_window_probs`.
        threshold: change probability that counts as change.
        device: defaults to the model's device.
        bands: the bands the model takes, see :func:`ceec_lab.data.read_image`.
        progress: a progress bar over the images.

    Returns:
        The mask paths written.
    """
    if model.task == "change" and image2_dir is None:
        raise ValueError("a change model needs image2_dir (the second date)")
    if device is None:
        device = model_device(model)
    model.to(device).eval()
    pairs = find_pairs(image1_dir, image2_dir if model.task == "change" else None)
    check_pairs(pairs, bands)
    written = []
    for path1, path2 in tqdm(pairs, desc="predict", unit="image", disable=not progress):
        x1 = read_image(path1, bands)[None].to(device)  # (1, C, H, W)
        x2 = None if path2 is None else read_image(path2, bands)[None].to(device)
        probs = sliding_window_probs(model, x1, x2, window, stride, batch_size=batch_size)
        written.append(save_prediction(probs[0], out_dir, path1.stem, threshold)[0])
    return written
