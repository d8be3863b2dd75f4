"""The nn.Module losses: targets as masks or one-hot, batch mean, depth, multitask."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.losses import (
    DiceD1Loss,
    DiceD2Loss,
    FractalTanimotoLoss,
    MultitaskLoss,
    TanimotoComplementLoss,
    TanimotoLoss,
)
from ceec_lab.losses import functional as F

LOSSES = [DiceD1Loss, DiceD2Loss, TanimotoLoss, TanimotoComplementLoss, FractalTanimotoLoss]


def _probs_and_mask(batch=2, classes=3, size=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, classes, size, size, generator=generator)
    mask = torch.randint(0, classes, (batch, size, size), generator=generator)
    return logits.softmax(dim=1), mask


@pytest.mark.parametrize("loss_class", LOSSES)
def test_mask_and_one_hot_targets_agree(loss_class):
    probs, mask = _probs_and_mask()
    loss_fn = loss_class()
    one_hot = torch.nn.functional.one_hot(mask, 3).permute(0, 3, 1, 2).float()
    assert loss_fn.expects == "probs"
    assert loss_fn(probs, mask).shape == ()
    assert torch.allclose(loss_fn(probs, mask), loss_fn(probs, one_hot))


@pytest.mark.parametrize("loss_class", LOSSES)
def test_perfect_prediction_gives_zero_and_batch_mean(loss_class):
    probs, mask = _probs_and_mask()
    one_hot = torch.nn.functional.one_hot(mask, 3).permute(0, 3, 1, 2).float()
    loss_fn = loss_class()
    assert loss_fn(one_hot, mask).item() == pytest.approx(0.0, abs=1e-6)
    per_sample = [loss_fn(probs[i : i + 1], mask[i : i + 1]) for i in range(2)]
    assert loss_fn(probs, mask).item() == pytest.approx(sum(per_sample).item() / 2, abs=1e-6)


def test_fractal_tanimoto_loss_matches_reference_and_depth_is_settable():
    p = torch.tensor([[0.2, 0.9], [0.4, 0.7]]).view(1, 1, 2, 2)
    l = torch.tensor([[0.0, 1.0], [1.0, 1.0]]).view(1, 1, 2, 2)  # noqa: E741
    loss_fn = FractalTanimotoLoss(depth=0)
    assert loss_fn(p, l).item() == pytest.approx(0.29231, abs=1e-4)
    loss_fn.depth = 5
    assert loss_fn(p, l).item() == pytest.approx(0.58969, abs=1e-4)
    assert "depth=5" in repr(loss_fn)


def test_gradients_flow_to_logits_at_depth_30():
    logits = torch.randn(2, 2, 16, 16, requires_grad=True)
    mask = torch.randint(0, 2, (2, 16, 16))
    FractalTanimotoLoss(depth=30)(logits.softmax(dim=1), mask).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_losses_reject_logits_and_bad_targets():
    probs, mask = _probs_and_mask()
    with pytest.raises(ValueError, match="probs must hold probabilities"):
        TanimotoLoss()(probs * 5 - 2, mask)
    with pytest.raises(ValueError, match="target must hold probabilities"):
        TanimotoLoss()(probs, torch.full_like(probs, 2.0))
    with pytest.raises(ValueError, match="class indices"):
        TanimotoLoss()(probs, mask[:, :4])


def _multitask_batch(batch=2, size=8):
    outputs = tuple(_probs_and_mask(batch, 2, size, seed)[0] for seed in range(3))
    mask = torch.randint(0, 2, (batch, size, size))
    boundary = torch.nn.functional.one_hot(torch.randint(0, 2, (batch, size, size)), 2)
    distance = torch.rand(batch, 1, size, size)
    return outputs, {
        "image1": torch.rand(batch, 3, size, size),
        "mask": mask,
        "boundary": boundary.permute(0, 3, 1, 2).float(),
        "distance": torch.cat([1 - distance, distance], dim=1),
    }


def test_multitask_loss_is_the_mean_of_three_terms():
    outputs, batch = _multitask_batch()
    loss_fn = MultitaskLoss(depth=3)
    term = FractalTanimotoLoss(depth=3)
    targets = (batch["mask"], batch["boundary"], batch["distance"])
    expected = sum(term(o, t) for o, t in zip(outputs, targets, strict=True)) / 3
    assert loss_fn.expects == "probs"
    assert loss_fn(outputs, batch).item() == pytest.approx(expected.item(), abs=1e-6)
    assert loss_fn(outputs, targets).item() == pytest.approx(expected.item(), abs=1e-6)


def test_multitask_depth_reaches_the_terms():
    outputs, batch = _multitask_batch()
    loss_fn = MultitaskLoss()
    shallow = loss_fn(outputs, batch)
    loss_fn.depth = 10
    assert loss_fn.term.depth == 10 and loss_fn.depth == 10
    assert loss_fn(outputs, batch) > shallow


def test_multitask_bad_inputs():
    outputs, batch = _multitask_batch()
    with pytest.raises(ValueError, match=r"missing the keys \['distance'\]"):
        MultitaskLoss()(outputs, {k: v for k, v in batch.items() if k != "distance"})
    with pytest.raises(ValueError, match="got 2 outputs"):
        MultitaskLoss()(outputs[:2], batch)


def test_smooth_is_passed_through():
    empty = torch.zeros(1, 1, 2, 2)
    # With smooth = 0 an empty prediction of an empty label is 0/0.
    assert torch.isnan(F.tanimoto(empty, empty, smooth=0.0)).all()
    assert TanimotoLoss(smooth=1.0)(empty, empty).item() == pytest.approx(0.0)
