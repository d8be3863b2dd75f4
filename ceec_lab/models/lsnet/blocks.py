"""Building blocks of LSNet (Liu et al., "LSNet: Extremely light-weight Siamese network for
change detection of remote sensing image", IGARSS 2022).

LSNet is about cost. Its parameters and FLOPs shrink in two places, and the blocks here
follow that split:

* the **light Siamese backbone** (:class:`LightSiameseBackbone`) is built from CGNet's
  *Context Guided Blocks* (Wu et al., "CGNet", IEEE TIP 2021), whose spatial convolutions
  are depthwise (one 3×3 filter per channel), so a block costs about as much as its 1×1
  convolution;
* the **difference feature pyramid** (:class:`DiffFPN`) fuses the two dates' features with
  fewer, better-placed connections than SNUNet-CD's dense pyramid (:class:`DenseFPN`,
  the paper's ablation).

A coordinate-attention head (Hou et al., "Coordinate Attention", CVPR 2021) turns the
pyramid's outputs into the change logits (:class:`CoordinateAttentionHead`).

Sizes (channels, blocks per stage, dilations, reductions) are those of the authors'
code (github.com/qaz670756/LSNet), so the parameter counts match it exactly. Two
details of that code are kept because they change the counts or the numbers: every
BatchNorm of the Context Guided Blocks and the backbone uses ``eps=0.01``, and the
coordinate attention's BatchNorm the default ``1e-5``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: ``eps`` of the BatchNorms of the Context Guided Blocks and the backbone (authors' code).
BN_EPS = 0.01


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """The BatchNorm of LSNet's blocks (``eps`` = :data:`BN_EPS`)."""
    return nn.BatchNorm2d(channels, eps=BN_EPS)


def upsample2x(x: Tensor) -> Tensor:
    """Bilinear ×2 upsampling (``align_corners=True``, as in the authors' code); no weights."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class GlobalContext(nn.Module):
    """The global context extractor ``f_glo`` of a Context Guided Block.

    CGNet argues that local and surrounding features are not enough: which of them
    matter depends on the whole scene. The block averages its features over the image
    and a two-layer bottleneck (``channels → channels / reduction → channels``) turns the
    average into one gate in (0, 1) per channel (squeeze-and-excitation).

    Args:
        channels: channels of the features to re-weight.
        reduction: bottleneck ratio; ``channels`` must be at least ``reduction``.
    """

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        if not 1 <= reduction <= channels:
            raise ValueError(f"reduction must be in [1, channels={channels}], got {reduction}")
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        gates = self.fc(x.mean(dim=(2, 3)))  # (B, C) one gate per channel
        return x * gates[:, :, None, None]  # (B, C, H, W)


class ContextGuidedBlock(nn.Module):
    """CGNet's Context Guided Block, the unit of LSNet's backbone and pyramid.

    Four parts, each cheap:

    1. a convolution halves the channels (1×1; or 3×3 with stride 2 when the block
       downsamples), BatchNorm, PReLU;
    2. the *local* feature ``f_loc``: a depthwise 3×3 convolution (the pixel's
       neighbourhood) and the *surrounding context* ``f_sur``: a depthwise 3×3
       convolution dilated by ``dilation`` (a wider ring around it);
    3. the *joint feature*: both concatenated (back to ``out_channels``), BatchNorm, PReLU;
    4. the *global context* :class:`GlobalContext` re-weights the joint feature's channels.

    Depthwise convolutions are what make LSNet light: a 3×3 depthwise filter over ``C``
    channels has ``9C`` weights instead of ``9C²``. A residual connection adds the input
    when shapes allow it (``residual=True`` and no downsampling).

    Args:
        in_channels: input channels.
        out_channels: output channels (even: half come from each of ``f_loc``, ``f_sur``).
        dilation: dilation of the surrounding-context convolution.
        reduction: bottleneck ratio of the global context.
        downsample: halve the height and width (3×3 stride-2 first convolution).
        residual: add the input to the output (ignored when downsampling).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        dilation: int = 2,
        reduction: int = 8,
        downsample: bool = False,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"out_channels must be even, got {out_channels}")
        half = out_channels // 2
        kernel = 3 if downsample else 1
        self.reduce = nn.Sequential(
            nn.Conv2d(
                in_channels, half, kernel, stride=2 if downsample else 1, padding=kernel // 2
            ),
            batch_norm(half),
            nn.PReLU(half),
        )
        self.local = nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False)
        self.surrounding = nn.Conv2d(
            half, half, 3, padding=dilation, dilation=dilation, groups=half, bias=False
        )
        self.joint = nn.Sequential(batch_norm(out_channels), nn.PReLU(out_channels))
        self.global_context = GlobalContext(out_channels, reduction)
        self.residual = residual and not downsample
        if self.residual and in_channels != out_channels:
            raise ValueError(
                f"a residual block needs in_channels == out_channels, got {in_channels} "
                f"and {out_channels}"
            )

    def forward(self, x: Tensor) -> Tensor:
        y = self.reduce(x)  # (B, C/2, H', W'), H' = H or H/2
        joint = torch.cat([self.local(y), self.surrounding(y)], dim=1)  # (B, C, H', W')
        out = self.global_context(self.joint(joint))  # (B, C, H', W')
        return x + out if self.residual else out


