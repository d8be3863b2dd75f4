"""Train every baseline on a fixed synthetic benchmark and write a results table.

    python benchmarks/baselines.py            # quick: CPU, a few minutes
    python benchmarks/baselines.py --full     # full: meant for a GPU

The benchmark (sizes, seeds, epochs) is :data:`ceec_lab.experiments.CHANGE_BENCHMARKS`
for change detection and :data:`SEGMENTATION_BENCHMARKS` below for segmentation.
Results go to ``benchmarks/results/baselines-{quick,full}.md`` and ``.json``
(written atomically) and are printed. Metrics are those of the *change* class. The change
models' costs follow (:func:`ceec_lab.measure.cost_table`: parameters, GFLOPs and
CPU latency per 256×256 pair, F1 per million parameters and per GFLOP).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ceec_lab  # noqa: F401  (first: sets the OpenMP wait policy before torch loads)

# isort: split
import torch

from ceec_lab.cpu import configure_cpu_threads
from ceec_lab.data import SyntheticSegmentationDataset
from ceec_lab.experiments import (
    CHANGE_BENCHMARKS,
    RunResult,
    results_table,
    train_change_baseline,
    train_model,
)
from ceec_lab.files import atomic_path
from ceec_lab.losses import create_loss
from ceec_lab.measure import cost_table, markdown_cost_table
from ceec_lab.models import create_model
from ceec_lab.settings import get_device

CHANGE_MODELS = [
    "differencing_otsu",
    "fc_ef",
    "fc_siam_conc",
    "fc_siam_diff",
    "unet_early_fusion",
    "lsnet",
]
SEGMENTATION_MODELS = ["fcn32s", "fcn16s", "fcn8s", "unet", "deeplabv3", "deeplabv3plus"]
#: (size, n_train, n_val, num_epochs, batch_size) of the segmentation benchmark.
SEGMENTATION_BENCHMARKS = {"quick": (64, 128, 32, 5, 8), "full": (128, 2000, 200, 30, 16)}


def run_segmentation(mode: str, device: torch.device) -> list[RunResult]:
    size, n_train, n_val, num_epochs, batch_size = SEGMENTATION_BENCHMARKS[mode]
    train_set = SyntheticSegmentationDataset(n_train, size, seed=0)
    val_set = SyntheticSegmentationDataset(n_val, size, seed=1)
    return [
        train_model(
            name,
            create_model(name),
            create_loss("ce"),
            train_set,
            val_set,
            num_epochs=num_epochs,
            batch_size=batch_size,
            num_classes=5,
            device=device,
            progress=False,
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
    benchmark = CHANGE_BENCHMARKS[mode]
    print(f"{mode} benchmark on {device}: {benchmark}")

    change = [
        train_change_baseline(name, benchmark, device=device, progress=False)
        for name in CHANGE_MODELS
    ]
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
        segmentation = run_segmentation(mode, device)
        report += [
            "",
            f"Semantic segmentation (synthetic scenes {SEGMENTATION_BENCHMARKS[mode]}), percent:",
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
