"""How far are the synthetic styles from real LEVIR-CD pairs? Prints the domain-gap table.

    python benchmarks/synthetic_gap.py [--root DIR] [--n 32] [--sizes 64 256] [--seed 0]

:func:`ceec_lab.data.scene_statistics` of the LEVIR-CD sample pairs, then of ``--n``
synthetic pairs of each style and size (difficulty drawn over [0, 1], as notebook 07
draws them), as a Markdown table for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ceec_lab  # noqa: F401  first: it makes idle CPU threads sleep before torch loads
from ceec_lab.data import ChangeFolderDataset, SyntheticChangeDataset, scene_statistics
from ceec_lab.data.synthetic import STYLES
from ceec_lab.experiments import markdown_table
from ceec_lab.transfer import samples_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="LEVIR-CD style folder")
    parser.add_argument("--n", type=int, default=32, help="synthetic pairs per style and size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    root = samples_root(parser, args.root)
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
    statistics = [key for key in rows[0] if key != "data"]  # scene_statistics' own keys
    print(markdown_table(rows, statistics, label="data", percent=False))


if __name__ == "__main__":
    main()
