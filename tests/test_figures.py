"""The paper's figures: the functions draw headless what they claim, on synthetic inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from ceec_lab import figures
from ceec_lab.data import SyntheticChangeDataset
from ceec_lab.experiments import ceecnet_datasets
from ceec_lab.figures import blocks, budgets, runs
from ceec_lab.figures.cache import RECORDED_DIR
from ceec_lab.models import create_model
from ceec_lab.models.nn import capture_attention


def _labelled(ax) -> dict[str, np.ndarray]:
    """The labelled lines of an axes (helper lines such as stage markers have none)."""
    return {
        line.get_label(): np.asarray(line.get_ydata(), dtype=float)
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def _records(values: list[float], depths: list[int] | None = None) -> list[dict]:
    """Epoch records as the trainer writes them, with ``val_mcc``/``val_f1`` = ``values``."""
    depths = depths or [0] * len(values)
    return [
        {"epoch": i + 1, "train_loss": 1 - v / 2, "val_mcc": v, "val_f1": v, "loss_depth": d}
        for i, (v, d) in enumerate(zip(values, depths, strict=True))
    ]


@pytest.fixture(scope="module")
def tiny_ceecnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("ceecnet_v1", preset="ceecnet-tiny", norm="group").eval()


@pytest.fixture(scope="module")
def pair() -> dict[str, torch.Tensor]:
    pairs = SyntheticChangeDataset(4, size=32, seed=0, difficulty=0.5, n_changes=2)
    return next(p for p in pairs if 0 < float(p["mask"].float().mean()) < 1)


# ------------------------------------------------------------------------------ analytic


def _panels(fig):
    """The landscape panels of a figure, without its colour bar."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_fig02_has_the_papers_depths_and_the_mean():
    fig = figures.fig02_fractal_tanimoto_landscape()
    panels = _panels(fig)
    titles = [ax.get_title() for ax in panels]
    assert titles[:3] == ["$T^{0}$", "$T^{3}$", "$T^{5}$"] and titles[3].startswith("$FT_{5}$")
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)  # one shared colour bar
    for ax in panels:
        assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
        star = [line for line in ax.get_lines() if line.get_marker() == "*"]
        assert star and tuple(star[0].get_xydata()[0]) == pytest.approx((0.4, 0.6))


def test_fig03_is_the_noisy_landscape():
    clean = figures.fig02_fractal_tanimoto_landscape()
    noisy = figures.fig03_landscape_with_noise(noise=0.1)
    assert "noise 0.1" in noisy.get_suptitle() and len(_panels(noisy)) == 4
    arrows = [fig.axes[1].collections[-1].get_offsets() for fig in (clean, noisy)]
    assert not np.allclose(*arrows)


def test_fig16_draws_the_papers_and_learned_scales():
    fig = figures.fig16_crisp_sigmoid({"mine": 0.3})
    curves = _labelled(fig.axes[0])
    assert list(curves) == [
        "sigmoid: γ = 1.000",
        "LEVIR-CD: γ = 0.610",
        "WHU: γ = 0.625",
        "mine: γ = 0.300",
    ]
    x = fig.axes[0].get_lines()[0].get_xdata()
    for y in curves.values():
        assert 0 <= y.min() and y.max() <= 1 and np.interp(0.0, x, y) == pytest.approx(0.5)
    # a smaller γ is a steeper step: higher just right of 0
    right = np.searchsorted(x, 1.0)
    assert curves["mine: γ = 0.300"][right] > curves["sigmoid: γ = 1.000"][right]


# ------------------------------------------------------------------------------ cache


def test_cached_computes_once_per_settings(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"value": (1, 2)}

    path = tmp_path / "results.json"
    first, source = figures.cached(path, {"n": 1}, compute)
    assert first == {"value": [1, 2]} and source == "computed"
    again, source = figures.cached(path, {"n": 1}, compute)
    assert again == first and source == "cache" and len(calls) == 1
    assert json.loads(path.read_text())["settings"] == {"n": 1}
    _, source = figures.cached(path, {"n": 2}, compute)
    assert source == "computed" and len(calls) == 2
    _, source = figures.cached(path, {"n": 2}, compute, recompute=True)
    assert source == "computed" and len(calls) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary files left


def test_cached_reads_recorded_results_with_the_same_settings_only(tmp_path):
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps({"settings": {"n": 1}, "results": {"value": 7}}))
    cache = tmp_path / "cache" / "results.json"
    results, source = figures.cached(cache, {"n": 1}, lambda: 0, recorded=recorded)
    assert (results, source) == ({"value": 7}, "recorded") and not cache.exists()
    results, source = figures.cached(cache, {"n": 2}, lambda: 0, recorded=recorded)
    assert (results, source) == (0, "computed") and cache.exists()
    _, source = figures.cached(cache, {"n": 1}, lambda: 1, recorded=recorded, recompute=True)
    assert source == "computed"


