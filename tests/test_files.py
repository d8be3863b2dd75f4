"""Outputs that are never half-written: atomic folders and the output-folder check."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceec_lab.files import atomic_folder, check_output_folder, load_torch


def test_atomic_folder_creates_the_folder_only_at_the_end(tmp_path: Path) -> None:
    out = tmp_path / "pred"
    with atomic_folder(out) as tmp:
        (tmp / "masks").mkdir()
        (tmp / "masks" / "a.png").write_bytes(b"a")
        assert not out.exists()
    assert sorted(p.name for p in out.rglob("*")) == ["a.png", "masks"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred"]  # no temporary folder left


def test_atomic_folder_replaces_its_folders_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "pred"
    (out / "masks").mkdir(parents=True)
    (out / "masks" / "stale.png").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    with atomic_folder(out) as tmp:
        (tmp / "masks").mkdir()
        (tmp / "masks" / "new.png").write_bytes(b"new")
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["new.png"]
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred"]


def test_atomic_folder_leaves_nothing_when_the_block_fails(tmp_path: Path) -> None:
    out = tmp_path / "pred"
    with pytest.raises(RuntimeError, match="half-way"), atomic_folder(out) as tmp:
        (tmp / "a.png").write_bytes(b"a")
        raise RuntimeError("half-way")
    assert list(tmp_path.iterdir()) == []


def test_check_output_folder(tmp_path: Path) -> None:
    assert check_output_folder(tmp_path / "new", False, "--out") == tmp_path / "new"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.png").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"--out .*full: already holds files \(x\.png\)"):
        check_output_folder(tmp_path / "full", False, "--out")
    assert check_output_folder(tmp_path / "full", True, "--out") == tmp_path / "full"
    with pytest.raises(ValueError, match=r"x\.png: is a file; expected a folder"):
        check_output_folder(tmp_path / "full" / "x.png", True, "--out")


def test_load_torch_names_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"model\.pt: not a readable checkpoint"):
        load_torch(path)
