"""The ``ceec-lab`` command line: info and data synth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ceec_lab.cli import main
from ceec_lab.data import ChangeFolderDataset, SyntheticChangeDataset


def test_info_reports_versions_device_and_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "segmentation-models-pytorch" in out
    assert "device: cpu" in out or "device: cuda" in out or "device: mps" in out
    assert "LEVIR-CD samples:" in out and "user data folders:" in out


def test_info_names_the_samples_folder_when_present(levircd_samples: Path, capsys) -> None:
    main(["info"])
    assert str(levircd_samples) in capsys.readouterr().out


def test_info_finds_user_data(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "WHU" / "test" / "A").mkdir(parents=True)
    (tmp_path / "WHU" / "test" / "B").mkdir(parents=True)
    monkeypatch.setenv("CEEC_LAB_DATA", str(tmp_path))
    main(["info"])
    assert str(tmp_path / "WHU") in capsys.readouterr().out


def test_data_synth_writes_a_levircd_folder(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    assert (
        main(
            [
                "data",
                "synth",
                "--out",
                str(out),
                "--n",
                "3",
                "--size",
                "32",
                "--seed",
                "1",
                "--difficulty",
                "0.7",
            ]
        )
        == 0
    )
    assert len(ChangeFolderDataset(out)) == 3


def test_bad_synth_arguments(tmp_path: Path, capsys) -> None:
    assert main(["data", "synth", "--out", str(tmp_path), "--n", "1", "--difficulty", "2"]) == 2
    assert "--difficulty must be in [0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "synth", "--out", str(tmp_path), "--n", "0"])


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "ceec-lab"
    result = subprocess.run([str(script), "info"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ceec-lab" in result.stdout


def test_data_synth_writes_the_style_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "realistic"
    args = ["data", "synth", "--out", str(out), "--n", "2", "--size", "32", "--style", "realistic"]
    assert main(args) == 0
    written = ChangeFolderDataset(out).load(1)
    drawn = SyntheticChangeDataset(2, 32, seed=0, style="realistic").load(1)
    np.testing.assert_array_equal(written["mask"], drawn["mask"])
    np.testing.assert_allclose(written["image2"], drawn["image2"], atol=1 / 255)
