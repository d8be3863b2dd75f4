"""The crisp sigmoid of the boundary output (paper: multitask head; Fig. 16 plots it)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CrispSigmoid(nn.Module):
    """``sigmoid(x / γ)`` with a learned scale ``γ = smooth + sigmoid(g)`` (paper Fig. 16).

    γ is the scale the paper reports (≈ 0.610 on LEVIR-CD, 0.625 on WHU) and
    :meth:`scale` returns. It is learned through the raw parameter ``g``
    (initialised to 1, as in the reference code), which keeps γ in
    ``(smooth, 1 + smooth)``. A γ below 1 makes the sigmoid steeper, so that
    boundary probabilities are pushed towards 0 or 1 ("crisp") instead of the
    blurry middle values a plain sigmoid gives for thin structures;
    ``smooth = 0.01`` keeps γ away from 0.

    Args:
        smooth: lower bound of γ.
    """

    def __init__(self, smooth: float = 0.01) -> None:
        super().__init__()
        self.smooth = smooth
        self.g = nn.Parameter(torch.ones(1))  # raw parameter; γ = smooth + sigmoid(g)

    def scale(self) -> Tensor:
        """The current scale ``γ = smooth + sigmoid(g)`` (≈ 0.74 at init), shape ``(1,)``."""
        return self.smooth + torch.sigmoid(self.g)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(x / self.scale())
