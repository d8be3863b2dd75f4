"""Tiny models, datasets and a trainer factory for the training-engine tests.

Everything runs in well under a second per fit on one CPU core. Test modules
reach these through fixtures (the suite uses ``--import-mode=importlib``, so
helper modules cannot be imported by name).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ceec_lab.losses import create_loss
from ceec_lab.train import Trainer


class TinyChangeNet(nn.Module):
    """A one-layer change detector: 3×3 convolution of the stacked dates."""

    task = "change"
    output = "logits"

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(6, 2, 3, padding=1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x1, x2], dim=1))  # (B, 2, H, W)


class TinySegNet(nn.Module):
    """A one-layer segmentation model with ``num_classes`` outputs."""

    task = "segmentation"
    output = "logits"

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class PairDataset(Dataset):
    """Random image pairs; change where the dates differ strongly."""

    def __init__(self, n: int = 8, size: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x1 = torch.rand(n, 3, size, size, generator=g)
        self.x2 = torch.rand(n, 3, size, size, generator=g)
        self.mask = ((self.x1 - self.x2).abs().mean(1) > 0.3).long()

    def __len__(self) -> int:
        return len(self.mask)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image1": self.x1[i], "image2": self.x2[i], "mask": self.mask[i]}


class SegDataset(Dataset):
    """Random images whose class is the brightest channel."""

    def __init__(self, n: int = 8, size: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.rand(n, 3, size, size, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.x[i], "mask": self.x[i].argmax(0)}


@pytest.fixture
def tiny() -> SimpleNamespace:
    """The tiny models and datasets of this file."""
    return SimpleNamespace(
        ChangeNet=TinyChangeNet,
        SegNet=TinySegNet,
        PairDataset=PairDataset,
        SegDataset=SegDataset,
    )


@pytest.fixture
def make_trainer():
    """``make_trainer(model=None, loss_fn=None, **kwargs)``: a quiet CPU trainer
    (default: :class:`TinyChangeNet` with cross-entropy)."""

    def make(model=None, loss_fn=None, **kwargs) -> Trainer:
        kwargs = {"device": "cpu", "progress": False, **kwargs}
        return Trainer(model or TinyChangeNet(), loss_fn or create_loss("ce"), **kwargs)

    return make


@pytest.fixture
def change_loaders() -> tuple[DataLoader, DataLoader]:
    torch.manual_seed(0)
    train = DataLoader(PairDataset(8, seed=0), batch_size=4, shuffle=True)
    val = DataLoader(PairDataset(4, seed=1), batch_size=4)
    return train, val


@pytest.fixture
def seg_loaders() -> tuple[DataLoader, DataLoader]:
    train = DataLoader(SegDataset(8, seed=0), batch_size=4, shuffle=True)
    val = DataLoader(SegDataset(4, seed=1), batch_size=4)
    return train, val
