"""Similarity maths as plain functions (the modules in :mod:`.modules` wrap them).

Notation follows the CEECNet paper (Diakogiannis et al. 2021, §3): for tensors
``p`` (prediction) and ``l`` (label) reduced over some axes,
``pl = Σ p·l``, ``pp = Σ p·p``, ``ll = Σ l·l``.

Every similarity here is 1 for a perfect prediction and 0 for the worst one; a
loss is ``1 − similarity``. The lecture's three Dice forms are

* D1 ``2 Σpl / (Σp + Σl)`` (the F1 score made soft),
* D2 ``2 Σpl / Σ(p² + l²)`` (the V-Net Dice),
* D3 ``Σpl / (Σ(p² + l²) − Σpl)`` (the Tanimoto coefficient),

and the fractal Tanimoto ``T^d`` generalises D3 with a depth ``d`` that makes the
landscape steeper near the optimum.

All reductions run in float32 (or wider) with autocast off, because under
bf16/fp16 the sums over a 256×256 map lose the digits the similarity depends on.
These functions check shapes (cheap) but not value ranges (that costs a
device sync); the loss modules check both with :func:`check_probabilities`.
"""

# The paper's names p and l (prediction, label) are kept on purpose.
# ruff: noqa: E741

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

Dims = int | Sequence[int]

#: The reference implementation's smoothing constant.
SMOOTH = 1e-5

#: Slack allowed outside [0, 1] by :func:`check_probabilities` (float rounding).
PROBABILITY_TOLERANCE = 1e-4


def _check_same_shape(p: Tensor, l: Tensor) -> None:
    if p.shape != l.shape:
        raise ValueError(
            f"p and l must have the same shape, got p {tuple(p.shape)} and l {tuple(l.shape)}"
        )


def _as_float32(p: Tensor, l: Tensor) -> tuple[Tensor, Tensor]:
    """Upcast half-precision inputs so that the reductions keep their digits."""
    dtype = torch.promote_types(torch.promote_types(p.dtype, l.dtype), torch.float32)
    return p.to(dtype), l.to(dtype)


def _autocast_off(t: Tensor) -> torch.autocast:
    return torch.autocast(device_type=t.device.type, enabled=False)


def check_probabilities(x: Tensor, name: str = "probs") -> None:
    """Raise a ``ValueError`` unless every value of ``x`` lies in [0, 1] (NaN fails too).

    The similarity losses are defined for probabilities; logits passed by
    mistake give meaningless (even negative) losses instead of an error.

    Args:
        x: the tensor to check.
        name: the argument name the message should show.
    """
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    low, high = torch.aminmax(x.detach())
    if not (low >= -PROBABILITY_TOLERANCE and high <= 1 + PROBABILITY_TOLERANCE):
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], found values in "
            f"[{low.item():.4g}, {high.item():.4g}]; apply softmax/sigmoid to logits first"
        )


def one_hot_target(target: Tensor, probs: Tensor) -> Tensor:
    """The target as a float one-hot tensor shaped like ``probs``.

    Args:
        target: class indices ``(B, H, W)`` (int64) or an already one-hot/soft
            float target ``(B, K, H, W)``.
        probs: the predictions ``(B, K, H, W)`` the target is compared with.

    Returns:
        ``(B, K, H, W)`` float tensor with the dtype of ``probs``.
    """
    if probs.ndim != 4:
        raise ValueError(f"probs must be (B, K, H, W), got shape {tuple(probs.shape)}")
    if target.is_floating_point():
        if target.shape != probs.shape:
            raise ValueError(
                f"a float target must be one-hot with the shape of probs {tuple(probs.shape)}, "
                f"got target {tuple(target.shape)}"
            )
        return target.to(probs.dtype)
    expected = (probs.shape[0], *probs.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"an integer target must be class indices of shape {expected} (B, H, W), "
            f"got target {tuple(target.shape)}"
        )
    num_classes = probs.shape[1]
    if target.numel() and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(
            f"target class indices must lie in [0, {num_classes - 1}] for probs with "
            f"{num_classes} channels, found [{target.min().item()}, {target.max().item()}]"
        )
    one_hot = torch.nn.functional.one_hot(target.long(), num_classes)  # (B, H, W, K)
    return one_hot.permute(0, 3, 1, 2).to(probs.dtype)  # (B, K, H, W)


