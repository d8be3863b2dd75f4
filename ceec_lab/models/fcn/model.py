"""FCN-32s, FCN-16s and FCN-8s: the skip architecture of Long et al. (2015).

All three share one backbone and differ only in how much fine detail they fuse
back into the coarse class scores before the final upsampling:

* **FCN-32s** scores ``fc7`` (stride 32) and upsamples ×32 in one step: blobby masks.
* **FCN-16s** upsamples those scores ×2 (learned), adds scores computed from
  ``pool4`` (stride 16), then upsamples ×16.
* **FCN-8s** does the same once more with ``pool3`` (stride 8), then upsamples ×8.

Following the paper (Sec. 4.2), the ×2 upsamplings are transposed convolutions
initialised to bilinear interpolation and then learned; the final upsampling is
fixed bilinear interpolation (``F.interpolate``; the paper uses a transposed
convolution frozen at bilinear weights, the same thing). The new skip scorers
start at zero, so an FCN-16s starts out predicting exactly what its FCN-32s
would: the paper trains the nets in stages, and so can you, by loading a trained
FCN-32s into an FCN-16s with ``load_state_dict(..., strict=False)``.

Differences from the paper, to keep the net small and the code plain: a narrow
VGG-16 with batch norm (see :mod:`.blocks`), a 3×3 ``fc6``, and no 100-pixel input
padding with crop layers; instead ``H`` and ``W`` must be multiples of 32.
"""

from __future__ import annotations

from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn

from ceec_lab.models.fcn.blocks import BilinearUpsample, VGGBackbone
from ceec_lab.models.utils import check_image, load_weights

#: Height and width of the input must be multiples of this (five 2×2 max-pools).
FCN_INPUT_MULTIPLE = 32


def skip_scorer(in_channels: int, num_classes: int) -> nn.Conv2d:
    """1×1 convolution giving class scores from a skip feature map, zero-initialised."""
    conv = nn.Conv2d(in_channels, num_classes, kernel_size=1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class FCN(nn.Module):
    """Fully convolutional network with 0, 1 or 2 skips (FCN-32s, -16s, -8s).

    Args:
        stride: 32, 16 or 8: the stride of the finest scores before the final
            upsampling (FCN-32s, FCN-16s, FCN-8s).
        in_channels: input channels.
        num_classes: number of classes ``K``.
        width: channels of the first backbone stage (VGG-16 has 64).

    Shapes:
        input ``x``: ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of 32
        (otherwise ``ValueError`` naming the nearest valid size; nothing is padded);
        output: logits ``(B, K, H, W)``.
    """

    task = "segmentation"
    output = "logits"
    input_multiple = FCN_INPUT_MULTIPLE

    def __init__(
        self, stride: int, in_channels: int = 3, num_classes: int = 5, width: int = 16
    ) -> None:
        super().__init__()
        if stride not in (32, 16, 8):
            raise ValueError(f"stride must be 32, 16 or 8, got {stride}")
        self.stride = stride
        self.in_channels = in_channels
        self.backbone = VGGBackbone(in_channels, width)
        channels = self.backbone.out_channels
        self.score_fr = nn.Conv2d(channels["fc7"], num_classes, kernel_size=1)
        if stride <= 16:
            self.upscore2 = BilinearUpsample(num_classes, 2)  # stride 32 → 16
            self.score_pool4 = skip_scorer(channels["pool4"], num_classes)
        if stride <= 8:
            self.upscore_pool4 = BilinearUpsample(num_classes, 2)  # stride 16 → 8
            self.score_pool3 = skip_scorer(channels["pool3"], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        check_image(x, "x", self.in_channels, FCN_INPUT_MULTIPLE)
        features = self.backbone(x)
        scores = self.score_fr(features["fc7"])  # (B, K, H/32, W/32)
        if self.stride <= 16:  # FCN-16s and FCN-8s: fuse pool4
            scores = self.upscore2(scores)  # (B, K, H/16, W/16)
            scores = scores + self.score_pool4(features["pool4"])  # fuse_pool4
        if self.stride <= 8:  # FCN-8s only: fuse pool3
            scores = self.upscore_pool4(scores)  # (B, K, H/8, W/8)
            scores = scores + self.score_pool3(features["pool3"])  # fuse_pool3
        # fixed bilinear upsampling by 32, 16 or 8 back to the input size
        return F.interpolate(scores, scale_factor=self.stride, mode="bilinear")  # (B, K, H, W)


def fcn32s(
    in_channels: int = 3,
    num_classes: int = 5,
    width: int = 16,
    weights_path: str | Path | None = None,
) -> FCN:
    """FCN-32s: scores from ``fc7`` only, upsampled ×32. See :class:`FCN`.

    ``weights_path``: a state-dict file to load (:func:`~ceec_lab.models.utils.load_weights`).
    """
    return load_weights(FCN(32, in_channels, num_classes, width), weights_path)


def fcn16s(
    in_channels: int = 3,
    num_classes: int = 5,
    width: int = 16,
    weights_path: str | Path | None = None,
) -> FCN:
    """FCN-16s: ``fc7`` scores ×2 + ``pool4`` scores, upsampled ×16. See :class:`FCN`.

    ``weights_path`` as in :func:`fcn32s`.
    """
    return load_weights(FCN(16, in_channels, num_classes, width), weights_path)


def fcn8s(
    in_channels: int = 3,
    num_classes: int = 5,
    width: int = 16,
    weights_path: str | Path | None = None,
) -> FCN:
    """FCN-8s: as FCN-16s, then ×2 + ``pool3`` scores, upsampled ×8. See :class:`FCN`.

    ``weights_path`` as in :func:`fcn32s`.
    """
    return load_weights(FCN(8, in_channels, num_classes, width), weights_path)
