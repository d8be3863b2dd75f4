"""How fast are the synthetic scenes? Prints seconds for N change pairs of each style on one core.

Target (issue 2): 1,000 pairs of 256×256 in under 30 s on one core.

    python benchmarks/synth_speed.py [--n 1000] [--size 256] [--repeats 3] [--write]

Each style is timed ``--repeats`` times, the styles taking turns, and the median and
the spread are printed: the machine is shared, and a single run can be off by a third.

``--write`` also encodes them as PNGs into a temporary LEVIR-CD folder
(``ceec-lab data synth``), which PNG compression makes slower.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2

from ceec_lab.data import make_change_pair, make_segmentation_scene, write_change_folder
from ceec_lab.data.synthetic import STYLES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="also time writing PNG folders")
    args = parser.parse_args()
    cv2.setNumThreads(1)

    runs: dict[str, list[float]] = {style: [] for style in STYLES}
    for _ in range(args.repeats):  # the styles side by side and interleaved, in one run
        for style in STYLES:
            start = time.perf_counter()
            for seed in range(args.n):
                make_change_pair(seed, args.size, difficulty=0.5, style=style)
            runs[style].append(time.perf_counter() - start)
    for style, times in runs.items():
        low, median, high = min(times), statistics.median(times), max(times)
        print(
            f"{args.n} {style} change pairs of {args.size}×{args.size}: {median:.1f} s median "
            f"(min {low:.1f}, max {high:.1f} over {args.repeats} runs; "
            f"{1e3 * median / args.n:.1f} ms/pair)"
        )
    seconds = {style: statistics.median(times) for style, times in runs.items()}

    start = time.perf_counter()
    for seed in range(args.n):
        make_segmentation_scene(seed, args.size)
    scenes = time.perf_counter() - start
    print(f"{args.n} segmentation scenes of {args.size}×{args.size}: {scenes:.1f} s")

    if args.write:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            write_change_folder(out, args.n, args.size, progress=False)
            print(f"{args.n} pairs written as PNG: {time.perf_counter() - start:.1f} s")
    for style, pairs in seconds.items():
        met = "met" if pairs * 1000 / args.n < 30 else "NOT met"  # the median run
        print(f"target: < 30 s for 1000 {style} pairs -> {met}")


if __name__ == "__main__":
    main()
