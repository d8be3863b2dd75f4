"""Train the shipped weights of the small learned baselines (28 min on 2 busy CPU cores).

    python scripts/train_baseline_weights.py                 # all six
    python scripts/train_baseline_weights.py fc_ef fcn8s     # some of them

Notebooks 01, 04 and 05 compare trained baselines; training them all in class would
take the whole period. These weights let a notebook show the trained comparison the
moment it opens (each notebook has a ``train_yourself`` flag to train them instead):

* the change detectors of Daudt et al. (2018), FC-EF, FC-Siam-conc and FC-Siam-diff
  (notebooks 04 and 05), on :data:`SHIPPED_CHANGE` - synthetic pairs of 64² whose nuisance
  is drawn over the whole difficulty range, cross-entropy with the change class weighted
  up (see :class:`~ceec_lab.experiments.ChangeBenchmark`);
* the FCNs of notebook 01, FCN-32s, FCN-16s and FCN-8s, on :data:`SHIPPED_SEGMENTATION`
  synthetic scenes, all three with the same data, seed and schedule so that only the
  skips differ.

The U-Nets and DeepLabV3+ are not shipped: with a ResNet-18 encoder each has 12-14 M
parameters (25-29 MB even in half precision), more than all shipped weights may take.

Weights are stored in half precision (a 1.3 M-parameter network is 2.6 MB) and loaded
back into float32 by :func:`ceec_lab.models.pretrained.load_pretrained`. Every file
``ceec_lab/weights/<file>.pt`` gets a ``<file>.json`` beside it with the settings and the
validation numbers, which ``tests/models/test_pretrained.py`` checks against the weights.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ceec_lab as cl  # first: it makes idle CPU threads sleep before torch loads
from ceec_lab.data import SyntheticSegmentationDataset
from ceec_lab.experiments import (
    ChangeBenchmark,
    evaluate_across_difficulties,
    train_change_baseline,
    train_model,
)
from ceec_lab.files import save_json, save_torch
from ceec_lab.losses import create_loss
from ceec_lab.models import create_model
from ceec_lab.models.pretrained import PRETRAINED
from ceec_lab.train import seed_everything

if TYPE_CHECKING:
    from torch import nn

#: The change detectors' training data and budget.
SHIPPED_CHANGE = ChangeBenchmark(size=64, n_train=768, n_val=64, num_epochs=10, batch_size=8)
#: Nuisance levels at which the change detectors are validated.
DIFFICULTIES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The FCNs' training data and budget.
SHIPPED_SEGMENTATION = {
    "size": 64,
    "n_train": 512,
    "n_val": 64,
    "num_epochs": 10,
    "batch_size": 16,
    "lr": 2e-3,
    "seed": 0,
}
WEIGHTS = Path(__file__).resolve().parent.parent / "ceec_lab" / "weights"
#: Shipped name → registry model of each baseline.
BASELINES = {
    "fc-ef-synthetic": "fc_ef",
    "fc-siam-conc-synthetic": "fc_siam_conc",
    "fc-siam-diff-synthetic": "fc_siam_diff",
    "fcn32s-synthetic": "fcn32s",
    "fcn16s-synthetic": "fcn16s",
    "fcn8s-synthetic": "fcn8s",
}


def rounded(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)}


def train_change(model_name: str) -> tuple[nn.Module, dict[str, Any]]:
    """Train a change detector on :data:`SHIPPED_CHANGE`; the model and its record."""
    result = train_change_baseline(model_name, SHIPPED_CHANGE, difficulty=(0.0, 1.0))
    rows = evaluate_across_difficulties(result.trainer, model_name, DIFFICULTIES, SHIPPED_CHANGE)
    record = {
        "model_kwargs": {},
        "data": {"dataset": "SyntheticChangeDataset"}
        | dataclasses.asdict(SHIPPED_CHANGE)
        | {"val_seed": SHIPPED_CHANGE.val_seed}
        | {"difficulty": [0.0, 1.0]},  # training pairs; validation at each of DIFFICULTIES
        "metrics": rounded(result.metrics),
        "metrics_by_difficulty": {str(r["difficulty"]): rounded(r) for r in rows},
        "seconds": round(result.seconds),
    }
    return result.model, record


def train_segmentation(model_name: str) -> tuple[nn.Module, dict[str, Any]]:
    """Train an FCN on :data:`SHIPPED_SEGMENTATION`; the model and its record."""
    s = SHIPPED_SEGMENTATION
    train_set = SyntheticSegmentationDataset(s["n_train"], s["size"], seed=s["seed"], cache=True)
    val_set = SyntheticSegmentationDataset(s["n_val"], s["size"], seed=s["seed"] + 1, cache=True)
    kwargs = {"in_channels": 3, "num_classes": train_set.num_classes}
    seed_everything(s["seed"])
    result = train_model(
        model_name,
        create_model(model_name, **kwargs),
        create_loss("ce"),
        train_set,
        val_set,
        num_epochs=s["num_epochs"],
        batch_size=s["batch_size"],
        lr=s["lr"],
        seed=s["seed"],
        num_classes=train_set.num_classes,
    )
    record = {
        "model_kwargs": kwargs,
        "data": {"dataset": "SyntheticSegmentationDataset"} | s,
        "metrics": rounded(result.metrics),
        "seconds": round(result.seconds),
    }
    return result.model, record


def ship(name: str) -> None:
    """Train baseline ``name`` and write its weights and record atomically."""
    model_name = BASELINES[name]
    start = time.perf_counter()
    change = model_name.startswith("fc_")
    model, record = train_change(model_name) if change else train_segmentation(model_name)
    record = {"name": name, "model_name": model_name, "script": PRETRAINED[name][1]} | record
    path = WEIGHTS / PRETRAINED[name][0]
    half = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_torch(record | {"state_dict": half}, path)
    save_json(record, path.with_suffix(".json"))
    print(
        f"{name}: {time.perf_counter() - start:.0f} s, validation {record['metrics']}; "
        f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"default: all of {list(BASELINES.values())}")
    args = parser.parse_args()
    unknown = set(args.models) - set(BASELINES.values())
    if unknown:
        parser.error(f"unknown baselines {sorted(unknown)}; choose from {list(BASELINES.values())}")
    print(cl.configure_cpu_threads())
    wanted = args.models or list(BASELINES.values())
    for name, model_name in BASELINES.items():
        if model_name in wanted:
            ship(name)


if __name__ == "__main__":
    main()
