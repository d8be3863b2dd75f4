"""FracTAL, the Fractal Tanimoto Attention Layer of the CEECNet paper.

Dot-product attention compares every pixel with every other pixel, an
``(HW) × (HW)`` matrix that does not fit in memory at 256×256. FracTAL compares
queries and keys with the fractal Tanimoto similarity instead, and only along
two axes at a time:

* the **channel** map sums over space: one similarity per channel, ``(B, C, 1, 1)``
  ("which feature maps of q and k agree");
* the **spatial** map sums over channels: one similarity per pixel, ``(B, 1, H, W)``
  ("where do q and k agree").

Both maps lie in [0, 1] and weight the values ``v``; the cost is linear in the
number of pixels.

Softmax dot-product attention is here too, written out, for comparison:
:func:`dot_product_attention`, and :func:`dot_product_self_attention`, a FracTAL
layer with its similarity swapped for it (:mod:`ceec_lab.measure` compares
their memory; notebook 03).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ceec_lab.losses.functional import fractal_tanimoto_complement
from ceec_lab.models.nn.conv import Conv2dNormed, NormName, make_norm


class FracTALSimilarity(nn.Module):
    """The spatial and channel FTC_D maps of queries and keys (no parameters).

    Kept as its own module so that :func:`~ceec_lab.models.nn.attention_capture.capture_attention`
    can read the maps with a forward hook, and so that nothing is recorded
    when nobody asks.

    Args:
        attention_depth: fractal depth ``D`` of the averaged Tanimoto with complement
            (the reference default is 5).
    """

    def __init__(self, attention_depth: int = 5) -> None:
        super().__init__()
        self.attention_depth = attention_depth

    def forward(self, q: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(spatial, channel)``, float32 whatever the input dtype.

        Args:
            q, k: ``(B, C, H, W)`` values in [0, 1].
        """
        spatial = fractal_tanimoto_complement(q, k, self.attention_depth, dim=1)  # (B, 1, H, W)
        channel = fractal_tanimoto_complement(
            q, k, self.attention_depth, dim=(2, 3)
        )  # (B, C, 1, 1)
        return spatial, channel


class RelativeFracTAL(nn.Module):
    """Relative FracTAL attention: queries from one map, keys and values from another.

    ``q, k, v = sigmoid(Conv2dNormed_3x3(x_q, x_k, x_v))``, each with ``nkeys``
    channels and one convolution group per head; the output is
    ``norm(½ (channel · v + spatial · v))``, as the reference implementation
    computes it. The sigmoid keeps ``q`` and ``k`` in [0, 1], where the
    Tanimoto similarity is defined.

    Args:
        in_channels: channels of the three inputs.
        nkeys: channels of ``q``, ``k``, ``v`` and of the output.
        nheads: convolution groups (attention heads).
        attention_depth: fractal depth ``D`` of the similarity.
        norm: norm layer name (see :func:`~ceec_lab.models.nn.conv.make_norm`).
        norm_groups: groups for ``norm="group"``.
    """

    def __init__(
        self,
        in_channels: int,
        nkeys: int,
        nheads: int = 1,
        attention_depth: int = 5,
        norm: NormName = "batch",
        norm_groups: int = 4,
    ) -> None:
        super().__init__()
        conv_args = dict(kernel_size=3, groups=nheads, norm=norm, norm_groups=norm_groups)
        self.query = Conv2dNormed(in_channels, nkeys, **conv_args)
        self.key = Conv2dNormed(in_channels, nkeys, **conv_args)
        self.value = Conv2dNormed(in_channels, nkeys, **conv_args)
        self.similarity = FracTALSimilarity(attention_depth)
        self.norm = make_norm(norm, nkeys, norm_groups)

    def forward(self, x_q: Tensor, x_k: Tensor, x_v: Tensor) -> Tensor:
        q = self.query(x_q).sigmoid()  # (B, nkeys, H, W)
        k = self.key(x_k).sigmoid()  # (B, nkeys, H, W)
        v = self.value(x_v).sigmoid()  # (B, nkeys, H, W)
        spatial, channel = self.similarity(q, k)  # (B, 1, H, W), (B, nkeys, 1, 1) float32
        # ½ (channel·v + spatial·v) = v · ½ (channel + spatial); the broadcast sum is (B, C, H, W)
        weight = (0.5 * spatial).to(v.dtype) + (0.5 * channel).to(v.dtype)
        return self.norm(weight * v)  # (B, nkeys, H, W)


