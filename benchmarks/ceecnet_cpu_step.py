"""Time CPU training steps of CEECNet, on a quiet CPU and with one core busy.

The target (issue 8, item 10): CEECNet V1 D6nf32, GroupNorm, batch 1, 256×256 on a
2-core CPU; a step while another program holds one core should take at most twice
the quiet step. Run from the project root::

    python benchmarks/ceecnet_cpu_step.py              # the kit's thread policy
    python benchmarks/ceecnet_cpu_step.py --compare    # thread/wait options side by side
    python benchmarks/ceecnet_cpu_step.py --threads 1 --wait-policy spin --steps 5

A run times ``--warmup`` steps (not counted: they pay for oneDNN kernel creation and
memory allocation), then ``--steps`` quiet steps, then ``--steps`` steps while a
busy-loop process holds one core (:func:`ceec_lab.cpu.busy_core`, started and
killed by this script), and prints min/median/max of each and the loaded/quiet
ratio of the medians. "Quiet" only means that this script adds no load: on a
shared machine, note ``uptime`` with the numbers.

``--compare`` runs every option in its own Python process, because OpenMP reads
its wait policy only once, when torch loads: ``spin`` (libgomp's default, what you
get when torch is imported before ceec_lab) or ``passive`` (what ``import
ceec_lab`` asks for), with all usable cores or with one core fewer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WAIT_POLICIES = ("passive", "spin")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="ceecnet_v1", help="ceecnet_v1 | ceecnet_v2 | ...")
    parser.add_argument("--preset", default="ceecnet-d6nf32")
    parser.add_argument("--norm", default="group")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3, help="timed steps, quiet and loaded each")
    parser.add_argument("--threads", type=int, default=None, help="default: the kit's policy")
    parser.add_argument("--wait-policy", choices=WAIT_POLICIES, default="passive")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compare", action="store_true", help="all options, one process each")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    for name in ("batch", "size", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    return args


def load_torch(wait_policy: str) -> None:
    """Load torch (and with it OpenMP) under ``wait_policy``; OpenMP reads it only now."""
    if wait_policy == "spin":
        os.environ.pop("OMP_WAIT_POLICY", None)
        import torch  # noqa: F401  (before ceec_lab, which would ask for PASSIVE)
    else:
        os.environ["OMP_WAIT_POLICY"] = wait_policy.upper()
    import ceec_lab  # noqa: F401


def time_steps(step: Callable[[], float], n: int, label: str) -> list[float]:
    """Run ``step`` ``n`` times; the seconds each took."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
        print(f"  {label} {i}: {times[-1]:.2f} s (loss {loss:.4f})", flush=True)
    return times


def make_step(args: argparse.Namespace) -> Callable[[], float]:
    """One training step (forward, multitask loss, backward, Adam) on a fixed batch."""
    import torch
    from torch.utils.data import default_collate

    from ceec_lab.data import SyntheticChangeDataset
    from ceec_lab.losses import MultitaskLoss
    from ceec_lab.models import create_model

    torch.manual_seed(0)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = create_model(args.model, preset=args.preset, norm=args.norm)
    model = model.to(memory_format=fmt).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = MultitaskLoss(depth=0)  # the CEECNet configs' loss
    pairs = SyntheticChangeDataset(args.batch, args.size, seed=0, multitask=True)
    batch = default_collate([pairs[i] for i in range(args.batch)])
    x1, x2 = (batch[k].to(memory_format=fmt) for k in ("image1", "image2"))  # (B, 3, H, W)

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x1, x2), batch)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def spread(times: list[float]) -> dict[str, float]:
    return {"min": min(times), "median": statistics.median(times), "max": max(times)}


def run_one(args: argparse.Namespace) -> dict:
    """Quiet then loaded steps under one thread/wait option."""
    load_torch(args.wait_policy)
    from ceec_lab.cpu import busy_core, configure_cpu_threads

    settings = configure_cpu_threads(args.threads)
    print(
        f"{args.model} {args.preset} norm={args.norm} batch={args.batch} {args.size}² — {settings}"
    )
    step = make_step(args)
    time_steps(step, args.warmup, "warm-up")
    load_before = os.getloadavg()[0]
    quiet = time_steps(step, args.steps, "quiet")
    with busy_core():
        loaded = time_steps(step, args.steps, "loaded")
    result = {
        "threads": settings.threads,
        "wait_policy": settings.wait_policy,
        "quiet": spread(quiet),
        "loaded": spread(loaded),
        "ratio": statistics.median(loaded) / statistics.median(quiet),
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "times": {"quiet": quiet, "loaded": loaded},
    }
    print(format_table([result]))
    return result


def compare(args: argparse.Namespace) -> list[dict]:
    """Every option in a fresh process (the wait policy is fixed once torch is loaded)."""
    from ceec_lab.cpu import usable_cores

    cores = usable_cores()
    options = [(cores, "passive"), (max(cores - 1, 1), "passive"), (cores, "spin")]
    same = [f"--{k}={getattr(args, k)}" for k in ("model", "preset", "norm", "batch", "size")]
    same += [f"--warmup={args.warmup}", f"--steps={args.steps}"]
    same += ["--channels-last"] if args.channels_last else []
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for threads, policy in options:
            out = Path(tmp) / f"{threads}-{policy}.json"
            option = [f"--threads={threads}", f"--wait-policy={policy}", f"--json={out}"]
            print(f"--- threads={threads} wait={policy}", flush=True)
            subprocess.run([sys.executable, __file__, *same, *option], check=True)
            results.append(json.loads(out.read_text()))
    print(format_table(results))
    return results


def format_table(results: list[dict]) -> str:
    """A Markdown table: seconds per step (min / median / max), quiet and loaded."""
    lines = [
        "| threads | wait | quiet s (min/med/max) | loaded s (min/med/max) | loaded/quiet "
        "| load 1 min |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        quiet, loaded = (
            "/".join(f"{r[k][s]:.1f}" for s in ("min", "median", "max"))
            for k in ("quiet", "loaded")
        )
        load = "→".join(f"{x:.1f}" for x in r["load_1min"])
        ratio = f"{r['ratio']:.2f}×"
        lines.append(
            f"| {r['threads']} | {r['wait_policy']} | {quiet} | {loaded} | {ratio} | {load} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    results = compare(args) if args.compare else [run_one(args)]
    if args.json is not None:
        from ceec_lab.files import save_json

        save_json(results if args.compare else results[0], args.json)
    return results


if __name__ == "__main__":
    main()
