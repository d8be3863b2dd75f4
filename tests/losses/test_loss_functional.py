"""The similarity functions: hand-computed values, the REFERENCE §1 table, properties, safety."""

# p and l (prediction, label) as in the paper.
# ruff: noqa: E741

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ceec_lab.losses import functional as F

# REFERENCE §1: one sample, sums over (C, H, W).
P = torch.tensor([[0.2, 0.9], [0.4, 0.7]]).view(1, 1, 2, 2)
L = torch.tensor([[0.0, 1.0], [1.0, 1.0]]).view(1, 1, 2, 2)
# By hand: pl = 2.0, Σp = 2.2, Σl = 3, pp = 1.5, ll = 3.


@pytest.mark.parametrize(
    ("depth", "ftc", "loss"),
    [
        (0, 0.70769, 0.29231),
        (1, 0.70769, None),
        (3, 0.55204, None),
        (5, 0.41031, 0.58969),
        (10, None, 0.77899),
    ],
)
def test_reference_table(depth, ftc, loss):
    value = F.fractal_tanimoto_complement(P, L, depth).item()
    if ftc is not None:
        assert value == pytest.approx(ftc, abs=1e-4)
    if loss is not None:
        assert 1 - value == pytest.approx(loss, abs=1e-4)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (F.dice_d1, 4.0 / 5.2),  # 2·2 / (2.2 + 3)
        (F.dice_d2, 4.0 / 4.5),  # 2·2 / (1.5 + 3)
        (F.tanimoto, 2.0 / 2.5),  # 2 / (4.5 − 2)
        # complement: 1−p = (.8, .1, .6, .3), 1−l = (1, 0, 0, 0): 0.8 / (1.1 + 1 − 0.8)
        (F.tanimoto_complement, 0.5 * (0.8 + 0.8 / 1.3)),
    ],
)
def test_dice_forms_by_hand(function, expected):
    value = function(P, L)
    assert value.shape == (1, 1, 1, 1)
    assert value.item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(("depth", "expected"), [(0, 2 / 2.5), (1, 2 / 3), (2, 2 / 4), (0.5, None)])
def test_fractal_tanimoto_closed_form(depth, expected):
    # T^d = pl / (2^d (pp + ll) − (2^(d+1) − 1) pl) = 2 / (2^d · 4.5 − (2^(d+1) − 1) · 2)
    if expected is None:
        expected = 2 / (2**depth * 4.5 - (2 ** (depth + 1) - 1) * 2)
    assert F.fractal_tanimoto(P, L, depth).item() == pytest.approx(expected, abs=1e-5)


def test_tanimoto_is_depth_zero_and_reduces_over_dim():
    p, l = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    assert torch.equal(F.tanimoto(p, l), F.fractal_tanimoto(p, l, 0))
    assert F.tanimoto(p, l, dim=1).shape == (2, 1, 4, 4)
    assert F.fractal_tanimoto_complement(p, l, 5, dim=(2, 3)).shape == (2, 3, 1, 1)


def test_complement_rescues_an_empty_label():
    p = torch.full((1, 1, 4, 4), 0.3, requires_grad=True)
    empty = torch.zeros(1, 1, 4, 4)
    # Without the complement the similarity is (almost) 0 whatever p is: no signal.
    assert F.tanimoto(p, empty).item() < 1e-4
    F.tanimoto_complement(p, empty).sum().backward()
    assert (p.grad < 0).all()  # pushes p towards the empty label


def test_perfect_prediction_at_depth_30_on_256_masks():
    mask = torch.rand(1, 256, 256) > 0.5
    one_hot = torch.stack([~mask, mask], dim=1).float()  # (1, 2, 256, 256)
    assert 1 - F.fractal_tanimoto_complement(one_hot, one_hot, 30).item() == pytest.approx(
        0.0, abs=1e-6
    )
    assert 1 - F.fractal_tanimoto(one_hot, one_hot, 30).item() == pytest.approx(0.0, abs=1e-6)
    # The textbook denominator cancels catastrophically in float32 (REFERENCE §1).
    pl, total = (one_hot * one_hot).sum(), 2 * (one_hot * one_hot).sum()
    naive = (pl + F.SMOOTH) / (2.0**30 * total - (2.0**31 - 1) * pl + F.SMOOTH)
    assert abs(naive.item() - 1) > 0.1