class BackboneStage(nn.Module):
    """One stage of the light Siamese backbone: ``num_blocks`` Context Guided Blocks.

    The first block changes the width (and downsamples, except in stage 0); the others
    are residual. As in CGNet, the stage's output concatenates the last block's features
    with the first block's (a shortcut across the stage, stages 1-3) and with the input
    image average-pooled to the stage's size (input injection, stages 0-1), then
    BatchNorm and PReLU.

    Args:
        in_channels: channels entering the stage.
        channels: channels of every block.
        num_blocks: Context Guided Blocks in the stage.
        dilation, reduction: of every block (:class:`ContextGuidedBlock`).
        downsample: the first block halves the size.
        image_channels: channels of the injected image (0: no injection).
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        num_blocks: int,
        dilation: int,
        reduction: int,
        downsample: bool,
        image_channels: int,
    ) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f"num_blocks must be >= 1, got {num_blocks}")
        self.blocks = nn.ModuleList(
            ContextGuidedBlock(
                in_channels if i == 0 else channels,
                channels,
                dilation,
                reduction,
                downsample=downsample and i == 0,
                residual=i > 0,
            )
            for i in range(num_blocks)
        )
        self.shortcut = downsample  # the first block's output joins the stage's output
        self.image_channels = image_channels
        self.out_channels = channels * (2 if downsample else 1) + image_channels
        self.norm = nn.Sequential(batch_norm(self.out_channels), nn.PReLU(self.out_channels))

    def forward(self, x: Tensor, image: Tensor) -> Tensor:
        first = x = self.blocks[0](x)  # (B, C, H', W')
        for block in self.blocks[1:]:
            x = block(x)  # (B, C, H', W')
        parts = [x, first] if self.shortcut else [x]
        if self.image_channels:
            parts.append(image)  # (B, C_img, H', W') the pooled input image
        return self.norm(torch.cat(parts, dim=1))  # (B, out_channels, H', W')


class LightSiameseBackbone(nn.Module):
    """LSNet's light Siamese backbone: four stages of Context Guided Blocks.

    The paper's "LightSiamese-52": 3/3/8/12 blocks with 32/64/128/256 channels and
    dilations 1/2/4/8 (the surrounding context widens with depth), stage 0 at full
    resolution, each later stage halving it. The two dates go through the *same*
    weights; the caller stacks them along the batch so that BatchNorm sees both.

    Args:
        in_channels: bands of one image.
        channels, num_blocks, dilations, reductions: one per stage.

    Shapes:
        input ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of 8; output: one map
        per stage, ``(B, out_channels[i], H / 2^i, W / 2^i)``.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        num_blocks: Sequence[int],
        dilations: Sequence[int],
        reductions: Sequence[int],
    ) -> None:
        super().__init__()
        self.stages = nn.ModuleList()
        width = in_channels
        for i, settings in enumerate(zip(channels, num_blocks, dilations, reductions, strict=True)):
            image_channels = in_channels if i < 2 else 0  # input injection, stages 0 and 1
            stage = BackboneStage(width, *settings, downsample=i > 0, image_channels=image_channels)
            self.stages.append(stage)
            width = stage.out_channels
        self.out_channels = tuple(stage.out_channels for stage in self.stages)

    def forward(self, x: Tensor) -> list[Tensor]:
        image, features = x, []
        for i, stage in enumerate(self.stages):
            if i > 0:  # the image, average-pooled to the stage's size (3×3, stride 2)
                image = F.avg_pool2d(image, 3, stride=2, padding=1)
            x = stage(x, image)  # (B, out_channels[i], H / 2^i, W / 2^i)
            features.append(x)
        return features


