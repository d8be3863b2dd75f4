"""model_cost and the accuracy-versus-cost table: FLOPs known by hand, latency, efficiency."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from ceec_lab.measure import (
    NOT_TRAINED,
    cost_table,
    count_flops,
    count_parameters,
    cpu_latency,
    markdown_cost_table,
    model_cost,
    summarise_costs,
)


class OneConv(nn.Module):
    """A change "model" that is a single 3×3 convolution of the stacked dates."""

    task = "change"

    def __init__(self, out_channels: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(6, out_channels, 3, padding=1, bias=False)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x1, x2], dim=1))


class Sleeper(nn.Module):
    """Sleeps ``seconds`` per call, ``first`` on the very first call."""

    task = "segmentation"

    def __init__(self, seconds: float, first: float) -> None:
        super().__init__()
        self.seconds, self.first, self.calls = seconds, first, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        time.sleep(self.first if self.calls == 1 else self.seconds)
        return x


@pytest.mark.parametrize(("size", "out_channels"), [(16, 8), (32, 4)])
def test_flops_of_one_convolution_by_hand(size: int, out_channels: int) -> None:
    # every output value: 6 channels × 3 × 3 multiply-adds, 2 FLOPs each
    expected = 2 * (out_channels * size * size) * (6 * 3 * 3)
    assert count_flops(OneConv(out_channels), size) == expected


def test_flops_of_a_segmentation_model_take_one_image() -> None:
    model = nn.Conv2d(3, 5, 1)
    model.task = "segmentation"
    assert count_flops(model, 10) == 2 * 5 * 100 * 3


def test_count_parameters_skips_frozen_ones() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    assert count_parameters(model) == 4 * 3 + 3 + 3 * 2 + 2
    model[0].requires_grad_(False)
    assert count_parameters(model) == 3 * 2 + 2


def test_latency_is_the_median_after_warmup() -> None:
    model = Sleeper(seconds=0.01, first=0.3)
    latency = cpu_latency(model, size=4, repeats=3, warmup=1)
    assert model.calls == 4
    assert 0.01 <= latency < 0.2  # the slow first call is not measured


def test_model_cost_restores_the_mode_and_can_skip_latency() -> None:
    model = OneConv().train()
    cost = model_cost(model, size=16, latency_size=0)
    assert model.training
    assert cost["params"] == 6 * 8 * 9 and cost["latency_ms"] is None
    assert cost["gflops"] == pytest.approx(count_flops(model, 16) / 1e9)
    timed = model_cost(model, size=16, latency_size=8, repeats=2)
    assert timed["latency_ms"] > 0 and timed["latency_size"] == 8


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"repeats": 0}, "repeats must be >= 1"), ({"size": 0}, "size")]
)
def test_bad_arguments_are_named(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        cpu_latency(OneConv(), **{"size": 8, **kwargs})


def test_cost_table_computes_the_efficiency_and_marks_untrained_models() -> None:
    class Free(nn.Module):  # no parameters, no FLOPs: differencing-like
        task = "change"

        def forward(self, x1, x2):
            return (x1 - x2).abs()

    models = {"conv": OneConv(), "big": OneConv(16), "free": Free()}
    rows = cost_table(models, {"conv": 0.5, "free": 0.3}, size=16, latency_size=0)
    conv, big, free = rows
    assert [r["model"] for r in rows] == ["conv", "big", "free"]
    assert conv["f1_per_mparam"] == pytest.approx(0.5 / (conv["params"] / 1e6))
    assert conv["f1_per_gflop"] == pytest.approx(0.5 / conv["gflops"])
    assert big["f1"] is None and big["f1_per_gflop"] is None  # not trained
    assert free["f1"] == 0.3 and free["f1_per_mparam"] is None  # zero cost: no ratio
    table = markdown_cost_table(rows)
    assert NOT_TRAINED in table.splitlines()[3] and "50.0" in table.splitlines()[2]
    with pytest.raises(ValueError, match=r"f1\['conv'\] must be in \[0, 1\]"):
        cost_table({"conv": OneConv()}, {"conv": 50.0}, size=8, latency_size=0)


def test_a_model_that_refuses_the_latency_size_gets_no_latency() -> None:
    class Picky(OneConv):
        def forward(self, x1, x2):
            if x1.shape[-1] % 16:
                raise ValueError("x1 width must be a multiple of 16")
            return super().forward(x1, x2)

    cost = model_cost(Picky(), size=16, latency_size=8, repeats=1)
    assert cost["latency_ms"] is None and cost["gflops"] > 0


def test_latency_gflops_are_counted_at_the_latency_size() -> None:
    cost = model_cost(OneConv(), size=32, latency_size=8, repeats=1)
    assert cost["latency_gflops"] == pytest.approx(cost["gflops"] / 16)


def _cost_row(model: str, params: int, gflops: float, f1, latency_ms: float) -> dict:
    per_mparam = None if f1 is None else f1 / (params / 1e6)
    per_gflop = None if f1 is None else f1 / gflops
    return dict(model=model, params=params, gflops=gflops, latency_ms=latency_ms) | dict(
        latency_gflops=gflops,
        size=256,
        latency_size=256,
        f1=f1,
        f1_per_mparam=per_mparam,
        f1_per_gflop=per_gflop,
    )


def test_summary_states_what_the_numbers_show() -> None:
    rows = [
        _cost_row("light", 1_000_000, 2.0, 0.6, latency_ms=40.0),  # 20 ms per GFLOP
        _cost_row("heavy", 40_000_000, 80.0, 0.9, latency_ms=400.0),  # 5 ms per GFLOP
        _cost_row("huge", 50_000_000, 100.0, None, latency_ms=100.0),  # 1 ms per GFLOP
    ]
    text = summarise_costs(rows, focus="light")
    assert "highest change-F1: **heavy**, 90.0 %" in text
    assert "most F1 per GFLOP: **light** (0.300)" in text
    assert "light has 2.0% of the parameters and 2.0% of the FLOPs of huge" in text
    assert "from 1 ms (huge) to 20 ms (light), a factor of 20.0" in text
    assert "not trained in this budget): huge" in text
    with pytest.raises(ValueError, match="focus 'lsnet' is not a model"):
        summarise_costs(rows, focus="lsnet")