@pytest.mark.parametrize("mode", ["lab", "full"])
def test_recorded_results_match_their_budget(mode):
    """The shipped results of a budget were made with its current settings, or the
    notebook would silently retrain: change a budget, re-run scripts/record_figure_runs.py."""
    for name in ("schedules", "fig10_blocks"):
        path = RECORDED_DIR / mode / f"{name}.json"
        if mode == "full":
            assert not path.exists()  # not recorded (needs a GPU); nothing stale either
            continue
        stored = json.loads(path.read_text())
        assert stored["settings"]["seed"] == 0
        if name == "schedules":
            assert stored["settings"]["change"] == budgets.CHANGE_BUDGETS[mode]
            assert list(stored["results"]) == list(budgets.SCHEDULE_RUNS)
            epochs = budgets.CHANGE_BUDGETS[mode]["num_epochs"]
        else:
            assert stored["settings"]["classify"] == budgets.CLASSIFY_BUDGETS[mode]
            assert list(stored["results"]) == list(blocks.UNIT_NAMES)
            epochs = budgets.CLASSIFY_BUDGETS[mode]["num_epochs"]
        assert all(len(run["epochs"]) == epochs for run in stored["results"].values())


def test_quick_budget_results_are_computed_then_cached(tmp_path):
    results, source = budgets.schedule_results("quick", tmp_path, progress=False)
    assert source == "computed" and list(results) == list(budgets.SCHEDULE_RUNS)
    assert all(len(r["epochs"]) == 2 for r in results.values())
    _, source = budgets.schedule_results("quick", tmp_path, progress=False)
    assert source == "cache"
    with pytest.raises(ValueError, match="mode must be one of"):
        budgets.block_results("fast", tmp_path)


def test_schedule_runs_see_the_same_augmented_batches():
    """Two runs with the same model and schedule on augmented pairs are the same computation:
    the augmentation's own generator restarts for every run."""
    train_set, val_set = ceecnet_datasets(4, 2, 32, seed=0)
    assert hasattr(train_set.transform, "state_dict")  # augmented
    results = runs.train_schedules(
        {"a": ("ceecnet_v1", 0), "b": ("ceecnet_v1", 0)},
        train_set,
        val_set,
        2,
        [1, 2],
        batch_size=2,
        progress=False,
    )
    losses = [[e["train_loss"] for e in results[name]["epochs"]] for name in ("a", "b")]
    assert losses[0] == losses[1]


def test_record_script_writes_results_the_notebook_reads(tmp_path, monkeypatch, load_script):
    script = load_script("record_figure_runs", "scripts")
    monkeypatch.setattr(script, "RECORDED_DIR", tmp_path)
    script.main(["--mode", "quick", "--part", "schedules", "--jobs", "1"])
    monkeypatch.setattr(budgets, "RECORDED_DIR", tmp_path)
    results, source = budgets.schedule_results("quick", tmp_path / "cache", progress=False)
    assert source == "recorded" and list(results) == list(budgets.SCHEDULE_RUNS)


# ------------------------------------------------------------------------------ Fig. 10


def test_patch_label_needs_a_quarter_of_the_patch():
    mask = np.zeros((4, 4), np.uint8)
    mask[0, :3] = 1  # 3/16 building
    assert blocks.patch_label(mask) == 0
    mask[1, :2] = 2  # road 2/16, building still the most covered
    mask[2, :] = 1  # building 7/16
    assert blocks.patch_label(mask) == 1


def test_dominant_class_patches_are_labelled_and_thinned():
    patches = blocks.dominant_class_patches(2, scene_size=64, patch_size=16, seed=0)
    labels = np.array([int(p["mask"]) for p in patches])
    assert patches[0]["image"].shape == (3, 16, 16) and patches[0]["mask"].shape == (1, 1)
    assert 0 <= patches[0]["image"].min() and patches[0]["image"].max() <= 1
    counts = np.bincount(labels, minlength=5)
    assert counts[0] <= counts[1:].max() and counts[1:].sum() > 0


@pytest.mark.parametrize("unit", blocks.UNIT_NAMES)
def test_block_classifier_gives_one_logit_per_class(unit):
    model = blocks.BlockClassifier(unit, channels=8)
    logits = model(torch.rand(2, 3, 16, 16))
    assert logits.shape == (2, 5, 1, 1)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.classifier.parameters())


