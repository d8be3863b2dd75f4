"""LSNet: an extremely light-weight Siamese change detector (Liu et al., IGARSS 2022).

Both dates go through one light Siamese backbone of Context Guided Blocks; a feature
pyramid fuses the two dates level by level; a coordinate-attention head predicts the
change logits at full resolution (:mod:`.blocks`). About 1.2 M parameters, against
40 M for CEECNet V1 D6nf32: LSNet is the kit's answer to "what does the extra cost buy?".

The model returns an :class:`LSNetOutput`, the logits plus each date's backbone features:
the paper's loss (``create_loss("lsnet_hybrid")``) pulls the two dates' features together
where nothing changed and pushes them apart where something did, and needs them. Every
other consumer (metrics, prediction, a plain cross-entropy) takes only the logits: the
model's ``output`` attribute is ``"logits_features"`` and the training engine knows it.

Example::

    model = lsnet()
    logits, features = model(x1, x2)  # (B, 2, H, W); per level a pair (f1, f2)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ceec_lab.models.lsnet.blocks import (
    CoordinateAttentionHead,
    DenseFPN,
    DiffFPN,
    LightSiameseBackbone,
)
from ceec_lab.models.utils import check_pair, load_weights

#: Height and width must be multiples of this (the backbone halves its input three times).
LSNET_INPUT_MULTIPLE = 8

#: Pyramids: the difference pyramid (3 or, "thin", 2 merge rounds) and the dense one.
FPNS = ("diff", "thin", "dense")


class LSNetOutput(NamedTuple):
    """What LSNet returns: the change logits and the backbone features of both dates."""

    logits: Tensor  # (B, K, H, W)
    features: tuple[tuple[Tensor, Tensor], ...]  # per level i: (f1, f2), (B, C_i, H/2^i, W/2^i)


@dataclass
class LSNetConfig:
    """Everything that defines an LSNet (defaults: the authors' ``LSNet_diffFPN``)."""

    in_channels: int = 3  # bands of each input image
    num_classes: int = 2  # output classes; 2 = no change / change
    fpn: str = "diff"  # "diff" (the paper's) | "thin" (2 merge rounds) | "dense" (SNUNet-style)
    channels: tuple[int, ...] = (32, 64, 128, 256)  # backbone channels per stage
    num_blocks: tuple[int, ...] = (3, 3, 8, 12)  # Context Guided Blocks per stage
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # surrounding-context dilation per stage
    reductions: tuple[int, ...] = (4, 8, 16, 32)  # global-context bottleneck ratio per stage
    mid_channels: int = 32  # pyramid channels of level 0 (doubled per level)

    def __post_init__(self) -> None:
        if self.fpn not in FPNS:
            raise ValueError(f"fpn must be one of {FPNS}, got {self.fpn!r}")
        for name in ("in_channels", "num_classes", "mid_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        per_stage = ("channels", "num_blocks", "dilations", "reductions")
        if len({len(getattr(self, name)) for name in per_stage}) != 1 or len(self.channels) != 4:
            raise ValueError(f"{', '.join(per_stage)} must each have 4 entries (one per stage)")


class LSNet(nn.Module):
    """LSNet: light Siamese backbone → feature pyramid → coordinate-attention head.

    Args:
        config: the sizes (default: the paper's model, 1,216,848 parameters).

    Shapes:
        inputs ``x1``, ``x2``: ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of 8;
        output: :class:`LSNetOutput`, logits ``(B, K, H, W)``.
    """

    task = "change"
    output = "logits_features"
    input_multiple = LSNET_INPUT_MULTIPLE

    def __init__(self, config: LSNetConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or LSNetConfig()
        self.backbone = LightSiameseBackbone(
            c.in_channels, c.channels, c.num_blocks, c.dilations, c.reductions
        )
        widths = self.backbone.out_channels
        if c.fpn == "dense":
            self.fpn = DenseFPN(widths, c.channels, c.dilations, c.reductions)
        else:
            rounds = 3 if c.fpn == "diff" else 2
            self.fpn = DiffFPN(widths, c.mid_channels, c.dilations, c.reductions, rounds)
        self.head = CoordinateAttentionHead(self.fpn.out_channels, c.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """He initialisation of every convolution (fan-out), as in the authors' code."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x1: Tensor, x2: Tensor) -> LSNetOutput:
        check_pair(x1, x2, self.config.in_channels, LSNET_INPUT_MULTIPLE)
        b = x1.shape[0]
        # Both dates in one batch: shared weights, and BatchNorm statistics over both.
        levels = self.backbone(torch.cat([x1, x2], dim=0))  # (2B, C_i, H/2^i, W/2^i) per level
        pairs = tuple((f[:b], f[b:]) for f in levels)  # per level: (f1, f2)
        logits = self.head(self.fpn(pairs))  # (B, K, H, W)
        return LSNetOutput(logits, pairs)


def lsnet(
    in_channels: int = 3,
    num_classes: int = 2,
    fpn: str = "diff",
    weights_path: str | Path | None = None,
) -> LSNet:
    """LSNet with the difference pyramid (``fpn="thin"``: the authors' thin variant).

    See :class:`LSNet`; 1,216,848 parameters with the defaults (1,176,728 thin).
    ``weights_path``: a state-dict file to load (:func:`~ceec_lab.models.utils.load_weights`).
    """
    config = LSNetConfig(in_channels=in_channels, num_classes=num_classes, fpn=fpn)
    return load_weights(LSNet(config), weights_path)


def lsnet_densefpn(
    in_channels: int = 3, num_classes: int = 2, weights_path: str | Path | None = None
) -> LSNet:
    """LSNet with SNUNet-CD's dense pyramid, the paper's ablation (1,104,732 parameters).

    ``weights_path`` as in :func:`lsnet`.
    """
    return lsnet(in_channels, num_classes, "dense", weights_path)