def cg_block(in_channels: int, out_channels: int, dilation: int, reduction: int) -> nn.Module:
    """A plain (not residual, not downsampling) Context Guided Block: the pyramids' unit."""
    return ContextGuidedBlock(in_channels, out_channels, dilation, reduction)


class DiffFPN(nn.Module):
    """LSNet's difference feature pyramid (diffFPN).

    The paper's argument against SNUNet-CD's dense pyramid (:class:`DenseFPN`) is
    *redundancy* (the shallow features of both dates enter every nested node) and an
    *unreasonable feature flow* (the first outputs never see the deep features). diffFPN
    instead

    1. fuses the two dates once per level (a lateral block on ``[f1, f2]``);
    2. runs a top-down path, so that every level carries the deeper levels' context;
    3. merges neighbouring levels round after round (``[level i, up(level i+1)]``),
       one level fewer each round, until one full-resolution map is left.

    Each round's full-resolution map is an output, so all outputs hold features of the
    whole backbone. ``rounds=3`` is the paper's model; ``rounds=2`` the authors'
    "thin" variant.

    Args:
        in_channels: channels of one date's backbone maps, one per level.
        mid_channels: channels of level 0 (doubled per level).
        dilations, reductions: of the Context Guided Blocks, one per level.
        rounds: merge rounds (at most the number of levels − 1).

    Shapes:
        input: per level ``i`` a pair of ``(B, in_channels[i], H / 2^i, W / 2^i)`` maps;
        output: ``rounds`` full-resolution maps, ``mid_channels`` channels each, the last
        ``2 · mid_channels`` (:attr:`out_channels` in all).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        mid_channels: int,
        dilations: Sequence[int],
        reductions: Sequence[int],
        rounds: int = 3,
    ) -> None:
        super().__init__()
        levels = len(in_channels)
        if not 1 <= rounds < levels:
            raise ValueError(f"rounds must be in [1, {levels - 1}], got {rounds}")
        width = [mid_channels * 2**i for i in range(levels)]
        settings = list(zip(dilations, reductions, strict=True))
        self.lateral = nn.ModuleList(
            cg_block(2 * c, w, *s) for c, w, s in zip(in_channels, width, settings, strict=True)
        )
        self.top_down = nn.ModuleList(  # level i → i−1, deepest first
            cg_block(width[i], width[i - 1], *settings[i]) for i in range(levels - 1, 0, -1)
        )
        self.rounds = nn.ModuleList()
        for r in range(rounds):
            merges = rounds - r  # level i of this round merges levels i and i+1
            last = merges == 1
            self.rounds.append(
                nn.ModuleList(
                    cg_block(3 * width[i], 2 * width[i] if last else width[i], *settings[i])
                    for i in range(merges)
                )
            )
        self.out_channels = mid_channels * (rounds + 1)

    def forward(self, pairs: Sequence[tuple[Tensor, Tensor]]) -> list[Tensor]:
        # lateral: both dates of level i into one map of width[i] channels
        lateral = zip(self.lateral, pairs, strict=True)
        maps = [conv(torch.cat(pair, dim=1)) for conv, pair in lateral]
        for k, conv in enumerate(self.top_down):  # top-down path, deepest level first
            i = len(maps) - 1 - k
            maps[i - 1] = maps[i - 1] + upsample2x(conv(maps[i]))  # (B, width[i-1], H_i-1, W_i-1)
        outputs = []
        for merges in self.rounds:
            maps = [
                conv(torch.cat([maps[i], upsample2x(maps[i + 1])], dim=1))  # (B, width[i], ...)
                for i, conv in enumerate(merges)
            ]
            outputs.append(maps[0])  # (B, mid or 2·mid, H, W)
        return outputs


class DenseFPN(nn.Module):
    """SNUNet-CD's densely connected pyramid, rebuilt with Context Guided Blocks.

    The paper's ablation (denseFPN): nested nodes ``x_{i,j}`` as in UNet++, where node
    ``(i, j)`` sees both dates' level-``i`` features, every earlier node of its level and
    the upsampled node ``(i+1, j−1)``. Three columns are kept (nodes ``x_{0,1..3}``,
    ``x_{1,1..2}``, ``x_{2,1}``); ``x_{0,1}``, ``x_{0,2}``, ``x_{0,3}`` are the outputs.

    Args:
        in_channels: channels of one date's backbone maps, one per level (four).
        node_channels: channels of the nodes of levels 0, 1, 2.
        dilations, reductions: of the Context Guided Blocks, one per level.

    Shapes:
        as :class:`DiffFPN`; output: three ``(B, node_channels[0], H, W)`` maps.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        node_channels: Sequence[int],
        dilations: Sequence[int],
        reductions: Sequence[int],
    ) -> None:
        super().__init__()
        if len(in_channels) != 4 or len(node_channels) < 3:
            raise ValueError("DenseFPN needs 4 backbone levels and 3 node widths")
        c, n = in_channels, node_channels
        self.columns = 3
        self.nodes = nn.ModuleDict()
        for j in range(1, self.columns + 1):  # column j has nodes at levels 0 .. 3 − j
            for i in range(self.columns + 1 - j):
                # both dates, the j − 1 earlier nodes of level i, the node below (upsampled)
                below = 2 * c[i + 1] if j == 1 else n[i + 1]
                in_ch = 2 * c[i] + (j - 1) * n[i] + below
                self.nodes[f"{i}_{j}"] = cg_block(in_ch, n[i], dilations[i], reductions[i])
        self.out_channels = self.columns * n[0]

    def forward(self, pairs: Sequence[tuple[Tensor, Tensor]]) -> list[Tensor]:
        rows: list[list[Tensor]] = [list(pair) for pair in pairs]  # level i: [f1, f2, nodes...]
        for j in range(1, self.columns + 1):
            for i in range(self.columns + 1 - j):
                below = rows[i + 1][:2] if j == 1 else rows[i + 1][-1:]
                below = [upsample2x(b) for b in below]  # (B, ·, H_i, W_i)
                rows[i].append(self.nodes[f"{i}_{j}"](torch.cat(rows[i] + below, dim=1)))
        return rows[0][2:]  # x_{0,1}, x_{0,2}, x_{0,3}: (B, n[0], H, W) each