class SelfFracTAL(RelativeFracTAL):
    """Self FracTAL attention: the relative form with ``x_q = x_k = x_v = x``."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x, x, x)


class AttentionGate(nn.Module):
    """Emphasise a map with an attention: ``target · (1 + γ · attention(*inputs))``.

    This is how every FracTAL output is used in CEECNet (FracTAL ResNet and CEEC units, Fusion): the
    attention, in [0, 1] before its norm, rescales features multiplicatively. γ
    starts at 0 so that a fresh network ignores the attention and learns how
    much of it to use; the identity term ``1`` keeps the signal when the
    attention is near zero.

    Args:
        attention: a :class:`RelativeFracTAL` or :class:`SelfFracTAL`.
    """

    def __init__(self, attention: RelativeFracTAL) -> None:
        super().__init__()
        self.attention = attention
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, target: Tensor, *inputs: Tensor) -> Tensor:
        return target * (1.0 + self.gamma * self.attention(*inputs))  # (B, C, H, W)


# ----------------------------------------------------------------------------- dot-product


def dot_product_weights(q: Tensor, k: Tensor) -> Tensor:
    """The attention matrix ``softmax(Q Kᵀ / √C)`` over the ``HW`` pixels of a feature map.

    Every pixel is a token of ``C`` features; row ``i`` says how much query
    pixel ``i`` attends to each key pixel (it sums to 1).

    Args:
        q, k: ``(B, C, H, W)``.

    Returns:
        ``(B, HW, HW)``: every pixel against every pixel.
    """
    if q.ndim != 4 or q.shape != k.shape:
        raise ValueError(
            f"q and k must both be (B, C, H, W) of one shape, got {tuple(q.shape)} and "
            f"{tuple(k.shape)}"
        )
    queries = q.flatten(2).transpose(1, 2)  # (B, HW, C)
    keys = k.flatten(2)  # (B, C, HW)
    scores = queries @ keys / math.sqrt(q.shape[1])  # (B, HW, HW)
    return scores.softmax(dim=-1)  # (B, HW, HW), each row sums to 1


def dot_product_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Softmax dot-product attention over the ``HW`` pixels of a feature map.

    ``softmax(Q Kᵀ / √C) V`` written out (not fused), so that the
    ``(HW) × (HW)`` matrix is there to see: this is the textbook memory cost,
    the one FracTAL avoids. (Fused kernels such as FlashAttention avoid storing
    it too, by recomputing it tile by tile.)

    Args:
        q, k, v: ``(B, C, H, W)``.

    Returns:
        ``(B, C, H, W)``: every pixel a weighted mean of the values of all pixels.
    """
    if v.shape != q.shape:
        raise ValueError(f"v must have the shape of q, {tuple(q.shape)}, got {tuple(v.shape)}")
    weights = dot_product_weights(q, k)  # (B, HW, HW)
    out = weights @ v.flatten(2).transpose(1, 2)  # (B, HW, C)
    return out.transpose(1, 2).reshape(q.shape)  # (B, C, H, W)


def dot_product_self_attention(layer: RelativeFracTAL, x: Tensor) -> Tensor:
    """``layer`` with its FracTAL similarity swapped for dot-product attention.

    The queries, keys, values and the output norm are the layer's own, so a
    comparison of the two measures the similarity and nothing else.

    Args:
        layer: a :class:`~ceec_lab.models.nn.SelfFracTAL` (or relative) layer.
        x: ``(B, C, H, W)`` input.
    """
    q, k, v = (projection(x).sigmoid() for projection in (layer.query, layer.key, layer.value))
    return layer.norm(dot_product_attention(q, k, v))  # (B, nkeys, H, W)
