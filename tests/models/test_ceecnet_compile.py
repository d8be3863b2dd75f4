"""torch.compile: the FracTAL blocks trace into one graph and match eager mode."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ceec_lab.models.ceecnet import CEECUnitV1, ceecnet_v1
from ceec_lab.models.nn import Fusion


def grads(model: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters()]


def run(model: nn.Module, *inputs: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    out = model(*inputs)
    out = out[0] if isinstance(out, tuple) else out
    out.square().mean().backward()
    return out.detach(), grads(model)


@pytest.mark.parametrize(
    ("build", "inputs"),
    [
        (lambda: Fusion(8, nheads=2), (torch.rand(2, 8, 8, 8), torch.rand(2, 8, 8, 8))),
        (lambda: CEECUnitV1(16, nheads=2, norm="group"), (torch.rand(2, 16, 8, 8),)),
    ],
    ids=["fusion", "ceec_unit_v1"],
)
def test_block_compiles_to_one_graph_and_matches_eager(build, inputs) -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = build()
    for p in model.parameters():
        if p.numel() == 1:
            nn.init.constant_(p, 0.5)
    expected, expected_grads = run(model, *inputs)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    out, out_grads = run(compiled, *inputs)
    torch.testing.assert_close(out, expected)
    for g, ref in zip(out_grads, expected_grads, strict=True):
        torch.testing.assert_close(g, ref)


@pytest.mark.slow
def test_tiny_model_compiles_with_inductor() -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = ceecnet_v1(preset="ceecnet-tiny", norm="group")
    x1, x2 = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    expected, _ = run(model, x1, x2)
    out, out_grads = run(torch.compile(model, fullgraph=True), x1, x2)
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=1e-4)
    assert all(torch.isfinite(g).all() for g in out_grads)
