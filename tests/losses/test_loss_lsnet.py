"""LSNet's loss: the contrastive term by hand, the hybrid term, the module and registry."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.losses import LSNetHybridLoss, contrastive_change, create_loss, hybrid
from ceec_lab.models.lsnet import lsnet


def test_contrastive_change_by_hand() -> None:
    f1 = torch.tensor([[3.0, 0.0], [4.0, 0.1]]).reshape(1, 2, 1, 2)  # pixel distances 5, 0.1
    f2 = torch.zeros(1, 2, 1, 2)
    mask = torch.tensor([[[0, 1]]])  # pixel 0 unchanged, pixel 1 changed
    # unchanged: (5 − 0.3)² = 22.09; changed: (2.2 − 0.1)² = 4.41; each a mean over 2 pixels
    expected = 22.09 / 2 + 4.41 / 2
    assert contrastive_change(f1, f2, mask).item() == pytest.approx(expected, rel=1e-5)


def test_contrastive_change_is_zero_inside_the_margins() -> None:
    f = torch.rand(2, 4, 3, 3)
    same = torch.zeros(2, 3, 3, dtype=torch.long)
    assert contrastive_change(f, f, same).item() == 0.0
    far = f + 10.0  # distance 20 ≥ 2.2 everywhere
    assert contrastive_change(f, far, torch.ones_like(same)).item() == 0.0
    assert contrastive_change(f, far, same).item() > 0.0


def test_contrastive_change_resizes_the_mask_to_the_features() -> None:
    f1, f2 = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    mask = torch.zeros(1, 4, 4, dtype=torch.long)
    mask[:, :2, :2] = 1  # the top-left quarter → the top-left feature pixel
    # one changed pixel of four at distance 0 pays 2.2²; the mean runs over the 4 pixels
    assert contrastive_change(f1, f2, mask).item() == pytest.approx(2.2**2 / 4)
    with pytest.raises(ValueError, match="mask must be"):
        contrastive_change(f1, f2, mask[0])


def test_hybrid_is_cross_entropy_plus_batch_dice() -> None:
    torch.manual_seed(0)
    logits, mask = torch.randn(2, 2, 4, 4), torch.randint(0, 2, (2, 4, 4))
    probs = logits.softmax(1)
    onehot = torch.stack([mask == 0, mask == 1], dim=1).float()
    per_class = 2 * (probs * onehot).sum((0, 2, 3)) / (probs + onehot).sum((0, 2, 3))
    expected = torch.nn.functional.cross_entropy(logits, mask) + 1 - per_class.mean()
    torch.testing.assert_close(hybrid(logits, mask), expected, rtol=1e-5, atol=1e-6)


def test_hybrid_vanishes_for_a_confident_right_answer() -> None:
    mask = torch.randint(0, 2, (2, 5, 5))
    logits = 50.0 * torch.stack([mask == 0, mask == 1], dim=1).float()
    assert hybrid(logits, mask).item() == pytest.approx(0.0, abs=1e-5)


def test_module_adds_the_weighted_contrastive_sum_over_levels() -> None:
    torch.manual_seed(0)
    logits, mask = torch.randn(1, 2, 8, 8), torch.randint(0, 2, (1, 8, 8))
    features = tuple(
        (torch.rand(1, 3, 8 // s, 8 // s), torch.rand(1, 3, 8 // s, 8 // s)) for s in (1, 2)
    )
    contrastive = sum(contrastive_change(f1, f2, mask) for f1, f2 in features)
    loss = LSNetHybridLoss(contrastive_weight=0.5)((logits, features), mask)
    torch.testing.assert_close(loss, hybrid(logits, mask) + 0.5 * contrastive)
    off = LSNetHybridLoss(contrastive_weight=0)
    torch.testing.assert_close(off((logits, features), mask), hybrid(logits, mask))
    torch.testing.assert_close(off(logits, mask), hybrid(logits, mask))


def test_module_refuses_logits_alone_when_the_contrastive_term_is_on() -> None:
    with pytest.raises(ValueError, match="contrastive term needs"):
        LSNetHybridLoss()(torch.randn(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="contrastive_weight must be >= 0"):
        LSNetHybridLoss(contrastive_weight=-1)


def test_registry_builds_it_and_gradients_reach_lsnet() -> None:
    loss_fn = create_loss("lsnet_hybrid", contrastive_weight=0.1)
    assert isinstance(loss_fn, LSNetHybridLoss) and loss_fn.contrastive_weight == 0.1
    assert loss_fn.expects == "logits" and loss_fn.takes_features
    torch.manual_seed(0)
    model = lsnet()
    x1, x2 = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    loss = loss_fn(model(x1, x2), torch.randint(0, 2, (2, 16, 16)))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
