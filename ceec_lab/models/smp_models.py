"""U-Net, DeepLabV3, DeepLabV3+ from segmentation-models-pytorch (smp), and an early-fusion U-Net.

smp builds the networks (any of its encoders via ``encoder_name``); the thin
wrappers here add what the kit's training engine expects: the ``task`` and
``output`` attributes, input checks with clear messages, and loading a local
weights file. Encoders start from random weights by default
(``encoder_weights=None``); ``encoder_weights="imagenet"`` makes smp download
pretrained ones, which needs internet access.

Input sizes: smp's U-Net resizes its decoder features to match the skips, so it
takes any ``H`` and ``W``; DeepLabV3 needs multiples of its encoder's output stride
(8 by default) and DeepLabV3+ multiples of 16. Other sizes raise ``ValueError``
naming the nearest valid size; nothing is padded.

The change-detection ``unet_early_fusion`` stacks the two dates along the channels,
``(B, 2C, H, W)``, and segments "change" from that: the simplest way to give a
segmentation network two images (Daudt et al. 2018 call it early fusion).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segmentation_models_pytorch as smp
import torch
from torch import Tensor, nn

from ceec_lab.models.utils import check_image, check_pair, load_weights


def _input_multiple(net: nn.Module) -> int:
    """What H and W must be multiples of for this smp network (1: any size)."""
    return net.encoder.output_stride if net.requires_divisible_input_shape else 1


class SmpSegmentation(nn.Module):
    """An smp segmentation network with the kit's conventions and input checks.

    Args:
        net: the smp model (``smp.Unet``, ``smp.DeepLabV3``, ...); kept as ``self.net``.
        in_channels: input channels ``net`` was built with.

    Shapes:
        input ``x``: ``(B, in_channels, H, W)`` (see the module docstring for which
        ``H``, ``W``); output: logits ``(B, K, H, W)``.
    """

    task = "segmentation"
    output = "logits"

    def __init__(self, net: nn.Module, in_channels: int) -> None:
        super().__init__()
        self.net = net
        self.in_channels = in_channels
        self.input_multiple = _input_multiple(net)
        # DeepLab's ASPP pools the whole image to one value per channel and batch-normalises
        # it, which cannot work on a batch of one in training mode.
        self.has_image_pooling = isinstance(net, (smp.DeepLabV3, smp.DeepLabV3Plus))

    def forward(self, x: Tensor) -> Tensor:
        check_image(x, "x", self.in_channels, self.input_multiple)
        if self.has_image_pooling and self.training and x.shape[0] == 1:
            raise ValueError(
                "x has batch size 1, but DeepLab's ASPP image pooling batch-normalises one "
                "value per channel, which needs a batch of at least 2 in training mode; use a "
                "bigger batch (or drop_last=True in the DataLoader), or call model.eval()"
            )
        return self.net(x)  # (B, K, H, W)


class SmpEarlyFusion(nn.Module):
    """Change detection by early fusion: an smp network fed both dates stacked as ``2C`` channels.

    Args:
        net: an smp model built with ``2 × in_channels`` input channels.
        in_channels: channels of *one* date.

    Shapes:
        inputs ``x1``, ``x2``: ``(B, in_channels, H, W)`` each; output: logits
        ``(B, K, H, W)`` (``K = 2``: no change / change).
    """

    task = "change"
    output = "logits"

    def __init__(self, net: nn.Module, in_channels: int) -> None:
        super().__init__()
        self.net = net
        self.in_channels = in_channels
        self.input_multiple = _input_multiple(net)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        check_pair(x1, x2, self.in_channels, self.input_multiple)
        x = torch.cat([x1, x2], dim=1)  # (B, 2C, H, W)
        return self.net(x)  # (B, K, H, W)


def _build(
    arch: str,
    in_channels: int,
    num_classes: int,
    encoder_name: str,
    encoder_weights: str | None,
    **kwargs: Any,
) -> nn.Module:
    return smp.create_model(
        arch,
        encoder_name=encoder_name,
        encoder_weights=encoder_weights,
        in_channels=in_channels,
        classes=num_classes,
        **kwargs,
    )


def unet(
    in_channels: int = 3,
    num_classes: int = 5,
    encoder_name: str = "resnet18",
    encoder_weights: str | None = None,
    weights_path: str | Path | None = None,
    **kwargs: Any,
) -> SmpSegmentation:
    """U-Net (Ronneberger et al. 2015) with an smp encoder.

    Args:
        in_channels: input channels.
        num_classes: number of classes ``K``.
        encoder_name: any smp encoder (``"resnet18"``, ``"resnet34"``, ``"efficientnet-b0"``...).
        encoder_weights: ``None`` (random) or an smp weights name such as ``"imagenet"``
            (downloads).
        weights_path: a local file holding ``model.state_dict()`` of a model built with
            the same arguments; loaded strictly. (For a bare smp model's state dict,
            call :func:`ceec_lab.models.utils.load_weights` on ``model.net``.)
        **kwargs: passed on to ``smp.Unet`` (e.g. ``decoder_channels``).
    """
    net = _build("unet", in_channels, num_classes, encoder_name, encoder_weights, **kwargs)
    return load_weights(SmpSegmentation(net, in_channels), weights_path)


def deeplabv3(
    in_channels: int = 3,
    num_classes: int = 5,
    encoder_name: str = "resnet18",
    encoder_weights: str | None = None,
    weights_path: str | Path | None = None,
    **kwargs: Any,
) -> SmpSegmentation:
    """DeepLabV3 (Chen et al. 2017): dilated encoder (output stride 8) + ASPP.

    Arguments as :func:`unet`; ``**kwargs`` go to ``smp.DeepLabV3``
    (e.g. ``encoder_output_stride=16``). Training needs batches of at least 2.
    """
    net = _build("deeplabv3", in_channels, num_classes, encoder_name, encoder_weights, **kwargs)
    return load_weights(SmpSegmentation(net, in_channels), weights_path)


def deeplabv3plus(
    in_channels: int = 3,
    num_classes: int = 5,
    encoder_name: str = "resnet18",
    encoder_weights: str | None = None,
    weights_path: str | Path | None = None,
    **kwargs: Any,
) -> SmpSegmentation:
    """DeepLabV3+ (Chen et al. 2018): ASPP at stride 16 plus a light decoder with a stride-4 skip.

    Arguments as :func:`unet`; ``**kwargs`` go to ``smp.DeepLabV3Plus``.
    Training needs batches of at least 2.
    """
    net = _build("deeplabv3plus", in_channels, num_classes, encoder_name, encoder_weights, **kwargs)
    return load_weights(SmpSegmentation(net, in_channels), weights_path)


def unet_early_fusion(
    in_channels: int = 3,
    num_classes: int = 2,
    encoder_name: str = "resnet18",
    encoder_weights: str | None = None,
    weights_path: str | Path | None = None,
    **kwargs: Any,
) -> SmpEarlyFusion:
    """Change detection with a U-Net over both dates stacked as ``2 × in_channels`` channels.

    Args:
        in_channels: channels of one date (the network sees twice as many).
        num_classes: ``K`` (2: no change / change).
        encoder_name, encoder_weights, weights_path, **kwargs: as :func:`unet`.
    """
    net = _build("unet", 2 * in_channels, num_classes, encoder_name, encoder_weights, **kwargs)
    return load_weights(SmpEarlyFusion(net, in_channels), weights_path)
