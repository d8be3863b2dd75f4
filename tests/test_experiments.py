"""The experiment helpers used by notebooks and benchmarks."""

from __future__ import annotations

import pytest
import torch
import yaml

from ceec_lab.data import SyntheticChangeDataset
from ceec_lab.experiments import load_shipped, mean_over_difficulties, results_table, train_model
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
    assert result.describe() == f"fc_ef: trained here, {result.seconds:.0f} s"


def test_shipped_run_says_how_it_was_trained() -> None:
    result = load_shipped("fc_siam_diff")
    data = result.model.pretrained_info["data"]
    assert result.describe() == (
        f"fc_siam_diff: shipped weights, trained on {data['n_train']} samples of "
        f"{data['size']}², {data['num_epochs']} epochs, batch {data['batch_size']}, lr {data['lr']}"
    )
    assert results_table([result], ["f1"]).splitlines()[-1].endswith("| – |")  # no training time


def test_evaluate_across_difficulties_shows_differencing_failing() -> None:
    from ceec_lab.experiments import ChangeBenchmark, evaluate_across_difficulties
    from ceec_lab.train import Trainer

    benchmark = ChangeBenchmark(size=32, n_train=1, n_val=8, num_epochs=1)
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


def test_change_presets_hold_the_benchmark_sizes() -> None:
    from ceec_lab.experiments import BENCHMARK_PRESETS, ChangeBenchmark, benchmark_config

    for mode in ("quick", "full"):
        raw = yaml.safe_load((BENCHMARK_PRESETS / f"change-{mode}.yaml").read_text())
        benchmark = ChangeBenchmark.preset(mode)
        sizes = (benchmark.size, benchmark.n_train, benchmark.n_val, benchmark.batch_size)
        assert sizes == tuple(raw["data"][k] for k in ("size", "n_train", "n_val", "batch_size"))
        assert benchmark.num_epochs == raw["train"]["num_epochs"]
        assert benchmark.change_weight == raw["loss"]["kwargs"]["weight"][1] == 10.0
        preset = benchmark_config(f"change-{mode}")  # and back: the preset's own run
        run = benchmark.config(preset.model.name)
        assert (run.data, run.loss) == (preset.data, preset.loss)
        assert (run.train.num_epochs, run.train.lr, run.train.seed) == (
            preset.train.num_epochs,
            preset.train.lr,
            preset.train.seed,
        )
    with pytest.raises(ValueError, match="choose one of: change-full, change-quick"):
        ChangeBenchmark.preset("huge")


def test_a_benchmark_run_is_built_by_the_config_builders() -> None:
    from ceec_lab.experiments import ChangeBenchmark
    from ceec_lab.train.runs import prepare

    benchmark = ChangeBenchmark(size=32, n_train=4, n_val=2, num_epochs=1, change_weight=7.0)
    fc_ef = prepare(benchmark.config("fc_ef", difficulty=(0.0, 1.0)))
    assert torch.equal(fc_ef.loss_fn.weight, torch.tensor([1.0, 7.0]))
    assert fc_ef.train_set.difficulty == [0.0, 1.0] and fc_ef.val_set.seed == benchmark.val_seed
    otsu = prepare(benchmark.config("differencing_otsu"))  # outputs probabilities
    assert otsu.loss_fn.expects == "probs"


def test_a_change_baseline_repeats_exactly() -> None:
    from ceec_lab.experiments import ChangeBenchmark, train_change_baseline

    benchmark = ChangeBenchmark(size=32, n_train=6, n_val=2, num_epochs=1, batch_size=4)
    first, second = (
        train_change_baseline("fc_ef", benchmark, progress=False, device="cpu") for _ in range(2)
    )
    assert first.history.epochs[0]["train_loss"] == second.history.epochs[0]["train_loss"]
    assert torch.equal(first.trainer.loss_fn.weight, torch.tensor([1.0, 10.0]))


def test_train_ceecnet_uses_the_papers_schedule() -> None:
    from ceec_lab.experiments import ceecnet_datasets, train_ceecnet
    from ceec_lab.losses import EvolvingDepth

    train_set, val_set = ceecnet_datasets(4, 2, 32)
    assert train_set.transform is not None and val_set.transform is None
    run = train_ceecnet(train_set, val_set, 2, [1, 2], batch_size=2, progress=False, device="cpu")
    (schedule,) = run.trainer.callbacks
    assert isinstance(schedule, EvolvingDepth) and schedule.milestones == [1, 2]
    assert [e["loss_depth"] for e in run.history.epochs] == [0, 10]
