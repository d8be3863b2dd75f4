"""Write change samples to disk as a LEVIR-CD style folder (``A/``, ``B/``, ``label/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ceec_lab.data.io import to_uint8, write_png
from ceec_lab.data.synthetic import make_change_pair, sample_seed


def write_change_folder(
    out: str | Path,
    n: int,
    size: int = 256,
    seed: int = 0,
    difficulty: float = 0.5,
    progress: bool = True,
) -> Path:
    """Generate ``n`` synthetic pairs into ``out/{A,B,label}/NNNNN.png`` (labels 0/255).

    The files are the same pairs as ``SyntheticChangeDataset(n, size, seed, difficulty)``
    yields, so a folder dataset over ``out`` reads back the same data (to 8-bit precision).
    Each PNG is written atomically.
    """
    out = Path(out)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    width = max(5, len(str(n - 1)))
    for index in tqdm(range(n), desc=f"writing {out}", disable=not progress, unit="pair"):
        pair = make_change_pair(sample_seed(seed, index), size, difficulty)
        name = f"{index:0{width}d}.png"
        write_png(out / "A" / name, to_uint8(pair["image1"]))
        write_png(out / "B" / name, to_uint8(pair["image2"]))
        write_png(out / "label" / name, (pair["mask"] * np.uint8(255)).astype(np.uint8))
    return out