def test_block_comparison_trains_with_the_engine():
    patches = blocks.dominant_class_patches(1, scene_size=64, seed=0)
    results = blocks.train_block_comparison(
        patches, patches, 2, channels=8, batch_size=8, progress=False, units=("ResNet",)
    )
    epochs = results["ResNet"]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert 0 <= epochs[-1]["val_pixel_accuracy"] <= 1
    assert results["ResNet"]["parameters"] > 0


def test_fig10_plots_accuracy_per_unit():
    results = {
        name: {"epochs": _records([0.2, 0.5 + i / 10]), "parameters": 1000 * (i + 1)}
        for i, name in enumerate(blocks.UNIT_NAMES)
    }
    for result in results.values():
        for record in result["epochs"]:
            record["val_pixel_accuracy"] = record["val_mcc"]
    fig = figures.fig10_block_comparison(results)
    accuracy = _labelled(fig.axes[0])
    assert list(accuracy) == [
        "ResNet (1k params)",
        "FracTAL ResNet (2k params)",
        "CEEC V1 (3k params)",
        "CEEC V2 (4k params)",
    ]
    assert accuracy["CEEC V2 (4k params)"].tolist() == pytest.approx([0.2, 0.8])
    assert fig.axes[0].get_ylim() == (0, 1) and len(_labelled(fig.axes[1])) == 4
    with pytest.raises(ValueError, match="val_pixel_accuracy"):
        figures.fig10_block_comparison({"x": {"epochs": _records([0.1]), "parameters": 1}})


# ------------------------------------------------------------------------------ Figs. 12, 15, 17


def test_depth_schedule_changes_only_the_depth():
    evolving = runs.depth_schedule("evolving", [2, 4])
    fixed = runs.depth_schedule(3, [2, 4])
    assert [s.loss_depth for s in evolving.stages] == [0, 10, 20]
    assert [s.loss_depth for s in fixed.stages] == [3, 3, 3]
    assert [s.lr for s in fixed.stages] == [s.lr for s in evolving.stages] == [1e-3, 1e-4, 1e-5]
    with pytest.raises(ValueError, match="evolving"):
        runs.depth_schedule("steep", [2, 4])


def test_train_schedules_records_the_depth_of_every_epoch():
    train_set, val_set = ceecnet_datasets(8, 4, 32, seed=0)
    results = runs.train_schedules(
        {"evolving": ("ceecnet_v1", "evolving"), "D = 3": ("ceecnet_v1", 3)},
        train_set,
        val_set,
        num_epochs=2,
        milestones=[1, 2],
        progress=False,
        device="cpu",
    )
    depths = {name: [e["loss_depth"] for e in r["epochs"]] for name, r in results.items()}
    assert depths == {"evolving": [0, 10], "D = 3": [3, 3]}
    assert all(-1 <= e["val_mcc"] <= 1 for r in results.values() for e in r["epochs"])


def test_fig12_marks_the_depth_changes_of_the_evolving_run():
    histories = {
        "static": _records([0.1, 0.3, 0.4, 0.5]),
        "evolving": _records([0.1, 0.3, 0.5, 0.6], depths=[0, 0, 10, 20]),
    }
    fig = figures.fig12_static_vs_evolving(histories, evolving="evolving")
    loss_ax, mcc_ax = fig.axes
    assert _labelled(mcc_ax)["evolving"].tolist() == pytest.approx([0.1, 0.3, 0.5, 0.6])
    assert set(_labelled(loss_ax)) == {"static", "evolving"}
    assert [t.get_text() for t in mcc_ax.texts] == ["D=10", "D=20"]
    stage_lines = [ln for ln in mcc_ax.get_lines() if ln.get_label().startswith("_")]
    assert [ln.get_xdata()[0] for ln in stage_lines] == [2.5, 3.5]
    with pytest.raises(ValueError, match="evolving"):
        figures.fig12_static_vs_evolving(histories, evolving="missing")


def test_fig15_has_one_curve_per_depth():
    histories = {f"D = {d}": _records([0.1, 0.2 + d / 100]) for d in (0, 3, 6)}
    fig = figures.fig15_fixed_depths(histories)
    for ax in fig.axes:
        assert list(_labelled(ax)) == ["D = 0", "D = 3", "D = 6"]
    assert _labelled(fig.axes[0])["D = 6"][-1] == pytest.approx(0.26)
    with pytest.raises(ValueError, match="val_f1"):
        figures.fig15_fixed_depths({"x": [{"epoch": 1, "val_mcc": 0.1}]})