INPUTS = {
    "zeros": (torch.zeros, torch.zeros),
    "ones": (torch.ones, torch.ones),
    "zeros_vs_ones": (torch.zeros, torch.ones),
    "ones_vs_zeros": (torch.ones, torch.zeros),
}


def _gradient(function, make_p, make_l, depth, autocast_dtype=None):
    p = make_p(2, 2, 8, 8).requires_grad_()
    l = make_l(2, 2, 8, 8)
    with torch.autocast(
        "cpu", dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None
    ):
        value = function(p, l, depth).sum()
    value.backward()
    return value, p.grad


@pytest.mark.parametrize("autocast_dtype", [None, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("depth", [0, 10, 30])
@pytest.mark.parametrize("kind", list(INPUTS))
@pytest.mark.parametrize(
    "function", [F.fractal_tanimoto, F.fractal_tanimoto_mean, F.fractal_tanimoto_complement]
)
def test_finite_values_and_gradients_at_extremes(function, kind, depth, autocast_dtype):
    value, gradient = _gradient(function, *INPUTS[kind], depth, autocast_dtype)
    assert value.dtype == torch.float32
    assert torch.isfinite(value) and torch.isfinite(gradient).all()


@pytest.mark.parametrize("autocast_dtype", [torch.bfloat16, torch.float16])
def test_half_precision_inputs_are_reduced_in_float32(autocast_dtype):
    p, l = torch.rand(1, 2, 64, 64), (torch.rand(1, 2, 64, 64) > 0.5).float()
    expected = F.fractal_tanimoto_complement(p.to(autocast_dtype).float(), l, 5)
    assert F.fractal_tanimoto_complement(p.to(autocast_dtype), l, 5).dtype == torch.float32
    assert torch.allclose(F.fractal_tanimoto_complement(p.to(autocast_dtype), l, 5), expected)


# --- properties ------------------------------------------------------------------------------

vectors = st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4)
depths = st.floats(0.0, 12.0)
SIMILARITIES = {
    "d1": F.dice_d1,
    "d2": F.dice_d2,
    "tanimoto": F.tanimoto,
    "tanimoto_complement": F.tanimoto_complement,
    "fractal_d3.5": lambda p, l: F.fractal_tanimoto(p, l, 3.5),
    "fractal_mean_d5": lambda p, l: F.fractal_tanimoto_mean(p, l, 5),
    "fractal_complement_d5": lambda p, l: F.fractal_tanimoto_complement(p, l, 5),
}


def _t(values):
    return torch.tensor(values, dtype=torch.float64).view(1, 1, 2, 2)


@pytest.mark.parametrize("name", list(SIMILARITIES))
@settings(max_examples=60, deadline=None)
@given(p=vectors, l=vectors)
def test_values_in_unit_interval_and_symmetric(name, p, l):
    function = SIMILARITIES[name]
    forward, backward = function(_t(p), _t(l)).item(), function(_t(l), _t(p)).item()
    assert 0.0 <= forward <= 1.0 + 1e-12
    assert forward == pytest.approx(backward, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", [n for n in SIMILARITIES if n != "d1"])
@settings(max_examples=60, deadline=None)
@given(p=vectors, l=vectors)
def test_one_exactly_when_equal(name, p, l):
    function = SIMILARITIES[name]
    assert function(_t(p), _t(p)).item() == pytest.approx(1.0, abs=1e-12)
    if max(abs(a - b) for a, b in zip(p, l, strict=True)) > 1e-2:
        assert function(_t(p), _t(l)).item() < 1.0


def test_d1_is_one_only_for_crisp_equal_inputs():
    crisp = _t([0.0, 1.0, 1.0, 0.0])
    assert F.dice_d1(crisp, crisp).item() == pytest.approx(1.0)
    soft = _t([0.5, 0.5, 0.5, 0.5])
    assert F.dice_d1(soft, soft).item() == pytest.approx(0.5, abs=1e-4)  # 2·1 / (2 + 2)


@settings(max_examples=80, deadline=None)
@given(p=vectors, l=vectors, depth=st.integers(1, 12))
def test_closed_form_equals_recursion(p, l, depth):
    p, l = _t(p), _t(l)
    if (p * l).sum() < 1e-3:
        return  # T is 0 and the recursion is trivially 0 = 0
    previous = F.fractal_tanimoto(p, l, depth - 1, smooth=0.0)
    recursion = previous / (2.0 - previous)  # T^d = T^(d−1) / (2 − T^(d−1)), T(p, p) = 1
    assert F.fractal_tanimoto(p, l, depth, smooth=0.0).item() == pytest.approx(
        recursion.item(), rel=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(p=vectors, l=vectors, low=depths, high=depths)
def test_deeper_is_never_more_similar(p, l, low, high):
    low, high = sorted((low, high))
    assert F.fractal_tanimoto(_t(p), _t(l), high) <= F.fractal_tanimoto(_t(p), _t(l), low) + 1e-12


# --- bad inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        F.dice_d1,
        F.dice_d2,
        F.tanimoto,
        F.tanimoto_complement,
        F.fractal_tanimoto,
        F.fractal_tanimoto_mean,
        F.fractal_tanimoto_complement,
    ],
)
def test_shape_mismatch_names_the_arguments(function):
    with pytest.raises(ValueError, match=r"p and l must have the same shape"):
        function(torch.rand(1, 2, 4, 4), torch.rand(1, 1, 4, 4))


def test_bad_depths():
    with pytest.raises(ValueError, match="depth must be >= 0"):
        F.fractal_tanimoto(P, L, -1)
    with pytest.raises(ValueError, match="non-negative integer"):
        F.fractal_tanimoto_mean(P, L, 2.5)


@pytest.mark.parametrize("bad", [torch.tensor([-0.5, 0.5]), torch.tensor([0.2, 3.0])])
def test_check_probabilities_rejects_logits(bad):
    with pytest.raises(ValueError, match=r"probs must hold probabilities in \[0, 1\]"):
        F.check_probabilities(bad)


def test_check_probabilities_rejects_nan_and_integers():
    with pytest.raises(ValueError, match="target must hold"):
        F.check_probabilities(torch.tensor([0.5, float("nan")]), "target")
    with pytest.raises(TypeError, match="floating-point"):
        F.check_probabilities(torch.tensor([0, 1]))
    F.check_probabilities(torch.tensor([0.0, 1.0]))  # the bounds are fine


def test_one_hot_target():
    probs = torch.rand(2, 3, 4, 4)
    mask = torch.randint(0, 3, (2, 4, 4))
    one_hot = F.one_hot_target(mask, probs)
    assert one_hot.shape == (2, 3, 4, 4) and one_hot.dtype == torch.float32
    assert torch.equal(one_hot.argmax(1), mask) and torch.equal(one_hot.sum(1), torch.ones(2, 4, 4))
    assert F.one_hot_target(one_hot, probs) is not None  # float one-hot passes through


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (torch.randint(0, 3, (2, 5, 5)), r"class indices of shape \(2, 4, 4\)"),
        (torch.full((2, 4, 4), 3), r"must lie in \[0, 2\]"),
        (torch.rand(2, 2, 4, 4), "one-hot with the shape of probs"),
    ],
)
def test_one_hot_target_bad_inputs(target, message):
    with pytest.raises(ValueError, match=message):
        F.one_hot_target(target, torch.rand(2, 3, 4, 4))


def test_one_hot_target_needs_4d_probs():
    with pytest.raises(ValueError, match=r"probs must be \(B, K, H, W\)"):
        F.one_hot_target(torch.zeros(2, 4, dtype=torch.long), torch.rand(2, 4))
