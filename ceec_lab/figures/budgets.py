"""The training runs behind paper Figs. 10, 12, 15 and 17, one size per budget.

Notebook 06 and ``scripts/record_figure_runs.py`` both call :func:`schedule_results`
and :func:`block_results`, so a recorded result and a notebook run are the same
experiment. Each returns ``(results, source)``: the results come from the
notebook's cache, from the kit's recorded results (:data:`.cache.RECORDED_DIR`)
or from training now (see :func:`ceec_lab.figures.cache.cached`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ceec_lab.experiments import ceecnet_datasets
from ceec_lab.figures import blocks, runs
from ceec_lab.figures.cache import RECORDED_DIR, cached

#: The change-detection runs of Figs. 12, 15 and 17: run name → (model, depth schedule).
SCHEDULE_RUNS: dict[str, tuple[str, runs.Schedule]] = {
    "D = 0 (static)": ("ceecnet_v1", 0),
    "evolving": ("ceecnet_v1", "evolving"),
    "D = 3": ("ceecnet_v1", 3),
    "D = 6": ("ceecnet_v1", 6),
    "FracTAL ResNet, evolving": ("fractal_resnet", "evolving"),
}

#: Tiny CEECNet/FracTAL ResNet on synthetic pairs: the sizes of each budget. The lr
#: drops (and the evolving depth rises) after the epochs in ``milestones``; the pairs'
#: nuisance is drawn from ``difficulty``. The lab budget keeps to the easier half of the
#: nuisance range so that its runs learn to find change (change-F1 near 0.8) in minutes.
CHANGE_BUDGETS: dict[str, dict[str, Any]] = {
    "quick": dict(
        size=32,
        n_train=8,
        n_val=4,
        num_epochs=2,
        milestones=[1, 2],
        batch_size=8,
        difficulty=[0.0, 1.0],
    ),
    "lab": dict(
        size=64,
        n_train=256,
        n_val=64,
        num_epochs=6,
        milestones=[4, 5],
        batch_size=4,
        difficulty=[0.0, 0.5],
    ),
    "full": dict(
        size=64,
        n_train=2000,
        n_val=200,
        num_epochs=40,
        milestones=[20, 32],
        batch_size=16,
        difficulty=[0.0, 1.0],
    ),
}

#: The block comparison of Fig. 10: land-cover patches of ``n_*`` synthetic 128² scenes.
CLASSIFY_BUDGETS: dict[str, dict[str, Any]] = {
    "quick": dict(n_train=1, n_val=1, num_epochs=1, channels=8),
    "lab": dict(n_train=32, n_val=8, num_epochs=10, channels=16),
    "full": dict(n_train=400, n_val=100, num_epochs=30, channels=32),
}


def _check_mode(mode: str) -> None:
    if mode not in CHANGE_BUDGETS:
        raise ValueError(f"mode must be one of {sorted(CHANGE_BUDGETS)}, got {mode!r}")


def schedule_settings(mode: str, seed: int = 0) -> dict[str, Any]:
    """What the results of :func:`schedule_results` depend on (the key of their file)."""
    _check_mode(mode)
    return {"change": CHANGE_BUDGETS[mode], "runs": SCHEDULE_RUNS, "seed": seed}


def train_schedule_runs(
    mode: str,
    names: Sequence[str] | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Train the runs ``names`` of :data:`SCHEDULE_RUNS` (all by default) in the ``mode`` budget.

    Runs are independent (each starts from the seeded weights and augmentations), so
    training them in separate processes gives the same results as one after the other.

    Returns:
        Run name → ``{"epochs": epoch records, "seconds": training time}``.
    """
    _check_mode(mode)
    change = CHANGE_BUDGETS[mode]
    train_set, val_set = ceecnet_datasets(
        change["n_train"],
        change["n_val"],
        change["size"],
        seed=seed,
        difficulty=tuple(change["difficulty"]),
    )
    return runs.train_schedules(
        {name: SCHEDULE_RUNS[name] for name in (SCHEDULE_RUNS if names is None else names)},
        train_set,
        val_set,
        change["num_epochs"],
        change["milestones"],
        batch_size=change["batch_size"],
        seed=seed,
        device=device,
        progress=progress,
    )


def schedule_results(
    mode: str,
    results_dir: str | Path,
    recompute: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> tuple[dict[str, dict[str, Any]], str]:
    """The runs of :data:`SCHEDULE_RUNS` in the ``mode`` budget, cached or recorded if possible.

    Returns:
        ``(run name → {"epochs": epoch records, "seconds": training time}, source)``.
    """
    return cached(
        Path(results_dir) / "schedules.json",
        schedule_settings(mode, seed),
        lambda: train_schedule_runs(mode, seed=seed, device=device, progress=progress),
        recompute,
        recorded=RECORDED_DIR / mode / "schedules.json",
    )


def block_results(
    mode: str,
    results_dir: str | Path,
    recompute: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> tuple[dict[str, dict[str, Any]], str]:
    """The four units of Fig. 10 trained as classifiers in the ``mode`` budget
    (:func:`.blocks.train_block_comparison`).

    Returns:
        ``(unit name → {"epochs", "parameters", "seconds"}, source)``.
    """
    _check_mode(mode)
    classify = CLASSIFY_BUDGETS[mode]

    def compute() -> dict[str, dict[str, Any]]:
        train_patches = blocks.dominant_class_patches(classify["n_train"], seed=seed)
        val_patches = blocks.dominant_class_patches(classify["n_val"], seed=seed + 1)
        return blocks.train_block_comparison(
            train_patches,
            val_patches,
            classify["num_epochs"],
            channels=classify["channels"],
            seed=seed,
            device=device,
            progress=progress,
        )

    return cached(
        Path(results_dir) / "fig10_blocks.json",
        {"classify": classify, "seed": seed},
        compute,
        recompute,
        recorded=RECORDED_DIR / mode / "fig10_blocks.json",
    )


def describe_source(source: str, results_dir: str | Path) -> str:
    """Where results came from, for the notebook to print: a ``source`` of :func:`.cache.cached`."""
    return {
        "cache": f"read from this notebook's cache ({results_dir})",
        "recorded": "recorded by scripts/record_figure_runs.py with these settings",
        "computed": "trained in this run",
    }[source]
