"""FC-EF, FC-Siam-conc and FC-Siam-diff (Daudt, Le Saux, Boulch 2018).

Three ways to give a U-Net two images, from the same encoder and decoder
(:mod:`.blocks`):

* **FC-EF** (early fusion): stack the dates as ``2C`` channels and run one
  encoder; the skips carry its features.
* **FC-Siam-conc**: run one shared-weight encoder on each date (a siamese pair);
  each skip concatenates both dates' features, so the decoder sees twice as many.
* **FC-Siam-diff**: the same siamese encoder; each skip carries the absolute
  difference ``|skip1 − skip2|``, which is zero where nothing changed.

As in the authors' code, the decoder starts from the second date's deepest
features (FC-Siam-*). The authors pad odd-sized inputs; here ``H`` and ``W`` must
be multiples of 16 (four 2×2 max-pools), otherwise ``ValueError`` names the
nearest valid size.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from ceec_lab.models.siamese.blocks import Decoder, Encoder
from ceec_lab.models.utils import check_pair, load_weights

#: Height and width of the inputs must be multiples of this (four 2×2 max-pools).
SIAMESE_INPUT_MULTIPLE = 16


class FCEF(nn.Module):
    """FC-EF: one U-Net over both dates stacked along the channels.

    Args:
        in_channels: channels of one date (the encoder sees ``2 × in_channels``).
        num_classes: number of classes ``K`` (2: no change / change).
        dropout: dropout probability after every convolution but the last.

    Shapes:
        inputs ``x1``, ``x2``: ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of
        16; output: logits ``(B, K, H, W)``.
    """

    task = "change"
    output = "logits"
    input_multiple = SIAMESE_INPUT_MULTIPLE

    def __init__(self, in_channels: int = 3, num_classes: int = 2, dropout: float = 0.2) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.encoder = Encoder(2 * in_channels, dropout)
        self.decoder = Decoder(num_classes, skip_multiplier=1, dropout=dropout)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        check_pair(x1, x2, self.in_channels, SIAMESE_INPUT_MULTIPLE)
        x = torch.cat([x1, x2], dim=1)  # (B, 2C, H, W)
        skips, bottom = self.encoder(x)  # skips: (B, 16|32|64|128, H/2^i, W/2^i)
        return self.decoder(bottom, skips)  # (B, K, H, W)


class _SiameseFC(nn.Module):
    """Shared encoder on each date; subclasses say how the two dates' skips combine."""

    task = "change"
    output = "logits"
    input_multiple = SIAMESE_INPUT_MULTIPLE
    skip_multiplier = 1  # skip channels relative to one date's

    def __init__(self, in_channels: int = 3, num_classes: int = 2, dropout: float = 0.2) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.encoder = Encoder(in_channels, dropout)
        self.decoder = Decoder(num_classes, skip_multiplier=self.skip_multiplier, dropout=dropout)

    def combine(self, skip1: Tensor, skip2: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        check_pair(x1, x2, self.in_channels, SIAMESE_INPUT_MULTIPLE)
        skips1, _ = self.encoder(x1)  # same weights for both dates
        skips2, bottom = self.encoder(x2)  # bottom: (B, 128, H/16, W/16)
        skips = [self.combine(s1, s2) for s1, s2 in zip(skips1, skips2, strict=True)]
        return self.decoder(bottom, skips)  # (B, K, H, W)


class FCSiamConc(_SiameseFC):
    """FC-Siam-conc: shared encoder on each date; skips concatenate both dates' features.

    Args and shapes as :class:`FCEF`.
    """

    skip_multiplier = 2

    def combine(self, skip1: Tensor, skip2: Tensor) -> Tensor:
        return torch.cat([skip1, skip2], dim=1)  # (B, 2C_i, H_i, W_i)


class FCSiamDiff(_SiameseFC):
    """FC-Siam-diff: shared encoder on each date; skips carry ``|skip1 − skip2|``.

    Args and shapes as :class:`FCEF`.
    """

    def combine(self, skip1: Tensor, skip2: Tensor) -> Tensor:
        return (skip1 - skip2).abs()  # (B, C_i, H_i, W_i): zero where the dates agree


def fc_ef(
    in_channels: int = 3,
    num_classes: int = 2,
    dropout: float = 0.2,
    weights_path: str | Path | None = None,
) -> FCEF:
    """FC-EF (early fusion). See :class:`FCEF`.

    ``weights_path``: a state-dict file to load (:func:`~ceec_lab.models.utils.load_weights`).
    """
    return load_weights(FCEF(in_channels, num_classes, dropout), weights_path)


def fc_siam_conc(
    in_channels: int = 3,
    num_classes: int = 2,
    dropout: float = 0.2,
    weights_path: str | Path | None = None,
) -> FCSiamConc:
    """FC-Siam-conc (siamese, concatenated skips). See :class:`FCSiamConc`.

    ``weights_path`` as in :func:`fc_ef`.
    """
    return load_weights(FCSiamConc(in_channels, num_classes, dropout), weights_path)


def fc_siam_diff(
    in_channels: int = 3,
    num_classes: int = 2,
    dropout: float = 0.2,
    weights_path: str | Path | None = None,
) -> FCSiamDiff:
    """FC-Siam-diff (siamese, absolute-difference skips). See :class:`FCSiamDiff`.

    ``weights_path`` as in :func:`fc_ef`.
    """
    return load_weights(FCSiamDiff(in_channels, num_classes, dropout), weights_path)
