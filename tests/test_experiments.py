"""The experiment helpers used by notebooks and benchmarks."""

from __future__ import annotations

import pytest

from ceec_lab.data import SyntheticChangeDataset
from ceec_lab.experiments import mean_over_difficulties, results_table, train_model
from ceec_lab.losses import create_loss
from ceec_lab.models import create_model


def test_train_model_records_history_metrics_and_time() -> None:
    train_set, val_set = (
        SyntheticChangeDataset(8, 32, seed=0),
        SyntheticChangeDataset(4, 32, seed=1),
    )
    result = train_model(
        "fc_ef",
        create_model("fc_ef"),
        create_loss("ce"),
        train_set,
        val_set,
        num_epochs=2,
        batch_size=4,
        progress=False,
        device="cpu",
    )
    assert len(result.history.epochs) == 2 and result.seconds > 0
    assert 0.0 <= result.metrics["f1"] <= 1.0 and "loss" in result.metrics
    table = results_table([result], ["f1", "iou", "missing"])
    assert table.splitlines()[0] == "| model | f1 | iou | missing | time (s) |"
    assert f"{100 * result.metrics['f1']:.1f}" in table and "–" in table


def test_evaluate_across_difficulties_shows_differencing_failing() -> None:
    from ceec_lab.experiments import ChangeBenchmark, evaluate_across_difficulties
    from ceec_lab.train import Trainer

    benchmark = ChangeBenchmark(size=32, n_train=1, n_val=8)
    trainer = Trainer(
        create_model("differencing_otsu"),
        create_loss("tanimoto_complement"),
        device="cpu",
        progress=False,
    )
    rows = evaluate_across_difficulties(trainer, "otsu", [0.0, 1.0], benchmark)
    assert [r["difficulty"] for r in rows] == [0.0, 1.0] and rows[0]["model"] == "otsu"
    assert rows[0]["f1"] > rows[1]["f1"] + 0.2


def test_markdown_table_in_percent_or_fractions() -> None:
    from ceec_lab.experiments import markdown_table

    rows = [{"loss": "CE", "miou": 0.5, "f1": 0.25}, {"loss": "fractal", "miou": 0.625}]
    header, rule, first, second = markdown_table(rows, ["miou", "f1"], "loss", False).splitlines()
    assert header == "| loss | miou | f1 |" and rule == "|---|---:|---:|"
    assert first == "| CE | 0.5000 | 0.2500 |" and second == "| fractal | 0.6250 | – |"
    assert markdown_table(rows[:1], ["miou"], "loss").splitlines()[2] == "| CE | 50.0 |"


def test_seed_summary_and_separated_pairs() -> None:
    from ceec_lab.experiments import markdown_table, seed_summary, separated_pairs

    runs = {
        "A": [{"miou": 0.80}, {"miou": 0.82}, {"miou": 0.84}],  # mean 0.82, std 0.02
        "B": [{"miou": 0.70}, {"miou": 0.72}, {"miou": 0.74}],  # mean 0.72, std 0.02
        "C": [{"miou": 0.79}, {"miou": 0.81}, {"miou": 0.83}],  # mean 0.81, std 0.02
    }
    rows = seed_summary(runs, ["miou"])
    assert rows[0]["seeds"] == 3
    assert rows[0]["miou"] == pytest.approx(0.82) and rows[0]["miou_std"] == pytest.approx(0.02)
    pairs = separated_pairs(rows, "miou")
    # A-B (0.10) and C-B (0.09) exceed 0.04; A-C (0.01) does not.
    assert [(a, b) for a, b, _ in pairs] == [("A", "B"), ("C", "B")]
    assert pairs[0][2] == pytest.approx(0.10)
    line = markdown_table(rows, ["miou"], label="run").splitlines()[2]
    assert line == "| A | 82.0 ± 2.0 |"
    assert seed_summary({"one": [{"miou": 0.5}]}, ["miou"])[0]["miou_std"] == 0.0


def test_mean_over_difficulties_averages_each_model() -> None:
    rows = [
        {"model": "a", "difficulty": 0.0, "f1": 0.8},
        {"model": "b", "difficulty": 0.0, "f1": 0.5},
        {"model": "a", "difficulty": 1.0, "f1": 0.4},
    ]
    means = mean_over_difficulties(rows)
    assert list(means) == ["a", "b"]
    assert means["a"] == pytest.approx(0.6) and means["b"] == 0.5
