"""The similarities of :mod:`.functional` as ``nn.Module`` losses.

Every loss here is ``1 − similarity`` with the similarity summed over
(C, H, W) per sample, then averaged over the batch, exactly as the CEECNet
reference does. They take probabilities, never logits:

* ``probs``: ``(B, K, H, W)``, e.g. ``logits.softmax(dim=1)``;
* ``target``: class indices ``(B, H, W)`` (int64, one-hot encoded here) or a
  one-hot float tensor ``(B, K, H, W)``.

The class attribute ``expects = "probs"`` tells the training engine to apply a
softmax to the model's logits before calling the loss (the wrapped torch/smp
losses in :mod:`.registry` say ``"logits"`` instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from ceec_lab.losses import functional as F


class _SimilarityLoss(nn.Module):
    """Base class: ``1 − similarity(probs, target)``, batch mean.

    Subclasses define :meth:`similarity`; this class checks the inputs and
    turns an integer mask into one-hot channels.
    """

    expects = "probs"

    def __init__(self, smooth: float = F.SMOOTH) -> None:
        super().__init__()
        self.smooth = smooth

    def similarity(self, probs: Tensor, target: Tensor) -> Tensor:
        """Per-sample similarity ``(B, 1, 1, 1)`` of ``probs`` and a one-hot ``target``."""
        raise NotImplementedError

    def forward(self, probs: Tensor, target: Tensor) -> Tensor:
        """Loss of ``probs`` ``(B, K, H, W)`` against ``target``; a scalar tensor."""
        F.check_probabilities(probs, "probs")
        target = F.one_hot_target(target, probs)  # (B, K, H, W)
        F.check_probabilities(target, "target")
        return 1.0 - self.similarity(probs, target).mean()


class DiceD1Loss(_SimilarityLoss):
    """``1 − D1``, D1 = ``2Σpl / (Σp + Σl)`` (:func:`.functional.dice_d1`)."""

    def similarity(self, probs: Tensor, target: Tensor) -> Tensor:
        return F.dice_d1(probs, target, smooth=self.smooth)


class DiceD2Loss(_SimilarityLoss):
    """``1 − D2``, D2 = ``2Σpl / Σ(p² + l²)`` (:func:`.functional.dice_d2`)."""

    def similarity(self, probs: Tensor, target: Tensor) -> Tensor:
        return F.dice_d2(probs, target, smooth=self.smooth)


class TanimotoLoss(_SimilarityLoss):
    """``1 − D3``, the Tanimoto loss (:func:`.functional.tanimoto`)."""

    def similarity(self, probs: Tensor, target: Tensor) -> Tensor:
        return F.tanimoto(probs, target, smooth=self.smooth)


class TanimotoComplementLoss(_SimilarityLoss):
    """``1 − ½ [T(p, l) + T(1−p, 1−l)]`` (:func:`.functional.tanimoto_complement`)."""

    def similarity(self, probs: Tensor, target: Tensor) -> Tensor:
        return F.tanimoto_complement(probs, target, smooth=self.smooth)


class FractalTanimotoLoss(_SimilarityLoss):
    """``1 − FTC_D``: the CEECNet loss (docs/paper_map.md).

    Args:
        depth: the fractal depth ``D`` of the loss (a non-negative integer). It is a
            plain attribute, so a schedule such as
            :class:`ceec_lab.losses.EvolvingDepth` can raise it during training; the
            trainer's history records it as ``loss_depth``, apart from a model's
            ``depth`` (encoder levels) and ``attention_depth``.
        smooth: the reference's smoothing constant.
    """

    def __init__(self, depth: int = 0, smooth: float = F.SMOOTH) -> None:
        super().__init__(smooth)
        self.depth = depth

    def similarity(self, probs: Tensor, target: Tensor) -> Tensor:
        return F.fractal_tanimoto_complement(probs, target, self.depth, smooth=self.smooth)

    def extra_repr(self) -> str:
        return f"depth={self.depth}"


class MultitaskLoss(nn.Module):
    """CEECNet's multitask loss: the mean of :class:`FractalTanimotoLoss` on three outputs.

    The model returns ``(segmentation, boundary, distance)``, each ``(B, 2, H, W)``
    probabilities; the targets are the change mask and its boundary and distance
    transforms (docs/paper_map.md: multitask head). Call it as::

        loss = loss_fn(outputs, batch)

    where ``outputs`` is the model's tuple and ``batch`` the dataset's dict with
    ``"mask"`` (``(B, H, W)`` int64 or ``(B, 2, H, W)`` one-hot), ``"boundary"``
    and ``"distance"`` (``(B, 2, H, W)`` float). A sequence
    ``(mask, boundary, distance)`` works in place of the dict.

    Args:
        depth: fractal depth of all three terms (settable, like
            :attr:`FractalTanimotoLoss.depth`).
        smooth: the reference's smoothing constant.
    """

    expects = "probs"
    target_keys = ("mask", "boundary", "distance")

    def __init__(self, depth: int = 0, smooth: float = F.SMOOTH) -> None:
        super().__init__()
        self.term = FractalTanimotoLoss(depth, smooth)

    @property
    def depth(self) -> int:
        """The fractal depth shared by the three terms."""
        return self.term.depth

    @depth.setter
    def depth(self, value: int) -> None:
        self.term.depth = value

    def forward(
        self, outputs: Sequence[Tensor], target: Mapping[str, Tensor] | Sequence[Tensor]
    ) -> Tensor:
        """Mean of the segmentation, boundary and distance losses; a scalar tensor."""
        if isinstance(target, Mapping):
            missing = [key for key in self.target_keys if key not in target]
            if missing:
                raise ValueError(
                    f"target is missing the keys {missing}; it needs {self.target_keys}"
                )
            target = [target[key] for key in self.target_keys]
        if len(outputs) != 3 or len(target) != 3:
            raise ValueError(
                "outputs and target must each hold (segmentation, boundary, distance), "
                f"got {len(outputs)} outputs and {len(target)} targets"
            )
        losses = [self.term(probs, t) for probs, t in zip(outputs, target, strict=True)]
        return sum(losses) / 3.0


class LSNetHybridLoss(nn.Module):
    """LSNet's loss: the hybrid cross-entropy + Dice term plus the contrastive term.

    ``loss = hybrid(logits, mask) + contrastive_weight · Σ_levels contrastive(f1, f2, mask)``
    (:func:`.functional.hybrid`, :func:`.functional.contrastive_change`): the change map is
    supervised directly, and at every backbone level the two dates' features are pulled
    together where nothing changed and pushed apart where something did.

    In the authors' code (``utils/losses.py``, loss ``contra_hybrid``) the contrastive
    sum over the feature pairs is written but commented out, and the training script
    passes only the final logits: their runs trained on the hybrid term alone.
    ``contrastive_weight=0`` reproduces that; the default keeps the term the loss is
    named for.

    Call it on the model's whole output, ``loss_fn(model(x1, x2), mask)``; the training
    engine does so because ``takes_features`` is set (a plain loss gets only the logits).

    Args:
        contrastive_weight: weight of the contrastive term (0 turns it off).
        margin_same, margin_changed: margins of the contrastive term.
    """

    expects = "logits"
    takes_features = True

    def __init__(
        self, contrastive_weight: float = 1.0, margin_same: float = 0.3, margin_changed: float = 2.2
    ) -> None:
        super().__init__()
        if contrastive_weight < 0:
            raise ValueError(f"contrastive_weight must be >= 0, got {contrastive_weight}")
        self.contrastive_weight = contrastive_weight
        self.margins = (margin_same, margin_changed)

    def forward(self, output: Sequence | Tensor, target: Tensor) -> Tensor:
        """Loss of an LSNet output ``(logits, features)`` against the mask ``(B, H, W)``."""
        if isinstance(output, Tensor):
            if self.contrastive_weight:
                raise ValueError(
                    "output is a logits tensor, but the contrastive term needs the model's "
                    "(logits, features); pass LSNet's whole output or contrastive_weight=0"
                )
            return F.hybrid(output, target)
        logits, features = output
        loss = F.hybrid(logits, target)
        if self.contrastive_weight:
            terms = [F.contrastive_change(f1, f2, target, *self.margins) for f1, f2 in features]
            loss = loss + self.contrastive_weight * sum(terms)
        return loss

    def extra_repr(self) -> str:
        return f"contrastive_weight={self.contrastive_weight}"
