"""Time one CPU training step of CEECNet: forward + backward + Adam.

The issue's target: CEECNet V1 D6nf32, GroupNorm, batch 1, 256×256 on a 2-core
CPU. The MXNet reference takes about 27 s per step there; the port should take
at most half of that. Run from the project root::

    python benchmarks/ceecnet_cpu_step.py            # the target configuration
    python benchmarks/ceecnet_cpu_step.py --model fractal_resnet --steps 5

It prints the time of every step and the mean of the steps after the warm-up
(the first step also pays for oneDNN kernel creation and memory allocation).
On a shared machine, steps that run while other processes hold a core take
several times longer with two threads; ``--threads 1`` is slower but steadier.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ceec_lab.losses.functional import fractal_tanimoto_complement
from ceec_lab.models import create_model


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="ceecnet_v1", help="ceecnet_v1 | ceecnet_v2 | ...")
    parser.add_argument("--preset", default="ceecnet-d6nf32")
    parser.add_argument("--norm", default="group")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: torch's choice")
    parser.add_argument("--channels-last", action="store_true")
    return parser.parse_args()


def multitask_loss(outputs: tuple[torch.Tensor, ...], target: torch.Tensor) -> torch.Tensor:
    """Mean over the three outputs of ``1 − FTC_0`` (the reference's loss at depth 0)."""
    return torch.stack([1 - fractal_tanimoto_complement(o, target).mean() for o in outputs]).mean()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model(args.model, preset=args.preset, norm=args.norm)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    shape = (args.batch, 3, args.size, args.size)
    x1, x2 = (torch.rand(shape).to(memory_format=fmt) for _ in range(2))
    mask = (torch.rand(args.batch, 1, args.size, args.size) > 0.5).float()
    target = torch.cat([1 - mask, mask], dim=1)  # (B, 2, H, W) one-hot

    times = []
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = multitask_loss(model(x1, x2), target)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        label = "warm-up" if step < args.warmup else "step"
        print(f"{label} {step}: {times[-1]:.2f} s (loss {loss.item():.4f})", flush=True)

    measured = times[args.warmup :]
    print(
        f"{args.model} {args.preset} norm={args.norm} batch={args.batch} {args.size}x{args.size} "
        f"threads={torch.get_num_threads()} channels_last={args.channels_last}: "
        f"mean {statistics.mean(measured):.2f} s per training step over {len(measured)} steps "
        f"(median {statistics.median(measured):.2f} s, fastest {min(measured):.2f} s)"
    )


if __name__ == "__main__":
    main()
