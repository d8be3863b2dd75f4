"""How far are the synthetic styles from real LEVIR-CD pairs? Prints the domain-gap table.

    python benchmarks/synthetic_gap.py [--root DIR] [--n 32] [--sizes 64 256] [--seed 0]

:func:`ceec_lab.data.scene_statistics` of the LEVIR-CD sample pairs, then of ``--n``
synthetic pairs of each style and size (difficulty drawn over [0, 1], as notebook 07
draws them), as a Markdown table for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ceec_lab as cl  # first: it makes idle CPU threads sleep before torch loads
from ceec_lab.data import ChangeFolderDataset, SyntheticChangeDataset, scene_statistics
from ceec_lab.data.synthetic import STYLES
from ceec_lab.experiments import markdown_table

KEYS = [
    "mean R",
    "mean G",
    "mean B",
    "std R",
    "std G",
    "std B",
    "edge density",
    "shadow share",
    "change objects",
    "median object area (px)",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="LEVIR-CD style folder")
    parser.add_argument("--n", type=int, default=32, help="synthetic pairs per style and size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    root = args.root or cl.find_levircd_samples()
    if root is None:
        parser.error("no LEVIR-CD samples found: pass --root DIR (with A/, B/ and label/)")
    sources = {f"LEVIR-CD samples ({Path(root).name})": ChangeFolderDataset(root)}
    for size in args.sizes:
        for style in STYLES:
            sources[f"synthetic {size}², {style}"] = SyntheticChangeDataset(
                args.n, size, args.seed, difficulty=(0.0, 1.0), style=style
            )
    rows = [
        {"data": name, **scene_statistics(d.load(i) for i in range(len(d)))}
        for name, d in sources.items()
    ]
    print(markdown_table(rows, KEYS, label="data", percent=False))


if __name__ == "__main__":
    main()