def dice_d1(p: Tensor, l: Tensor, dim: Dims = (1, 2, 3), smooth: float = SMOOTH) -> Tensor:
    """Dice form D1 ``2Σpl / (Σp + Σl)``: the F1 score with soft counts.

    Its gradient does not vanish at the optimum, so training keeps pushing
    probabilities that are already right.

    Args:
        p: predictions in [0, 1], any shape.
        l: labels, same shape as ``p``.
        dim: axes to reduce.
        smooth: added to numerator and denominator (so ``D1(0, 0) = 1``).

    Returns:
        Similarity in [0, 1], float32, with the reduced axes kept as size 1.
    """
    _check_same_shape(p, l)
    with _autocast_off(p):
        p, l = _as_float32(p, l)
        pl = (p * l).sum(dim=dim, keepdim=True)
        total = (p + l).sum(dim=dim, keepdim=True)
        return (2.0 * pl + smooth) / (total + smooth)


def dice_d2(p: Tensor, l: Tensor, dim: Dims = (1, 2, 3), smooth: float = SMOOTH) -> Tensor:
    """Dice form D2 ``2Σpl / Σ(p² + l²)`` (Milletari et al. 2016, V-Net).

    Args, returns and smoothing as in :func:`dice_d1`.
    """
    _check_same_shape(p, l)
    with _autocast_off(p):
        p, l = _as_float32(p, l)
        pl = (p * l).sum(dim=dim, keepdim=True)
        squares = (p.square() + l.square()).sum(dim=dim, keepdim=True)
        return (2.0 * pl + smooth) / (squares + smooth)


def tanimoto(p: Tensor, l: Tensor, dim: Dims = (1, 2, 3), smooth: float = SMOOTH) -> Tensor:
    """Dice form D3, the Tanimoto coefficient ``Σpl / (Σ(p² + l²) − Σpl)`` (paper §3).

    It is :func:`fractal_tanimoto` at depth 0. Args and returns as in :func:`dice_d1`.
    """
    return fractal_tanimoto(p, l, depth=0.0, dim=dim, smooth=smooth)


def tanimoto_complement(
    p: Tensor, l: Tensor, dim: Dims = (1, 2, 3), smooth: float = SMOOTH
) -> Tensor:
    """Tanimoto with complement ``½ [T(p, l) + T(1−p, 1−l)]`` (paper §3).

    Without the complement an all-background label (``l = 0``) gives ``T = 0``
    whatever ``p`` is, so no gradient; the complement term measures how well
    the background is predicted and fixes that.
    """
    p, l = _as_float32(p, l)  # 1 − p in bf16 would already round
    return 0.5 * (tanimoto(p, l, dim, smooth) + tanimoto(1.0 - p, 1.0 - l, dim, smooth))


