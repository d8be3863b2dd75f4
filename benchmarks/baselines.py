"""Train every baseline on a fixed synthetic benchmark and write a results table.

    python benchmarks/baselines.py            # quick: CPU, a few minutes
    python benchmarks/baselines.py --full     # full: meant for a GPU

The benchmarks (sizes, seeds, epochs, loss) are the presets ``configs/benchmarks/``
``change-{quick,full}.yaml`` and ``segmentation-{quick,full}.yaml``; every model of a
benchmark trains on the same settings.
Results go to ``benchmarks/results/baselines-{quick,full}.md`` and ``.json``
(written atomically) and are printed. Metrics are those of the *change* class. The change
models' costs follow (:func:`ceec_lab.measure.cost_table`: parameters, GFLOPs and
CPU latency per 256×256 pair, F1 per million parameters and per GFLOP).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import ceec_lab  # noqa: F401  (first: sets the OpenMP wait policy before torch loads)

# isort: split
import torch

from ceec_lab.cpu import configure_cpu_threads
from ceec_lab.experiments import (
    ChangeBenchmark,
    RunResult,
    benchmark_config,
    results_table,
    train_change_baseline,
    train_experiment,
)
from ceec_lab.files import atomic_path
from ceec_lab.measure import cost_table, markdown_cost_table
from ceec_lab.settings import get_device
from ceec_lab.train.config import ExperimentConfig, ModelConfig
from ceec_lab.train.runs import prepare

CHANGE_MODELS = [
    "differencing_otsu",
    "fc_ef",
    "fc_siam_conc",
    "fc_siam_diff",
    "unet_early_fusion",
    "lsnet",
]
SEGMENTATION_MODELS = ["fcn32s", "fcn16s", "fcn8s", "unet", "deeplabv3", "deeplabv3plus"]


def run_change(benchmark: ChangeBenchmark, device: torch.device) -> list[RunResult]:
    """Every change model of :data:`CHANGE_MODELS`, trained on ``benchmark``."""
    return [
        train_change_baseline(name, benchmark, device=device, progress=False)
        for name in CHANGE_MODELS
    ]


def run_segmentation(preset: ExperimentConfig, device: torch.device) -> list[RunResult]:
    """Every model of :data:`SEGMENTATION_MODELS`, trained as ``preset`` says."""
    return [
        train_experiment(
            name,
            prepare(dataclasses.replace(preset, model=ModelConfig(name))),
            progress=False,
            device=device,
        )
        for name in SEGMENTATION_MODELS
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full (GPU) benchmark")
    parser.add_argument("--skip-segmentation", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    print(configure_cpu_threads())
    mode = "full" if args.full else "quick"
    device = get_device()
    benchmark = ChangeBenchmark.preset(mode)
    print(f"{mode} benchmark on {device}: {benchmark}")

    change = run_change(benchmark, device)
    report = [
        f"# Baselines, {mode} benchmark, {device}",
        "",
        f"Change detection (synthetic pairs, {benchmark}); change-class metrics, percent:",
        "",
        results_table(change, ["precision", "recall", "f1", "iou", "mcc"]),
    ]
    costs = cost_table({r.name: r.model for r in change}, {r.name: r.metrics["f1"] for r in change})
    report += ["", "Cost per 256×256 pair (CPU latency, batch 1):", "", markdown_cost_table(costs)]
    rows = {"change": [{"model": r.name, "seconds": r.seconds, **r.metrics} for r in change]}
    rows["change_costs"] = costs
    if not args.skip_segmentation:
        preset = benchmark_config(f"segmentation-{mode}")
        segmentation = run_segmentation(preset, device)
        data, num_epochs = preset.data, preset.train.num_epochs
        scenes = (
            f"{data.n_train} scenes of {data.size}², {num_epochs} epochs, batch {data.batch_size}"
        )
        report += [
            "",
            f"Semantic segmentation (synthetic {scenes}), percent:",
            "",
            results_table(segmentation, ["pixel_accuracy", "mean_accuracy", "miou", "fwiou"]),
        ]
        rows["segmentation"] = [
            {"model": r.name, "seconds": r.seconds, **r.metrics} for r in segmentation
        ]
    text = "\n".join(report) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / f"baselines-{mode}.md") as path:
        path.write_text(text)
    with atomic_path(args.out / f"baselines-{mode}.json") as path:
        path.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
