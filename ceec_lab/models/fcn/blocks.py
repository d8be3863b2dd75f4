"""Building blocks of the FCNs: a small VGG-style backbone and bilinear upsampling.

Long, Shelhamer and Darrell (2015), "Fully convolutional networks for semantic
segmentation", turn VGG-16 into a dense predictor: the fully connected layers
``fc6``/``fc7`` become convolutions, and transposed convolutions initialised to
bilinear interpolation upsample the coarse class scores.

The backbone here keeps VGG-16's layout (2, 2, 3, 3, 3 convolutions per stage, a
2×2 max-pool after each) with far fewer channels, and adds batch normalisation
after each convolution: we train from scratch (no ImageNet weights), and
VGG without normalisation is slow to train from scratch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: VGG-16's convolutions per stage; each stage ends with a 2×2 max-pool.
VGG16_CONVS_PER_STAGE = (2, 2, 3, 3, 3)
#: Channels per stage as multiples of ``width`` (VGG-16: width 64 → 64, 128, 256, 512, 512).
VGG16_WIDTH_MULTIPLIERS = (1, 2, 4, 8, 8)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Convolution ("same" padding) → batch norm → ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def vgg_stage(in_channels: int, out_channels: int, num_convs: int) -> nn.Sequential:
    """``num_convs`` 3×3 conv-BN-ReLU layers, then a 2×2 max-pool that halves H and W."""
    layers = [conv_bn_relu(in_channels, out_channels)]
    layers += [conv_bn_relu(out_channels, out_channels) for _ in range(num_convs - 1)]
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGGBackbone(nn.Module):
    """VGG-16-shaped encoder that returns the three feature maps the FCN skips use.

    Args:
        in_channels: input channels (3 for RGB).
        width: channels of the first stage; the stages have ``width × (1, 2, 4, 8, 8)``
            channels and the convolutionalised ``fc6``/``fc7`` have ``16 × width``.
        dropout: dropout after ``fc6`` and ``fc7`` (0.5 in VGG and the FCN paper).

    Shapes:
        input ``(B, in_channels, H, W)`` with ``H`` and ``W`` multiples of 32;
        output ``dict`` with ``"pool3"`` ``(B, 4w, H/8, W/8)``, ``"pool4"``
        ``(B, 8w, H/16, W/16)`` and ``"fc7"`` ``(B, 16w, H/32, W/32)``.
    """

    def __init__(self, in_channels: int = 3, width: int = 16, dropout: float = 0.5) -> None:
        super().__init__()
        channels = [in_channels] + [width * m for m in VGG16_WIDTH_MULTIPLIERS]
        self.stages = nn.ModuleList(
            vgg_stage(channels[i], channels[i + 1], n) for i, n in enumerate(VGG16_CONVS_PER_STAGE)
        )
        # fc6/fc7 as convolutions: VGG's fc6 is a 7×7 convolution over pool5; a 3×3
        # keeps this small network small (pool5 is only 2×2 for a 64×64 input).
        fc_channels = 16 * width
        self.fc6 = nn.Sequential(conv_bn_relu(channels[-1], fc_channels, 3), nn.Dropout(dropout))
        self.fc7 = nn.Sequential(conv_bn_relu(fc_channels, fc_channels, 1), nn.Dropout(dropout))
        self.out_channels = {"pool3": channels[3], "pool4": channels[4], "fc7": fc_channels}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        pools = []
        for stage in self.stages:
            x = stage(x)  # stage i: (B, C_i, H / 2^i, W / 2^i)
            pools.append(x)
        x = self.fc7(self.fc6(x))  # (B, 16w, H/32, W/32)
        return {"pool3": pools[2], "pool4": pools[3], "fc7": x}


def bilinear_kernel(channels: int, kernel_size: int) -> Tensor:
    """Weights that make a transposed convolution do bilinear interpolation, class by class.

    Returns a ``(channels, channels, k, k)`` tensor that is zero except on the
    diagonal ``[c, c]``, which holds the separable "tent" filter
    ``(1 - |i - centre| / f) (1 - |j - centre| / f)`` with ``f = ceil(k / 2)``
    (the ``upsample_filt`` of the FCN authors' code).
    """
    factor = (kernel_size + 1) // 2
    centre = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    ramp = 1 - (torch.arange(kernel_size, dtype=torch.float32) - centre).abs() / factor
    tent = ramp[:, None] * ramp[None, :]  # (k, k)
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = tent
    return weight


class BilinearUpsample(nn.ConvTranspose2d):
    """Learned ×``factor`` upsampling: a transposed convolution initialised to bilinear.

    With kernel ``2 × factor``, stride ``factor`` and padding ``factor / 2`` the output
    is exactly ``factor`` times the input, and away from the border it starts out
    equal to ``F.interpolate(x, scale_factor=factor, mode="bilinear")``. Training
    may then move the weights away from bilinear (FCN paper, Sec. 3.3 and 4.2).

    Args:
        channels: channels in and out (the number of classes).
        factor: upsampling factor, an even number (2 for the FCN skips).

    Shapes:
        ``(B, channels, h, w)`` → ``(B, channels, factor·h, factor·w)``.
    """

    def __init__(self, channels: int, factor: int = 2) -> None:
        if factor < 2 or factor % 2 != 0:
            raise ValueError(f"factor must be an even number >= 2, got {factor}")
        super().__init__(
            channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False
        )
        with torch.no_grad():
            self.weight.copy_(bilinear_kernel(channels, 2 * factor))
