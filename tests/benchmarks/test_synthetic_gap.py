"""benchmarks/synthetic_gap.py: one row per source, every statistic a column."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ceec_lab.data import make_change_pair, scene_statistics, write_change_folder


def test_the_table_has_the_real_pairs_and_each_style_and_size(
    tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_change_folder(tmp_path, 2, size=32, seed=1, progress=False)
    script = load_script("synthetic_gap")
    argv = ["x", "--root", str(tmp_path), "--n", "2", "--sizes", "32", "48"]
    monkeypatch.setattr(sys, "argv", argv)
    script.main()
    lines = capsys.readouterr().out.strip().splitlines()
    header, rows = lines[0], lines[2:]
    statistics = scene_statistics([make_change_pair(0, 32)])
    assert [column.strip() for column in header.split("|")[1:-1]] == ["data", *statistics]
    names = [row.split("|")[1].strip() for row in rows]
    assert names == [
        f"LEVIR-CD samples ({tmp_path.name})",
        "synthetic 32², classic",
        "synthetic 32², realistic",
        "synthetic 48², classic",
        "synthetic 48², realistic",
    ]
