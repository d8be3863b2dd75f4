"""Run a change model at another ground resolution than the images it is given.

A network learns objects at the size, in pixels, at which it saw them. The kit's
synthetic 64×64 scenes draw a house 4–11 pixels wide; in LEVIR-CD (0.5 m pixels)
the median changed object covers about 830 pixels, some 29 pixels across
(``data.scene_statistics``, notebook 07). :class:`Rescaled` narrows that gap inside
the model: it shrinks both dates by ``scale`` (anti-aliased), runs the wrapped
model, and brings every output back to the input size. Callers keep giving images
at their own resolution, like the normalisation that happens inside a model.
Halving also makes every step four times cheaper, which is what lets notebook 07
fine-tune on real imagery on a laptop CPU.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from ceec_lab.models.utils import check_pair


def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize of ``(B, C, H, W)``; anti-aliased when shrinking."""
    shrink = size[0] < x.shape[-2]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


class Rescaled(nn.Module):
    """A change model run on both dates resized by ``scale``; outputs at the input size.

    Args:
        model: a kit change model (``task == "change"``), e.g. a tiny CEECNet.
        scale: the factor applied to ``H`` and ``W`` before ``model`` (0.5: half
            the resolution, a quarter of the pixels), in (0, 1].
        in_channels: bands of one date, as ``model`` was built with.

    Forward:
        ``x1``, ``x2``: ``(B, C, H, W)`` with ``H``, ``W`` multiples of
        :attr:`input_multiple`; returns what ``model`` returns (a tensor or a
        tuple of tensors), each resized back to ``(B, K, H, W)``. Bilinear
        interpolation of probabilities is a convex combination, so they stay
        probabilities.
    """

    task = "change"

    def __init__(self, model: nn.Module, scale: float, in_channels: int = 3) -> None:
        super().__init__()
        task = getattr(model, "task", None)
        if task != "change":
            raise ValueError(
                f"Rescaled wraps change models; got {type(model).__name__}, task {task!r}"
            )
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {scale!r}")
        self.model, self.scale, self.in_channels = model, scale, in_channels

    @property
    def output(self) -> str:
        return self.model.output

    @property
    def input_multiple(self) -> int:
        """Input sides that shrink to a multiple of the wrapped model's."""
        return math.ceil(getattr(self.model, "input_multiple", 1) / self.scale)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor | tuple[Tensor, ...]:
        check_pair(x1, x2, self.in_channels, self.input_multiple)
        size = x1.shape[-2:]
        inner = (round(size[0] * self.scale), round(size[1] * self.scale))
        outputs = self.model(_resize(x1, inner), _resize(x2, inner))  # each (B, K, h, w)
        if isinstance(outputs, Tensor):
            return _resize(outputs, size)
        return tuple(_resize(o, size) for o in outputs)  # each (B, K, H, W)
