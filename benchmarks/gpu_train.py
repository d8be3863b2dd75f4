"""Training throughput of the paper's CEECNet: precision, memory layout and torch.compile.

CEECNet V1 and V2 D6nf32 with GroupNorm on 256×256 pairs (the paper's change
detection model, Diakogiannis et al. 2021, Section 3), trained with the kit's
:class:`~ceec_lab.train.Trainer` and the multitask fractal Tanimoto loss of the
CEECNet configs, under four settings side by side:

* ``fp32`` - eager, full precision;
* ``bf16`` - bfloat16 autocast (the loss stays float32);
* ``bf16+cl`` - the same with channels-last tensors (NHWC, what tensor-core
  convolutions read without a transpose);
* ``bf16+cl+compile`` - the same through ``torch.compile``.

Each runs at batch 8 and at the largest batch that fits (``max``, searched on CUDA
by doubling then bisection; the compiled setting reuses the largest batch of
``bf16+cl``, as recompiling for every trial size takes minutes). Warm-up steps
(kernel selection, compilation) are not timed. Reported: image pairs per second,
the speed-up over ``fp32`` at the same batch, peak GPU memory, the model FLOPs of
one pair (forward + backward, counted by ``torch.utils.flop_counter``) and the
model-FLOP utilisation (MFU) against the device's dense bf16 peak.

    python benchmarks/gpu_train.py                                  # on a GPU
    python benchmarks/gpu_train.py --out benchmarks/results/gpu_train.json
    python benchmarks/gpu_train.py --device cpu --preset ceecnet-tiny --size 32 \\
        --batches 2 --warmup 1 --steps 2 --compile-backend aot_eager   # a CPU smoke run
"""

from __future__ import annotations

import argparse
import datetime
import gc
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ceec_lab  # first: sets the OpenMP wait policy before torch loads (ceec_lab.cpu)

# isort: split
import torch
from torch.utils.data import DataLoader, default_collate
from torch.utils.flop_counter import FlopCounterMode

from ceec_lab.cpu import configure_cpu_threads
from ceec_lab.data import SyntheticChangeDataset
from ceec_lab.files import save_json
from ceec_lab.losses import MultitaskLoss
from ceec_lab.models import create_model
from ceec_lab.settings import get_device
from ceec_lab.train import Trainer


@dataclass(frozen=True)
class Setting:
    """How a training step runs."""

    amp: bool | str  # False: float32; "bf16": bfloat16 autocast
    channels_last: bool  # NHWC model and inputs
    compile: bool  # torch.compile the model


SETTINGS: dict[str, Setting] = {
    "fp32": Setting(amp=False, channels_last=False, compile=False),
    "bf16": Setting(amp="bf16", channels_last=False, compile=False),
    "bf16+cl": Setting(amp="bf16", channels_last=True, compile=False),
    "bf16+cl+compile": Setting(amp="bf16", channels_last=True, compile=True),
}

#: Dense bf16 tensor-core peaks in TFLOP/s from NVIDIA's data sheets, by a fragment of
#: ``torch.cuda.get_device_name()``; the first match wins (so "H100 PCIe" before "H100").
BF16_PEAK_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),
    ("H200 NVL", 835.0),
    ("H200", 989.4),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ceecnet_v1,ceecnet_v2", help="comma-separated")
    parser.add_argument("--preset", default="ceecnet-d6nf32")
    parser.add_argument("--norm", default="group")
    parser.add_argument("--size", type=int, default=256, help="side of the square pairs")
    parser.add_argument("--batches", default="8,max", help="batch sizes; max = largest that fits")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per measurement")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--max-batch-limit", type=int, default=1024, help="search at most this")
    parser.add_argument("--compile-backend", default="inductor", help="e.g. aot_eager on a CPU")
    parser.add_argument("--peak-tflops", type=float, default=None, help="bf16 peak for MFU")
    parser.add_argument("--device", default=None, help="default: cuda, else mps, else cpu")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.models = args.models.split(",")
    args.settings = args.settings.split(",")
    unknown = [s for s in args.settings if s not in SETTINGS]
    if unknown:
        parser.error(f"--settings: unknown {unknown}; choose from {list(SETTINGS)}")
    try:
        args.batches = [b if b == "max" else int(b) for b in args.batches.split(",")]
    except ValueError:
        parser.error(f"--batches must be integers or 'max', got {args.batches!r}")
    for name in ("size", "steps", "max_batch_limit"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if any(b != "max" and b < 1 for b in args.batches) or args.warmup < 0:
        parser.error("--batches must be >= 1 and --warmup >= 0")
    return args


def device_peak_tflops(device: torch.device, override: float | None = None) -> float | None:
    """The dense bf16 peak of ``device`` in TFLOP/s (``override`` wins); ``None`` if unknown."""
    if override is not None:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for fragment, peak in BF16_PEAK_TFLOPS if fragment in name), None)