def test_fig17_stars_the_best_epoch():
    histories = {
        "CEECNet V1": _records([0.2, 0.7, 0.6], depths=[0, 10, 20]),
        "FracTAL ResNet": _records([0.1, 0.2, 0.5], depths=[0, 10, 20]),
    }
    fig = figures.fig17_mcc_histories(histories)
    stars = [
        ln.get_xydata()[0].tolist() for ln in fig.axes[0].get_lines() if ln.get_marker() == "*"
    ]
    assert stars == [[2.0, 0.7], [3.0, 0.5]]


# ------------------------------------------------------------------------------ Figs. 1, 14, 20


def test_predictions_are_probabilities(tiny_ceecnet, pair):
    probs = runs.predict_pairs(tiny_ceecnet, [pair, pair])
    assert len(probs) == 2 and probs[0].shape == (2, 32, 32)
    assert torch.allclose(probs[0].sum(0), torch.ones(32, 32), atol=1e-5)


@pytest.mark.parametrize(
    "draw",
    [figures.fig14_levircd_predictions, figures.fig20_second_dataset_predictions],
)
def test_prediction_figures_show_pairs_truth_and_errors(draw, pair):
    truth = torch.stack([1 - pair["mask"].float(), pair["mask"].float()])  # a perfect prediction
    fig = draw([pair, pair], {"perfect": [truth, truth]}, "some data")
    assert isinstance(fig, Figure) and "some data" in fig.get_suptitle()
    assert len(fig.axes) == 2 * 4  # two rows: date 1, date 2, truth, one model
    error_map = fig.axes[3].get_images()[0].get_array()
    assert not (error_map[..., 0] > error_map[..., 2] + 0.5).any()  # no red: no false alarm
    with pytest.raises(ValueError, match="one probability map per sample"):
        draw([pair, pair], {"perfect": [truth]}, "some data")


def test_fig01_is_one_pair(pair):
    probs = torch.stack([pair["mask"].float(), 1 - pair["mask"].float()])  # all wrong
    fig = figures.fig01_change_example(pair, probs, "synthetic")
    assert len(fig.axes) == 4 and "synthetic" in fig.get_suptitle()
    error_map = fig.axes[3].get_images()[0].get_array()
    assert (error_map.reshape(-1, 3).max(1) > 0).all()  # every pixel is an error (FP or FN)


# ------------------------------------------------------------------------------ Figs. 19, 22


def test_fig19_shows_the_first_fusion_for_both_dates(tiny_ceecnet, pair):
    with torch.no_grad(), capture_attention(tiny_ceecnet) as maps:
        tiny_ceecnet(pair["image1"][None], pair["image2"][None])
    fig = figures.fig19_relative_attention(maps, (pair["image1"], pair["image2"]))
    titles = [ax.get_title() for ax in fig.axes]
    assert fig.get_suptitle() == "fuse_first"
    assert any(t.startswith("date 1 (attending to date 2)") for t in titles)
    assert any(t.startswith("date 2 (attending to date 1)") for t in titles)


def test_fusion_features_and_contrast(tiny_ceecnet, pair):
    x1, x2 = pair["image1"][None], pair["image2"][None]
    features = runs.fusion_features(tiny_ceecnet, x1, x2)
    nf = tiny_ceecnet.config.nfilters
    assert features["difference"].shape == features["fusion"].shape == (nf, 32, 32)
    same = runs.fusion_features(tiny_ceecnet, x1, x1)
    assert same["difference"].abs().max() == 0  # one date twice: nothing to subtract
    assert not any(h for m in tiny_ceecnet.modules() for h in m._forward_hooks.values())


def test_channel_contrast_finds_the_change_channel():
    mask = torch.zeros(8, 8, dtype=torch.long)
    mask[2:5, 2:5] = 1
    features = torch.stack([mask.float(), torch.ones(8, 8), torch.rand(8, 8)])
    contrast = runs.channel_contrast(features, mask)
    assert contrast.shape == (3,) and contrast[1] == 0
    assert contrast.argmax() == 0
    with pytest.raises(ValueError, match="both change and no change"):
        runs.channel_contrast(features, torch.zeros(8, 8))


def test_fig22_shows_the_best_channel_of_each(pair):
    mask = pair["mask"].float()
    features = {
        "difference": torch.stack([torch.rand(32, 32), mask]),
        "fusion": torch.stack([mask * 2, torch.zeros(32, 32)]),
    }
    fig = figures.fig22_difference_vs_fusion(pair, features)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["date 1", "date 2", "true change"]
    assert titles[3].startswith("difference: channel 1") and titles[4].startswith(
        "fusion: channel 0"
    )
    sorted_contrast = _labelled(fig.axes[5])
    assert set(sorted_contrast) == {"difference", "fusion"}
    assert all(np.all(np.diff(c) <= 0) for c in sorted_contrast.values())
