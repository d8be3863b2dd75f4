"""Write change samples to disk as a LEVIR-CD style folder (``A/``, ``B/``, ``label/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ceec_lab.data.io import to_uint8, write_png
from ceec_lab.data.synthetic import make_change_pair, sample_seed
from ceec_lab.files import atomic_folder, check_output_folder


def write_change_folder(
    out: str | Path,
    n: int,
    size: int = 256,
    seed: int = 0,
    difficulty: float = 0.5,
    style: str = "classic",
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Generate ``n`` synthetic pairs into ``out/{A,B,label}/NNNNN.png`` (labels 0/255).

    The files are the same pairs as ``SyntheticChangeDataset(n, size, seed, difficulty,
    style=style)`` yields, so a folder dataset over ``out`` reads back the same data (to
    8-bit precision).
    The pairs are written into a temporary folder and moved into ``out`` at the
    end: an interrupted run leaves nothing, and two seeds never mix.

    Args:
        overwrite: replace the ``A``/``B``/``label`` folders of an ``out`` that
            already holds files; without it such an ``out`` is an error.
    """
    out = check_output_folder(out, overwrite, "out")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    make_change_pair(sample_seed(seed, 0), size, difficulty, style=style)  # fail before any file
    width = max(5, len(str(n - 1)))
    with atomic_folder(out) as tmp:
        for index in tqdm(range(n), desc=f"writing {out}", disable=not progress, unit="pair"):
            pair = make_change_pair(sample_seed(seed, index), size, difficulty, style=style)
            name = f"{index:0{width}d}.png"
            write_png(tmp / "A" / name, to_uint8(pair["image1"]))
            write_png(tmp / "B" / name, to_uint8(pair["image2"]))
            write_png(tmp / "label" / name, (pair["mask"] * np.uint8(255)).astype(np.uint8))
    return out
