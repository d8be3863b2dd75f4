"""CEECNet, CEECNet V2 and FracTAL ResNet: the paper's "mantis" encoder/decoder.

Two dates go through one shared (Siamese) encoder. At every level the two
feature maps are fused with relative attention and kept as the skip; the
deepest level goes through PSP pooling; a U-Net-like decoder comes back up, and
the conditioned multitask head predicts segmentation, boundary and distance.
Which unit fills the levels (CEEC V1, CEEC V2 or FracTAL ResNet) is the only
difference between the three models: one factory, :func:`create_ceecnet`, builds
them all from :data:`VARIANTS`.

Three depths, three names: ``depth`` is the number of encoder levels (the "D6"
of D6nf32, smp's ``encoder_depth``); ``psp_depth`` the branches of the PSP
pooling; ``attention_depth`` the fractal depth D of the FracTAL similarity
(paper §3.2). The loss has a fractal depth of its own (:mod:`ceec_lab.losses`).

Example::

    model = create_model("ceecnet_v1", preset="ceecnet-tiny", norm="group")
    segmentation, boundary, distance = model(x1, x2)  # each (B, 2, H, W)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ceec_lab.models.ceecnet.blocks import (
    CEECUnitV1,
    CEECUnitV2,
    FracTALResNetUnit,
    MultitaskHead,
)
from ceec_lab.models.nn import NORMS, Conv2dNormed, DownSample, Fusion, PSPPooling
from ceec_lab.models.nn.combine import UpCombine, UpFuseCombine
from ceec_lab.models.utils import check_image, check_pair, load_weights

#: Unit name → class of the units that fill every level.
UNITS: dict[str, type[nn.Module]] = {
    "ceec_v1": CEECUnitV1,
    "ceec_v2": CEECUnitV2,
    "fractal_resnet": FracTALResNetUnit,
}

#: Named sizes. "ceecnet-d6nf32" is the paper's model; "ceecnet-tiny" trains on a CPU.
MODEL_PRESETS: dict[str, dict[str, int]] = {
    "ceecnet-d6nf32": dict(depth=6, nfilters=32, nheads_start=4, psp_depth=4),
    "ceecnet-tiny": dict(depth=4, nfilters=16, nheads_start=2, psp_depth=3),
}


@dataclass
class CEECNetConfig:
    """Everything that defines a CEECNet-family model (defaults: the paper's D6nf32)."""

    unit: str = "ceec_v1"  # "ceec_v1" | "ceec_v2" | "fractal_resnet": the unit of every level
    in_channels: int = 3  # bands of each input image (RGB)
    depth: int = 6  # encoder levels, the "D6" of D6nf32; each level halves the size
    nfilters: int = 32  # filters of level 0, the "nf32"; doubled at every level
    nheads_start: int = 4  # attention heads (= conv groups) of level 0; doubled at every level
    psp_depth: int = 4  # pooled branches of the PSP pooling (grids 1, 2, 4, 8 per side)
    attention_depth: int = 5  # fractal depth D of the FracTAL similarity (not the loss's)
    norm: str = "batch"  # "batch" (code default) | "group" (paper) | "instance" | "layer"
    norm_groups: int = 4  # groups of every GroupNorm when norm == "group"
    num_classes: int = 2  # classes of each output; 2 = one-hot change / no change
    upfuse: bool = False  # decoder joins the skips with Fusion instead of concatenation
    widths: int | tuple[int, ...] = 1  # units per level: one int, or one per level

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {tuple(UNITS)}, got {self.unit!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        positive = ("in_channels", "depth", "nfilters", "nheads_start", "psp_depth", "num_classes")
        for name in (*positive, "attention_depth"):
            value, smallest = getattr(self, name), 0 if name == "attention_depth" else 1
            if not isinstance(value, int) or value < smallest:
                raise ValueError(f"{name} must be an int >= {smallest}, got {value!r}")
        self.level_widths()  # validates widths

    @classmethod
    def from_preset(cls, preset: str | None = None, **fields: Any) -> CEECNetConfig:
        """A config from a named size (see :data:`MODEL_PRESETS`) and other fields.

        The preset sets ``depth``, ``nfilters``, ``nheads_start`` and ``psp_depth``;
        giving one of them a different value as well raises ``ValueError``.
        ``preset=None`` starts from the defaults (the paper's D6nf32).
        """
        if preset is None:
            return cls(**fields)
        if preset not in MODEL_PRESETS:
            raise ValueError(
                f"unknown preset {preset!r}; choose one of: {', '.join(MODEL_PRESETS)}"
            )
        sizes = MODEL_PRESETS[preset]
        for key, value in fields.items():
            if key in sizes and value != sizes[key]:
                raise ValueError(
                    f"preset {preset!r} sets {key}={sizes[key]}; drop preset or {key}={value}"
                )
        return cls(**{**fields, **sizes})

    def level_widths(self) -> tuple[int, ...]:
        """Units per encoder level ``0..depth−1`` (decoder level ``i`` uses the same as ``i``)."""
        widths = (self.widths,) * self.depth if isinstance(self.widths, int) else self.widths
        if len(widths) != self.depth or any(w < 1 for w in widths):
            raise ValueError(
                f"widths must be a positive int or {self.depth} positive ints (one per level), "
                f"got {self.widths!r}"
            )
        return tuple(widths)

    @property
    def norm_args(self) -> dict[str, Any]:
        """``norm=`` and ``norm_groups=``, the same for every layer of the model."""
        return dict(norm=self.norm, norm_groups=self.norm_groups)

    @property
    def attention_args(self) -> dict[str, Any]:
        """:attr:`norm_args` and ``attention_depth=``, for every layer with FracTAL attention."""
        return dict(attention_depth=self.attention_depth, **self.norm_args)

    def channels(self, level: int) -> int:
        """Filters of encoder level ``level``: ``nf · 2^level``."""
        return self.nfilters * 2**level

    def nheads(self, level: int) -> int:
        """Attention heads of (encoder or decoder) level ``level``: ``nheads_start · 2^level``."""
        return self.nheads_start * 2**level

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this: ``2^(depth − 1 + psp_depth − 1)``.

        The deepest map (``H / 2^(depth−1)``) is split into ``2^(psp_depth−1)``
        PSP cells per side, and a CEEC unit halves it once more inside.
        """
        inner = max(self.psp_depth - 1, 1 if self.unit.startswith("ceec") else 0)
        return 2 ** (self.depth - 1 + inner)


def _level(config: CEECNetConfig, channels: int, nheads: int, width: int) -> nn.Sequential:
    """``width`` units of ``config.unit`` with ``channels`` filters and ``nheads`` heads."""
    unit = UNITS[config.unit]
    return nn.Sequential(*(unit(channels, nheads, **config.attention_args) for _ in range(width)))


def _encoder_levels(config: CEECNetConfig) -> tuple[nn.ModuleList, nn.ModuleList]:
    """The encoder units of every level and the DownSample between levels."""
    widths = config.level_widths()
    levels = nn.ModuleList(
        _level(config, config.channels(i), config.nheads(i), widths[i]) for i in range(config.depth)
    )
    downsamples = nn.ModuleList(
        DownSample(config.channels(i), **config.norm_args) for i in range(config.depth - 1)
    )
    return levels, downsamples


class MantisDecoder(nn.Module):
    """Decoder levels ``depth−1 .. 1``: combine with the skip, then the units.

    Level ``i`` has ``nf · 2^(i−1)`` filters and ``nheads_start · 2^i`` heads
    (as in the reference implementation).
    """

    def __init__(self, config: CEECNetConfig) -> None:
        super().__init__()
        widths = config.level_widths()
        self.combines = nn.ModuleList()
        self.units = nn.ModuleList()
        for i in range(config.depth - 1, 0, -1):
            channels, nheads = config.channels(i - 1), config.nheads(i)
            if config.upfuse:
                self.combines.append(UpFuseCombine(channels, nheads, **config.attention_args))
            else:
                self.combines.append(UpCombine(channels, **config.norm_args))
            self.units.append(_level(config, channels, nheads, widths[i]))

    def forward(self, middle: Tensor, skips: list[Tensor]) -> Tensor:
        """``middle``: deepest map; ``skips``: one per level, shallowest first."""
        x = middle  # (B, nf·2^(depth−1), H/2^(depth−1), W/2^(depth−1))
        for combine, units, skip in zip(self.combines, self.units, reversed(skips), strict=True):
            x = units(combine(x, skip))  # twice the size, half the filters
        return x  # (B, nf, H, W)


class CEECNet(nn.Module):
    """The mantis change detector (Siamese encoder, Fusion skips, PSP middle, multitask head).

    Build it with ``create_model("ceecnet_v1" | "ceecnet_v2" | "fractal_resnet", ...)``
    (see :func:`create_ceecnet`).

    Args:
        config: the architecture; defaults to the paper's D6nf32 CEECNet V1.

    Forward:
        ``x1, x2``: the two dates, ``(B, in_channels, H, W)``, with ``H, W``
        multiples of ``config.size_multiple``. Returns ``(segmentation, boundary,
        distance)`` probabilities, each ``(B, num_classes, H, W)``.
    """

    task = "change"
    output = "multitask"

    def __init__(self, config: CEECNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CEECNetConfig()
        nrm, nf = config.norm_args, config.nfilters
        self.conv_first = Conv2dNormed(config.in_channels, nf, 1, **nrm)
        self.fuse_first = Fusion(nf, 1, **config.attention_args)
        self.encoder, self.downsamples = _encoder_levels(config)
        self.skip_fusions = nn.ModuleList(
            Fusion(config.channels(i), config.nheads(i), **config.attention_args)
            for i in range(config.depth - 1)
        )
        deepest = config.channels(config.depth - 1)
        self.middle = PSPPooling(2 * deepest, deepest, config.psp_depth, **nrm)
        self.decoder = MantisDecoder(config)
        self.head = MultitaskHead(nf, config.num_classes, config.psp_depth, **nrm)

    def _encode(self, x1: Tensor, x2: Tensor) -> tuple[list[Tensor], Tensor]:
        """Run both dates down the shared encoder; return the fused skips and the middle."""
        skips = []
        for units, fuse, down in zip(
            self.encoder[:-1], self.skip_fusions, self.downsamples, strict=True
        ):
            x1, x2 = units(x1), units(x2)  # (B, C_i, H_i, W_i) each
            skips.append(fuse(x1, x2))  # (B, C_i, H_i, W_i)
            x1, x2 = down(x1), down(x2)  # (B, 2C_i, H_i/2, W_i/2)
        x1, x2 = self.encoder[-1](x1), self.encoder[-1](x2)
        middle = torch.relu(self.middle(torch.cat([x1, x2], dim=1)))  # (B, C_last, H_l, W_l)
        return skips, middle

    @property
    def input_multiple(self) -> int:
        """H and W must be multiples of this (``config.size_multiple``)."""
        return self.config.size_multiple

    def forward(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        check_pair(x1, x2, self.config.in_channels, self.input_multiple)
        x1, x2 = self.conv_first(x1), self.conv_first(x2)  # (B, nf, H, W) each
        first = self.fuse_first(x1, x2)  # (B, nf, H, W)
        skips, middle = self._encode(x1, x2)
        return self.head(self.decoder(middle, skips), first)


class CEECNetSegmentation(nn.Module):
    """Single-input U-Net-like variant for semantic segmentation (reference ``X_dn``).

    The same units, PSP middle, decoder and multitask head as :class:`CEECNet`,
    with one image: the encoder outputs are the skips, and the head is
    conditioned on the first 1×1 convolution instead of ``fuse_first``.

    Forward:
        ``x``: ``(B, in_channels, H, W)``; returns ``(segmentation, boundary,
        distance)``, each ``(B, num_classes, H, W)``.
    """

    task = "segmentation"
    output = "multitask"

    def __init__(self, config: CEECNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CEECNetConfig()
        nrm = config.norm_args
        self.conv_first = Conv2dNormed(config.in_channels, config.nfilters, 1, **nrm)
        self.encoder, self.downsamples = _encoder_levels(config)
        deepest = config.channels(config.depth - 1)
        self.middle = PSPPooling(deepest, deepest, config.psp_depth, **nrm)
        self.decoder = MantisDecoder(config)
        self.head = MultitaskHead(config.nfilters, config.num_classes, config.psp_depth, **nrm)

    @property
    def input_multiple(self) -> int:
        """H and W must be multiples of this (``config.size_multiple``)."""
        return self.config.size_multiple

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        check_image(x, "x", self.config.in_channels, self.input_multiple)
        first = x = self.conv_first(x)  # (B, nf, H, W)
        skips = []
        for units, down in zip(self.encoder[:-1], self.downsamples, strict=True):
            skips.append(x := units(x))  # (B, C_i, H_i, W_i)
            x = down(x)  # (B, 2C_i, H_i/2, W_i/2)
        middle = torch.relu(self.middle(self.encoder[-1](x)))  # (B, C_last, H_l, W_l)
        return self.head(self.decoder(middle, skips), first)


# ----------------------------------------------------------------------------- factory

#: What tells the registered CEECNet-family models apart: the class that wires
#: the levels and the unit that fills them (``None``: the ``unit=`` argument).
VARIANTS: dict[str, tuple[type[nn.Module], str | None]] = {
    "ceecnet_v1": (CEECNet, "ceec_v1"),  # the paper's main model
    "ceecnet_v2": (CEECNet, "ceec_v2"),  # CEEC units joined by Fusion
    "fractal_resnet": (CEECNet, "fractal_resnet"),  # the paper's second model
    "ceecnet_segmentation": (CEECNetSegmentation, None),  # one image, any unit
}


def create_ceecnet(
    variant: str,
    preset: str | None = None,
    weights_path: str | Path | None = None,
    **fields: Any,
) -> nn.Module:
    """Build a CEECNet-family model: the one factory behind the four registry names.

    Args:
        variant: a key of :data:`VARIANTS` (``"ceecnet_v1"``, ``"ceecnet_v2"``,
            ``"fractal_resnet"``, ``"ceecnet_segmentation"``).
        preset: a key of :data:`MODEL_PRESETS` (``"ceecnet-d6nf32"``, ``"ceecnet-tiny"``);
            it sets ``depth``, ``nfilters``, ``nheads_start`` and ``psp_depth``, and
            giving one of these a different value as well raises ``ValueError``.
        weights_path: a state-dict file to load (:func:`~ceec_lab.models.utils.load_weights`).
        **fields: any other field of :class:`CEECNetConfig` (``norm="group"``,
            ``attention_depth=0``, ...); ``unit`` only for ``"ceecnet_segmentation"``,
            the others fix their unit.

    Returns:
        A :class:`CEECNet` (change detection) or :class:`CEECNetSegmentation`.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"unknown CEECNet variant {variant!r}; choose one of: {', '.join(VARIANTS)}"
        )
    model_class, unit = VARIANTS[variant]
    if unit is not None:
        if fields.setdefault("unit", unit) != unit:
            raise ValueError(
                f"{variant} is built from {unit!r} units, got unit={fields['unit']!r}; "
                "choose the variant of that unit instead"
            )
    config = CEECNetConfig.from_preset(preset, **fields)
    return load_weights(model_class(config), weights_path)


def ceecnet_v1(**kwargs: Any) -> nn.Module:
    """CEECNet V1 change detector (the paper's main model); arguments as :func:`create_ceecnet`."""
    return create_ceecnet("ceecnet_v1", **kwargs)


def ceecnet_v2(**kwargs: Any) -> nn.Module:
    """CEECNet V2 change detector (CEEC units with Fusion); arguments as :func:`create_ceecnet`."""
    return create_ceecnet("ceecnet_v2", **kwargs)


def fractal_resnet(**kwargs: Any) -> nn.Module:
    """Mantis with FracTAL ResNet units (the paper's second model); see :func:`create_ceecnet`."""
    return create_ceecnet("fractal_resnet", **kwargs)


def ceecnet_segmentation(**kwargs: Any) -> nn.Module:
    """Single-input segmentation with CEECNet units (``unit=``, default ``"ceec_v1"``).

    Arguments as :func:`create_ceecnet`.
    """
    return create_ceecnet("ceecnet_segmentation", **kwargs)


__all__ = [
    "MODEL_PRESETS",
    "UNITS",
    "VARIANTS",
    "CEECNet",
    "CEECNetConfig",
    "CEECNetSegmentation",
    "MantisDecoder",
    "ceecnet_segmentation",
    "ceecnet_v1",
    "ceecnet_v2",
    "create_ceecnet",
    "fractal_resnet",
]
