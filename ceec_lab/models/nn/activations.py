"""The crisp sigmoid of the boundary output (paper: multitask head; Fig. 16 plots it)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CrispSigmoid(nn.Module):
    """``sigmoid(x / (smooth + sigmoid(γ)))`` with one learnable scalar γ (init 1).

    Dividing by a learned scale in ``(smooth, 1 + smooth)`` lets the network make
    the sigmoid steeper, so that boundary probabilities are pushed towards 0 or 1
    ("crisp") instead of the blurry middle values a plain sigmoid gives for thin
    structures. ``smooth = 0.01`` keeps the scale away from 0.

    Args:
        smooth: lower bound of the scale.
    """

    def __init__(self, smooth: float = 0.01) -> None:
        super().__init__()
        self.smooth = smooth
        self.gamma = nn.Parameter(torch.ones(1))

    def scale(self) -> Tensor:
        """The current temperature ``smooth + sigmoid(γ)`` (≈ 0.74 at init)."""
        return self.smooth + torch.sigmoid(self.gamma)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(x / self.scale())
