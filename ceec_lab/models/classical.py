"""The classical change-detection baseline: image differencing with an Otsu threshold.

Subtract the two dates, take the length of the per-pixel difference vector
(change-vector analysis), and call "change" every pixel whose difference exceeds a
threshold picked automatically per image by Otsu's method (Otsu 1979). It needs
no training and no labels, and it fails exactly where the kit's notebooks want it
to: illumination, season and registration changes are differences too, yet not
the changes we are looking for.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from ceec_lab.models.utils import check_pair, load_weights


def otsu_threshold(values: Tensor, bins: int = 256) -> Tensor:
    """Otsu's threshold of a set of values: the one that best splits them into two classes.

    The values are binned into a histogram over ``[min, max]``; for every cut
    ``k`` after bin ``k``, with ``p_i`` the fraction of values in bin ``i`` and ``c_i``
    its centre, ``ω(k) = Σ_{i≤k} p_i`` the weight of the lower class,
    ``μ(k) = Σ_{i≤k} p_i c_i`` its first moment and ``μ_T = μ(last)`` the mean, the
    between-class variance is (Otsu 1979, Eq. 18)

        σ_B²(k) = (μ_T ω(k) − μ(k))² / (ω(k) (1 − ω(k))),

    and the threshold is the upper edge of the bin that maximises it.

    Args:
        values: any tensor; it is flattened.
        bins: histogram bins.

    Returns:
        A 0-d tensor ``t``: values ``> t`` form the upper class. When all values are
        equal, ``t`` is that value, so no value is above it.
    """
    values = values.detach().flatten().float()
    low, high = values.min(), values.max()
    if high <= low:
        return low
    hist = torch.histc(values, bins=bins, min=low.item(), max=high.item())  # (bins,)
    edges = torch.linspace(low.item(), high.item(), bins + 1, device=values.device)
    centres = (edges[:-1] + edges[1:]) / 2
    p = hist / hist.sum()  # (bins,) fraction of the values in each bin
    omega = torch.cumsum(p, dim=0)  # (bins,) ω(k)
    mu = torch.cumsum(p * centres, dim=0)  # (bins,) μ(k)
    mu_total = mu[-1]
    between = (mu_total * omega - mu) ** 2 / (omega * (1 - omega)).clamp_min(1e-12)
    # A cut with an empty class separates nothing; decide emptiness on exact counts.
    count_below = torch.cumsum(hist, dim=0)
    splits = (count_below > 0) & (count_below < count_below[-1])
    between = torch.where(splits, between, torch.zeros_like(between))
    return edges[torch.argmax(between) + 1]


class DifferencingOtsu(nn.Module):
    """Change = ``‖x2 − x1‖ > t``, with ``t`` chosen per image by Otsu's method.

    The model has **no trainable parameters**: "training" it does nothing, and its
    output carries no gradient, so evaluate it directly rather than fitting it
    (a trainer should skip the optimisation step for a model without parameters).

    Args:
        in_channels: channels of one date.
        bins: histogram bins for Otsu's method.

    Shapes:
        inputs ``x1``, ``x2``: ``(B, in_channels, H, W)``, any ``H`` and ``W``;
        output: probabilities ``(B, 2, H, W)``, one-hot (channel 1 = change).
    """

    task = "change"
    output = "probs"
    input_multiple = 1  # any size

    def __init__(self, in_channels: int = 3, bins: int = 256) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.bins = bins

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        check_pair(x1, x2, self.in_channels)
        magnitude = torch.linalg.vector_norm(x2 - x1, dim=1)  # (B, H, W)
        thresholds = torch.stack([otsu_threshold(m, self.bins) for m in magnitude])  # (B,)
        change = magnitude > thresholds.to(magnitude)[:, None, None]  # (B, H, W) bool
        change = change.to(x1.dtype)
        return torch.stack([1 - change, change], dim=1)  # (B, 2, H, W)


def differencing_otsu(
    in_channels: int = 3,
    num_classes: int = 2,
    bins: int = 256,
    weights_path: str | Path | None = None,
) -> DifferencingOtsu:
    """Image differencing + Otsu threshold. See :class:`DifferencingOtsu`.

    Args:
        in_channels: channels of one date.
        num_classes: must be 2 (no change / change); accepted so that every change
            model can be built with the same arguments.
        bins: histogram bins for Otsu's method.
        weights_path: accepted like every model's (:func:`~ceec_lab.models.utils.load_weights`);
            the method learns nothing, so only an empty state dict fits.
    """
    if num_classes != 2:
        raise ValueError(
            f"num_classes must be 2 for differencing_otsu (no change / change), got {num_classes}"
        )
    return load_weights(DifferencingOtsu(in_channels, bins), weights_path)
