"""benchmarks/realistic_pretraining.py with a network pre-trained on realistic pairs by
scripts/train_tiny_weights.py: both scripts' tiny runs, end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ceec_lab.data import write_change_folder


def test_a_realistic_start_is_pretrained_and_scored(
    tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = tmp_path / "pairs"
    write_change_folder(pairs, 4, size=64, seed=2, progress=False)
    weights = tmp_path / "realistic.pt"
    train = load_script("train_tiny_weights", "scripts")
    tiny = ["--epochs", "3", "--n-train", "2", "--n-val", "1", "--size", "32"]
    monkeypatch.setattr(sys, "argv", ["x", *tiny, "--style", "realistic", "--out", str(weights)])
    train.main()

    script = load_script("realistic_pretraining")
    monkeypatch.setattr(script, "RESULTS", tmp_path / "results")
    recipe = ["--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--crop", "64"]
    argv = ["x", "--start", str(weights), "--name", "realistic", "--root", str(pairs), *recipe]
    monkeypatch.setattr(sys, "argv", [*argv, "--folds", "2"])
    script.main()

    record = json.loads((tmp_path / "results" / "transfer_from_realistic.json").read_text())
    assert record["pre-training data"] == {"size": 32, "n_train": 2, "style": "realistic"}
    assert [row["model"] for row in record["rows"]] == ["zero-shot", "fine-tuned"]
    assert sorted(i for _, test in record["folds"] for i in test) == [0, 1, 2, 3]
    assert record["recipe"]["steps_per_epoch"] == 1 and 0 <= record["rows"][1]["f1"] <= 1