def make_batch(batch_size: int, size: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A multitask batch of synthetic pairs: up to 8 distinct ones, repeated to fill it."""
    pairs = SyntheticChangeDataset(min(batch_size, 8), size, seed=0, multitask=True)
    batch = default_collate([pairs[i] for i in range(len(pairs))])
    repeats = math.ceil(batch_size / len(pairs))
    return {k: v.repeat_interleave(repeats, 0)[:batch_size].to(device) for k, v in batch.items()}


def flops_per_pair(model_name: str, args: argparse.Namespace, device: torch.device) -> int:
    """Model FLOPs of one training pair: forward, loss and backward of a batch of 1.

    ``FlopCounterMode`` counts the matrix products and convolutions from their
    shapes (a multiply-add is 2 FLOPs), the usual basis of model-FLOP utilisation.
    """
    model = create_model(model_name, preset=args.preset, norm=args.norm).to(device)
    batch = make_batch(1, args.size, device)
    counter = FlopCounterMode(display=False)
    with counter:
        MultitaskLoss()(model(batch["image1"], batch["image2"]), batch).backward()
    return counter.get_total_flops()


class StepTimer:
    """A trainer callback: the seconds of each step after ``warmup`` and the peak memory."""

    def __init__(self, warmup: int, device: torch.device) -> None:
        self.warmup, self.device = warmup, device
        self.times: list[float] = []
        self._last = 0.0

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the GPU's work, not only its launch
        return time.perf_counter()

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._last = self._now()

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> None:
        now = self._now()
        if step > self.warmup:
            self.times.append(now - self._last)
        elif step == self.warmup and self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self._last = now


def train_steps(
    model_name: str,
    setting: Setting,
    batch_size: int,
    args: argparse.Namespace,
    device: torch.device,
    warmup: int,
    steps: int,
) -> dict[str, Any]:
    """Train ``warmup + steps`` steps on one fixed batch; time and memory of the last ``steps``."""
    torch.manual_seed(0)
    fmt = torch.channels_last if setting.channels_last else torch.contiguous_format
    model = create_model(model_name, preset=args.preset, norm=args.norm)
    model = model.to(device=device, memory_format=fmt)
    if setting.compile:
        torch._dynamo.reset()  # compile afresh for this batch size (static shapes)
        model = torch.compile(model, backend=args.compile_backend)
    timer = StepTimer(warmup, device)
    trainer = Trainer(
        model, MultitaskLoss(), device=device, amp=setting.amp, callbacks=[timer], progress=False
    )
    batch = make_batch(batch_size, args.size, device)
    for key in ("image1", "image2"):
        batch[key] = batch[key].contiguous(memory_format=fmt)  # (B, 3, H, W)
    # batch_size=None: the loader hands over the prepared batch as it is, every step.
    trainer.fit(DataLoader([batch] * (warmup + steps), batch_size=None), num_epochs=1)
    seconds = sum(timer.times)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return dict(pairs_per_s=batch_size * steps / seconds, step_s=seconds / steps, peak_bytes=peak)


def release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def fits(try_batch: Callable[[int], object], batch_size: int, device: torch.device) -> bool:
    """Whether ``try_batch(batch_size)`` runs without running out of memory."""
    try:
        try_batch(batch_size)
        return True
    except torch.OutOfMemoryError:
        return False
    finally:
        release_memory(device)


def largest_batch(fits_batch: Callable[[int], bool], start: int = 8, limit: int = 1024) -> int:
    """The largest batch size ``<= limit`` for which ``fits_batch`` holds (0 if not even 1).

    Doubles from ``start`` until a size fails, then bisects between the last size
    that fit and the first that did not. Assumes that what fits at ``n`` fits below.
    """
    start = min(start, limit)
    if not fits_batch(start):
        low, high = 0, start  # fits at low (or nothing), fails at high
    else:
        low = start
        while low < limit and fits_batch(min(2 * low, limit)):
            low = min(2 * low, limit)
        if low == limit:
            return limit
        high = min(2 * low, limit)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits_batch(middle) else (low, middle)
    return low


def max_batch(model_name: str, name: str, args: argparse.Namespace, device: torch.device) -> int:
    """The largest batch of setting ``name`` on ``device`` (compiled: that of ``bf16+cl``)."""
    search = SETTINGS["bf16+cl"] if name == "bf16+cl+compile" else SETTINGS[name]

    def try_batch(batch_size: int) -> object:
        return train_steps(model_name, search, batch_size, args, device, warmup=1, steps=1)

    return largest_batch(lambda b: fits(try_batch, b, device), limit=args.max_batch_limit)


def measure(args: argparse.Namespace, device: torch.device, peak: float | None) -> list[dict]:
    """Every model × batch × setting; one row each."""
    rows = []
    for model_name in args.models:
        flops = flops_per_pair(model_name, args, device)
        maxima: dict[str, int] = {}
        for batch in args.batches:
            if batch == "max" and device.type != "cuda":
                print(f"batch 'max' is searched on CUDA only; skipped on {device.type}")
                continue
            for name in args.settings:
                if batch == "max" and name not in maxima:
                    key = "bf16+cl" if name == "bf16+cl+compile" else name
                    maxima[name] = maxima.get(key) or max_batch(model_name, name, args, device)
                size = maxima[name] if batch == "max" else batch
                row = dict(model=model_name, setting=name, batch=size, batch_kind=str(batch))
                row["flops_per_pair"] = flops
                row.update(run_setting(model_name, name, size, args, device))
                if row.get("pairs_per_s") and peak:
                    row["mfu"] = row["pairs_per_s"] * flops / (peak * 1e12)
                rows.append(row)
                print(format_row(row, rows), flush=True)
    return rows


def run_setting(
    model_name: str, name: str, batch_size: int, args: argparse.Namespace, device: torch.device
) -> dict[str, Any]:
    """One measurement, or ``{"error": ...}`` when it runs out of memory."""
    if batch_size < 1:
        return {"error": "no batch fits"}
    try:
        steps, warmup = args.steps, args.warmup
        return train_steps(model_name, SETTINGS[name], batch_size, args, device, warmup, steps)
    except torch.OutOfMemoryError:
        return {"error": "out of memory"}
    finally:
        release_memory(device)


HEADER = (
    "| model | batch | setting | pairs/s | × fp32 | step ms | peak memory | GFLOP/pair | MFU |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def format_row(row: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    """One Markdown table row; the speed-up is against ``fp32`` of the same model and batch
    (at ``max``: against ``fp32`` at its own largest batch)."""
    if "error" in row:
        return f"| {row['model']} | {row['batch']} | {row['setting']} | {row['error']} |"
    base = next(
        (
            r["pairs_per_s"]
            for r in rows
            if r["setting"] == "fp32" and "error" not in r
            if (r["model"], r["batch_kind"]) == (row["model"], row["batch_kind"])
        ),
        None,
    )
    speedup = f"{row['pairs_per_s'] / base:.2f}" if base else "—"
    peak = f"{row['peak_bytes'] / 2**30:.2f} GiB" if row["peak_bytes"] is not None else "—"
    mfu = f"{100 * row['mfu']:.1f} %" if row.get("mfu") is not None else "—"
    return (
        f"| {row['model']} | {row['batch']} | {row['setting']} | {row['pairs_per_s']:.2f} | "
        f"{speedup} | {1e3 * row['step_s']:.0f} | {peak} | {row['flops_per_pair'] / 1e9:.1f} | "
        f"{mfu} |"
    )


def environment(device: torch.device, peak: float | None) -> dict[str, Any]:
    """Device, versions and date, for the results file."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    return dict(
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        device=f"{device.type}: {name or platform.machine()}",
        torch=torch.__version__,
        cuda=torch.version.cuda,
        python=platform.python_version(),
        ceec_lab=ceec_lab.__version__,
        cpu_threads=torch.get_num_threads(),
        bf16_peak_tflops=peak,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    configure_cpu_threads()
    device = get_device(args.device)
    peak = device_peak_tflops(device, args.peak_tflops)
    info = environment(device, peak)
    print(", ".join(f"{k}={v}" for k, v in info.items()))
    print(HEADER, flush=True)
    rows = measure(args, device, peak)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    definitions = {k: asdict(v) for k, v in SETTINGS.items()}
    results = dict(environment=info, settings=settings, definitions=definitions, rows=rows)
    if args.out is not None:
        save_json(results, args.out)
        print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