def fractal_tanimoto(
    p: Tensor, l: Tensor, depth: float = 0.0, dim: Dims = (1, 2, 3), smooth: float = SMOOTH
) -> Tensor:
    """Fractal Tanimoto similarity ``T^d(p, l)`` in closed form (paper Eq. 7).

    ``T^d = pl / (2^d (pp + ll) − (2^(d+1) − 1) pl)``; ``d = 0`` is the plain
    Tanimoto ``pl / (pp + ll − pl)``. The denominator is evaluated as the equal
    ``2^d ‖p − l‖² + pl``, which does not cancel in float32 at high depth.

    Args:
        p: predictions, any shape, values in [0, 1].
        l: labels, same shape as ``p``.
        depth: fractal depth ``d ≥ 0`` (real-valued).
        dim: axes to reduce.
        smooth: added to numerator and denominator (so ``T^d(0, 0) = 1``).

    Returns:
        Similarity in [0, 1], float32, with the reduced axes kept as size 1.
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    _check_same_shape(p, l)
    with _autocast_off(p):
        p, l = _as_float32(p, l)
        pl = (p * l).sum(dim=dim, keepdim=True)
        sq_dist = (p - l).square().sum(dim=dim, keepdim=True)
        return (pl + smooth) / (2.0**depth * sq_dist + pl + smooth)


def fractal_tanimoto_mean(
    p: Tensor, l: Tensor, depth: int = 0, dim: Dims = (1, 2, 3), smooth: float = SMOOTH
) -> Tensor:
    """The reference's averaged fractal Tanimoto ``FT_D`` (paper Eq. 8).

    ``FT_D = (pl + smooth) · (1/D') Σ_{d=0}^{D'−1} 1 / (2^d (pp+ll) − (2^(d+1)−1) pl + smooth)``
    with ``D' = max(D, 1)``, so depth 0 and depth 1 are the same plain Tanimoto.
    Averaging over depths keeps the gradient informative far from the optimum
    while the deep terms sharpen it near the optimum.
    """
    if depth < 0 or int(depth) != depth:
        raise ValueError(f"depth must be a non-negative integer, got {depth}")
    _check_same_shape(p, l)
    with _autocast_off(p):
        p, l = _as_float32(p, l)
        pl = (p * l).sum(dim=dim, keepdim=True)
        sq_dist = (p - l).square().sum(dim=dim, keepdim=True)
        n_terms = max(int(depth), 1)
        inverse_sum = torch.zeros_like(pl)
        for d in range(n_terms):
            inverse_sum = inverse_sum + 1.0 / (2.0**d * sq_dist + pl + smooth)
        return (pl + smooth) * inverse_sum / n_terms


def fractal_tanimoto_complement(
    p: Tensor, l: Tensor, depth: int = 0, dim: Dims = (1, 2, 3), smooth: float = SMOOTH
) -> Tensor:
    """``FTC_D = ½ [FT_D(p, l) + FT_D(1−p, 1−l)]``: the averaged form with complement.

    The complement term rewards getting the background right as well as the
    foreground, so an empty label still gives a useful gradient. This is what
    the reference uses for its loss (sums over C, H, W) and inside FracTAL
    attention (sums over H, W for the channel map, over C for the spatial map).
    """
    p, l = _as_float32(p, l)  # 1 − p in bf16 would already round
    return 0.5 * (
        fractal_tanimoto_mean(p, l, depth, dim, smooth)
        + fractal_tanimoto_mean(1.0 - p, 1.0 - l, depth, dim, smooth)
    )


def contrastive_change(
    f1: Tensor, f2: Tensor, mask: Tensor, margin_same: float = 0.3, margin_changed: float = 2.2
) -> Tensor:
    """LSNet's contrastive term on the distance between the two dates' features.

    At every pixel ``d = ‖f1 − f2‖₂`` over the channels. Unchanged pixels pay
    ``max(d − m_same, 0)²`` (their features should agree, up to a small margin), changed
    pixels ``max(m_changed − d, 0)²`` (their features should be at least ``m_changed``
    apart); the result is ``mean(changed terms) + mean(unchanged terms)`` over all pixels,
    as in the LSNet authors' ``ContrastiveLoss`` (margins 0.3 and 2.2 there too).

    Args:
        f1, f2: one level's features of each date, ``(B, C, h, w)``.
        mask: change mask ``(B, H, W)`` (0/1); resized to ``(h, w)`` by nearest neighbour.
        margin_same, margin_changed: the two margins.

    Returns:
        A scalar, float32.
    """
    _check_same_shape(f1, f2)
    if mask.ndim != 3 or mask.shape[0] != f1.shape[0]:
        raise ValueError(f"mask must be (B, H, W) with B={f1.shape[0]}, got {tuple(mask.shape)}")
    with _autocast_off(f1):
        f1, f2 = _as_float32(f1, f2)
        changed = torch.nn.functional.interpolate(
            mask[:, None].to(f1.dtype), size=f1.shape[-2:], mode="nearest"
        )[:, 0]  # (B, h, w)
        d = (f1 - f2).norm(dim=1)  # (B, h, w)
        same_term = (d - margin_same).clamp(min=0).pow(2) * (1 - changed)
        changed_term = (margin_changed - d).clamp(min=0).pow(2) * changed
        return changed_term.mean() + same_term.mean()


def hybrid(logits: Tensor, mask: Tensor) -> Tensor:
    """The hybrid loss of SNUNet-CD and LSNet: cross-entropy plus ``1 −`` batch Dice.

    The Dice part is D1 (:func:`dice_d1`) of the softmax probabilities per class,
    reduced over the batch and the pixels together (``dim=(0, 2, 3)``), then averaged
    over the classes; the authors compute their "focal" term with ``gamma=0``, which is
    plain cross-entropy.

    Args:
        logits: ``(B, K, H, W)`` scores.
        mask: class indices ``(B, H, W)`` (int64).

    Returns:
        A scalar, float32.
    """
    with _autocast_off(logits):
        logits = logits.float()
        ce = torch.nn.functional.cross_entropy(logits, mask)
        probs = logits.softmax(dim=1)
        dice = dice_d1(probs, one_hot_target(mask, probs), dim=(0, 2, 3), smooth=1e-7)
        return ce + 1.0 - dice.mean()
