"""create_loss: every name builds, runs on tiny tensors and says what it expects."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.losses import FractalTanimotoLoss, create_loss, list_losses

NAMES = [
    "ce",
    "focal",
    "lovasz",
    "smp_dice",
    "smp_jaccard",
    "dice_d1",
    "dice_d2",
    "tanimoto",
    "tanimoto_complement",
    "fractal_tanimoto",
    "multitask",
    "lsnet_hybrid",
]


def test_list_losses_has_every_name():
    assert set(NAMES) <= set(list_losses())
    assert list_losses() == sorted(list_losses())


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("multitask", "lsnet_hybrid")])
def test_each_loss_runs_on_what_it_expects(name):
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    mask = torch.randint(0, 3, (2, 8, 8))
    loss_fn = create_loss(name)
    assert loss_fn.expects in {"logits", "probs"}
    inputs = logits if loss_fn.expects == "logits" else logits.softmax(dim=1)
    loss = loss_fn(inputs, mask)
    loss.backward()
    assert loss.shape == () and torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


def test_multitask_from_the_registry():
    loss_fn = create_loss("multitask", depth=5)
    outputs = tuple(torch.rand(1, 2, 4, 4).softmax(dim=1) for _ in range(3))
    targets = (torch.randint(0, 2, (1, 4, 4)), torch.rand(1, 2, 4, 4), torch.rand(1, 2, 4, 4))
    assert loss_fn.depth == 5 and torch.isfinite(loss_fn(outputs, targets))


def test_ce_is_torch_cross_entropy_and_kwargs_pass_through():
    logits, mask = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    expected = torch.nn.functional.cross_entropy(logits, mask)
    assert torch.allclose(create_loss("ce")(logits, mask), expected)
    loss_fn = create_loss("Fractal-Tanimoto", depth=7)
    assert isinstance(loss_fn, FractalTanimotoLoss) and loss_fn.depth == 7
    assert create_loss("smp_dice", mode="binary").mode == "binary"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown loss name 'dice'.*fractal_tanimoto"):
        create_loss("dice")
