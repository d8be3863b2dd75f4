"""How fast is prediction? Images per second before and after issue 10, in one run.

Before: every image went through 256×256 windows at the paper's stride 64,
even a 128×128 image (reflect-padded to 320×320: 4 windows of 4× its area).
After (``ceec-lab predict`` defaults): an image that fits in one window is one
forward pass, padded only to the model's ``input_multiple``; larger images use
256×256 windows at stride 128. Both run the shipped tiny CEECNet
(``load_pretrained()``) on random image pairs, on the CPU, one thread unless
``OMP_NUM_THREADS`` says otherwise.

    python benchmarks/predict_speed.py [--sizes 128 256 1024] [--images 2] [--paper-stride]

``--paper-stride`` adds the new code at stride 64 (what ``--stride 64`` and
the paper config run). Expect minutes: the "before" 1024×1024 row alone is
256 window passes. Both wall-clock and CPU seconds are printed: on a shared,
busy machine the CPU time of this single-threaded process is the steadier
measure of the work done, the wall time what a user waits.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch
from torch import Tensor, nn

from ceec_lab.data import SlidingWindow
from ceec_lab.models.pretrained import load_pretrained
from ceec_lab.train.inference import PAPER_STRIDE, output_to_probs, sliding_window_probs

Predict = Callable[[nn.Module, Tensor, Tensor], Tensor]


def before(model: nn.Module, x1: Tensor, x2: Tensor) -> Tensor:
    """The old ``ceec-lab predict``: 256 windows, stride 64, one window per forward pass."""
    slider = SlidingWindow(size=256, stride=PAPER_STRIDE, batch_size=1)
    return slider(lambda a, b: output_to_probs(model(a, b), model.output), x1, x2)


BEFORE = "before: 256² windows, stride 64, batch 1"
SETTINGS: dict[str, Predict] = {
    "after: stride 128, batch 8 (GPU default)": lambda m, a, b: sliding_window_probs(
        m, a, b, batch_size=8
    ),
    BEFORE: before,
    "after: stride 128, batch 1 (CPU default)": lambda m, a, b: sliding_window_probs(
        m, a, b, batch_size=1
    ),
}
PAPER_SETTING = (
    "after: --stride 64, batch 1 (CPU default)",
    lambda m, a, b: sliding_window_probs(m, a, b, stride=PAPER_STRIDE, batch_size=1),
)


class CountingModel(nn.Module):
    """Wraps a model to count forward passes and the pixels they saw."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.task, self.output = model, model.task, model.output
        self.input_multiple = model.input_multiple
        self.calls = self.pixels = 0

    def forward(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, ...]:
        self.calls += 1
        self.pixels += x1.shape[0] * x1.shape[-2] * x1.shape[-1]
        return self.model(x1, x2)


def time_setting(model: nn.Module, predict: Predict, size: int, images: int) -> dict[str, float]:
    """Wall and CPU seconds, forward passes and processed area, per image, for one setting."""
    counting = CountingModel(model)
    generator = torch.Generator().manual_seed(size)
    shape = (1, 3, size, size)
    pairs = [
        (torch.rand(shape, generator=generator), torch.rand(shape, generator=generator))
        for _ in range(images)
    ]
    start, start_cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for x1, x2 in pairs:
            predict(counting, x1, x2)
    return {
        "seconds": (time.perf_counter() - start) / images,
        "cpu": (time.process_time() - start_cpu) / images,
        "calls": counting.calls / images,
        "area": counting.pixels / images / size**2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 1024])
    parser.add_argument("--images", type=int, default=2, help="pairs per size (1 at ≥ 1024)")
    parser.add_argument("--paper-stride", action="store_true", help="also time --stride 64")
    args = parser.parse_args()
    settings = dict(SETTINGS)
    if args.paper_stride:
        settings[PAPER_SETTING[0]] = PAPER_SETTING[1]
    model = load_pretrained()
    with torch.no_grad():  # warm-up: first-call allocations are not part of any row
        model(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    print(f"shipped tiny CEECNet, CPU, {torch.get_num_threads()} thread(s)")
    header = f"{'passes':>6} {'area':>5} {'s/image':>8} {'images/s':>8} {'CPU s/image':>11}"
    print(f"{'size':>9}  {'setting':<42} {header}")
    for size in args.sizes:
        images = 1 if size >= 1024 else args.images
        rows = {}
        for name, predict in settings.items():
            rows[name] = row = time_setting(model, predict, size, images)
            print(
                f"{size:>4}×{size:<4}  {name:<42} {row['calls']:>6.0f} {row['area']:>4.1f}× "
                f"{row['seconds']:>8.2f} {1 / row['seconds']:>8.3f} {row['cpu']:>11.2f}",
                flush=True,
            )
        for name, row in rows.items():
            if name != BEFORE:
                wall, cpu = (rows[BEFORE][k] / row[k] for k in ("seconds", "cpu"))
                print(
                    f"{'':>11}{name}: {wall:.1f}× the images/s of before ({cpu:.1f}× in CPU time)"
                )


if __name__ == "__main__":
    main()