class CoordinateAttention(nn.Module):
    """Coordinate attention (Hou et al., CVPR 2021): channel gates that know where.

    Squeeze-and-excitation pools a map to one number per channel and forgets the
    positions. Coordinate attention pools along each axis separately (a profile per row
    and one per column), encodes both profiles with a shared 1×1 bottleneck, and gates
    every pixel by ``a_h(row) · a_w(column)``: a change region is emphasised where its
    rows and its columns both light up.

    Args:
        channels: channels in and out.
        groups: bottleneck ratio; the bottleneck has ``max(8, channels // groups)`` channels.
    """

    def __init__(self, channels: int, groups: int = 16) -> None:
        super().__init__()
        hidden = max(8, channels // groups)
        self.encode = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden), nn.Hardswish()
        )
        self.gate_h = nn.Conv2d(hidden, channels, 1)
        self.gate_w = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        rows = x.mean(dim=3, keepdim=True)  # (B, C, H, 1) one profile per row
        cols = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (B, C, W, 1) one per column
        y = self.encode(torch.cat([rows, cols], dim=2))  # (B, hidden, H + W, 1)
        y_h, y_w = y.split([h, w], dim=2)
        a_h = self.gate_h(y_h).sigmoid()  # (B, C, H, 1)
        a_w = self.gate_w(y_w).sigmoid().transpose(2, 3)  # (B, C, 1, W)
        return x * a_h * a_w  # (B, C, H, W)


class CoordinateAttentionHead(nn.Module):
    """The head: concatenate the pyramid's outputs, coordinate attention, 1×1 classifier.

    Args:
        in_channels: channels of the concatenated pyramid outputs.
        num_classes: output classes ``K``.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.attention = CoordinateAttention(in_channels, groups=16)
        self.classifier = nn.Conv2d(in_channels, num_classes, 1)

    def forward(self, maps: Sequence[Tensor]) -> Tensor:
        x = torch.cat(list(maps), dim=1)  # (B, in_channels, H, W)
        return self.classifier(self.attention(x))  # (B, K, H, W) logits
