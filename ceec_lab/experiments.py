"""Small, repeatable experiments shared by the notebooks and the benchmarks.

A notebook cell that compares five models should read like the comparison,
not like a training loop: :func:`train_model` builds the loaders, trains with
the :class:`~ceec_lab.train.Trainer` and times it; :func:`results_table` turns
several runs into a table (:func:`ceec_lab.viz.plot_histories`, into a figure).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ceec_lab.data import SyntheticChangeDataset, change_augmentation
from ceec_lab.losses import SCHEDULE_PRESETS, EvolvingDepth, create_loss
from ceec_lab.models import create_model
from ceec_lab.models.pretrained import SHIPPED_BASELINES, load_pretrained
from ceec_lab.train import History, Trainer, seed_everything


@dataclass
class RunResult:
    """One trained model: its trainer, history, final validation metrics and wall time.

    ``shipped`` runs were not trained here: their weights came with the kit
    (:func:`load_shipped`), their history is empty and ``seconds`` is 0.
    """

    name: str
    trainer: Trainer
    history: History
    metrics: dict[str, float]
    seconds: float
    shipped: bool = False

    @property
    def model(self) -> nn.Module:
        return self.trainer.model


def make_loaders(
    train_set: Dataset, val_set: Dataset | None, batch_size: int, seed: int = 0
) -> tuple[DataLoader, DataLoader | None]:
    """Shuffled training loader (whole batches only: BatchNorm needs > 1 sample) and
    an ordered validation loader."""
    generator = torch.Generator().manual_seed(seed)
    drop_last = len(train_set) > batch_size
    train_loader = DataLoader(
        train_set, batch_size, shuffle=True, drop_last=drop_last, generator=generator
    )
    val_loader = None if val_set is None else DataLoader(val_set, batch_size)
    return train_loader, val_loader


def train_model(
    name: str,
    model: nn.Module,
    loss_fn: nn.Module,
    train_set: Dataset,
    val_set: Dataset | None,
    num_epochs: int,
    batch_size: int = 8,
    seed: int = 0,
    progress: bool = True,
    **trainer_kwargs: Any,
) -> RunResult:
    """Train ``model`` on ``train_set`` and evaluate it on ``val_set`` after every epoch.

    Args:
        name: label of the run in tables and legends.
        model, loss_fn: a kit model and a loss (see :class:`~ceec_lab.train.Trainer`).
        train_set, val_set: datasets of dict samples.
        num_epochs, batch_size, seed: the usual.
        progress: tqdm progress bars.
        **trainer_kwargs: passed on to :class:`~ceec_lab.train.Trainer` (``lr``,
            ``callbacks``, ``num_classes``, ``device``, ``amp`` ...).
    """
    train_loader, val_loader = make_loaders(train_set, val_set, batch_size, seed)
    trainer = Trainer(model, loss_fn, seed=seed, progress=progress, **trainer_kwargs)
    start = time.perf_counter()
    history = trainer.fit(train_loader, val_loader, num_epochs=num_epochs)
    seconds = time.perf_counter() - start
    last = history.epochs[-1] if history.epochs else {}
    metrics = {k.removeprefix("val_"): v for k, v in last.items() if k.startswith("val_")}
    return RunResult(name, trainer, history, metrics, seconds)


def markdown_table(
    rows: Iterable[dict[str, Any]], keys: Sequence[str], label: str = "model", percent: bool = True
) -> str:
    """A Markdown table: one line per row dict, its ``label`` entry first, then ``keys``.

    Metrics are shown in percent with one decimal (``percent=True``) or as fractions with
    four; a missing value shows as "–". A row that also holds ``"<key>_std"`` (see
    :func:`seed_summary`) shows ``mean ± std``.
    Display it in a notebook with ``IPython.display.Markdown(...)``.
    """

    def number(value: float, key: str) -> str:
        if key == "time (s)":
            return f"{value:.1f}"
        return f"{100 * value:.1f}" if percent else f"{value:.4f}"

    header = f"| {label} | " + " | ".join(keys) + " |"
    rule = "|---|" + "---:|" * len(keys)
    lines = []
    for row in rows:
        cells = []
        for key in keys:
            value = row.get(key)
            cell = "–" if value is None else number(value, key)
            if value is not None and row.get(f"{key}_std") is not None:
                cell += f" ± {number(row[f'{key}_std'], key)}"
            cells.append(cell)
        lines.append(f"| {row[label]} | " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *lines])


def seed_summary(
    runs: dict[str, Sequence[dict[str, float]]], keys: Sequence[str], label: str = "run"
) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of each run's metrics.

    One seed's result is a sample, not a finding: two losses whose means differ by
    less than their seed-to-seed spread have not been told apart.

    Args:
        runs: run name -> one metrics dict per seed.
        keys: the metrics to summarise.
        label: the key of the run name in the returned rows.

    Returns:
        One row per run: ``{label: name, "seeds": n, key: mean, "<key>_std": std}``
        (the sample standard deviation; 0 for a single seed).
    """
    rows = []
    for name, per_seed in runs.items():
        row: dict[str, Any] = {label: name, "seeds": len(per_seed)}
        for key in keys:
            values = np.array([metrics[key] for metrics in per_seed], dtype=np.float64)
            row[key] = float(values.mean())
            row[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def separated_pairs(
    rows: Sequence[dict[str, Any]], key: str, label: str = "run"
) -> list[tuple[str, str, float]]:
    """The pairs of runs whose mean ``key`` differ by more than their two spreads added.

    A deliberately simple rule a student can check by eye in the table (means
    more than ``std_a + std_b`` apart), not a significance test.

    Args:
        rows: from :func:`seed_summary`.

    Returns:
        ``(better, worse, difference)`` triples, largest difference first.
    """
    pairs = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            better, worse = (a, b) if a[key] >= b[key] else (b, a)
            gap = better[key] - worse[key]
            if gap > better[f"{key}_std"] + worse[f"{key}_std"]:
                pairs.append((better[label], worse[label], gap))
    return sorted(pairs, key=lambda pair: -pair[2])


def results_table(results: Iterable[RunResult], keys: Sequence[str]) -> str:
    """A Markdown table of the runs' final validation metrics ``keys`` (percent) and wall time."""
    rows = [{"model": r.name, **r.metrics, "time (s)": r.seconds} for r in results]
    return markdown_table(rows, [*keys, "time (s)"])


@dataclass(frozen=True)
class ChangeBenchmark:
    """A fixed synthetic change-detection benchmark: sizes, seeds, loss and training budget.

    ``loss`` trains the learned models (a :func:`~ceec_lab.losses.create_loss` name). Change
    pixels are about 3 % of a synthetic pair, and with plain cross-entropy a small network
    often settles on "nothing changed" within a short budget (which seeds do depends on
    the initial weights). ``change_weight`` is the remedy of Daudt et al. (2018), whose
    FC-EF/FC-Siam networks these are: cross-entropy with the change class weighted up.
    Measured on this benchmark's lab sizes (256 pairs of 64², 8 epochs): with weight 1,
    FC-EF ended on all background for two seeds out of three; with weight 10 it learned.
    """

    size: int = 64
    n_train: int = 128
    n_val: int = 32
    difficulty: float = 0.5
    num_epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-3
    train_seed: int = 0
    val_seed: int = 1
    loss: str = "ce"
    change_weight: float = 10.0  # cross-entropy weight of the change class (background: 1)

    def datasets(
        self, difficulty: float | tuple[float, float] | None = None, multitask: bool = False
    ) -> tuple[Dataset, Dataset]:
        """Training and validation pairs (different seeds, the same difficulty or range);
        ``multitask`` adds the boundary and distance targets CEECNet's loss needs."""
        level = self.difficulty if difficulty is None else difficulty
        common = {"size": self.size, "difficulty": level, "multitask": multitask, "cache": True}
        return (
            SyntheticChangeDataset(self.n_train, seed=self.train_seed, **common),
            SyntheticChangeDataset(self.n_val, seed=self.val_seed, **common),
        )


#: ``quick`` runs on a 2-core CPU in minutes; ``full`` is meant for a GPU.
CHANGE_BENCHMARKS = {
    "quick": ChangeBenchmark(),
    "full": ChangeBenchmark(size=256, n_train=2000, n_val=200, num_epochs=30, batch_size=16),
}


def benchmark_loss(benchmark: ChangeBenchmark, model: nn.Module) -> nn.Module:
    """The loss ``model`` trains with on ``benchmark``.

    The benchmark's loss on logits (LSNet's too), with the change class weighted by
    ``benchmark.change_weight`` when it is cross-entropy; a model that outputs
    probabilities (differencing + Otsu, which is only evaluated) is scored with the
    Tanimoto-with-complement loss.
    """
    if model.output not in ("logits", "logits_features"):
        return create_loss("tanimoto_complement")
    if benchmark.loss == "ce":
        return create_loss("ce", weight=torch.tensor([1.0, benchmark.change_weight]))
    return create_loss(benchmark.loss)


def train_change_baseline(
    name: str,
    benchmark: ChangeBenchmark,
    difficulty: float | tuple[float, float] | None = None,
    progress: bool = True,
    **trainer_kwargs: Any,
) -> RunResult:
    """Train registry model ``name`` on ``benchmark`` (at ``difficulty``) and evaluate it."""
    train_set, val_set = benchmark.datasets(difficulty)
    seed_everything(benchmark.train_seed)  # the same initial weights on every run
    model = create_model(name)
    loss = benchmark_loss(benchmark, model)
    return train_model(
        name,
        model,
        loss,
        train_set,
        val_set,
        num_epochs=benchmark.num_epochs,
        batch_size=benchmark.batch_size,
        lr=benchmark.lr,
        progress=progress,
        **trainer_kwargs,
    )


def nuisance_sweep(
    model_names: Sequence[str],
    difficulties: Sequence[float],
    benchmark: ChangeBenchmark,
    progress: bool = True,
    use_shipped: bool = False,
    **trainer_kwargs: Any,
) -> tuple[list[dict[str, Any]], list[RunResult]]:
    """Train each model once on pairs of mixed nuisance, then test it at every level.

    Training pairs draw their difficulty from the whole range of ``difficulties``;
    each level is then scored on validation pairs of exactly that difficulty.

    Args:
        use_shipped: load the shipped weights (:data:`SHIPPED_BASELINES`) of the models
            that have them instead of training them here.

    Returns:
        ``rows``: one per (model, difficulty), ``{"model", "difficulty", **metrics}``;
        ``results``: the trained (or loaded) runs, one per model.
    """
    levels = (min(difficulties), max(difficulties))
    rows, results = [], []
    for name in model_names:
        if use_shipped and name in SHIPPED_BASELINES:
            result = load_shipped(name, trainer_kwargs.get("device", "cpu"))
        else:
            result = train_change_baseline(name, benchmark, levels, progress, **trainer_kwargs)
        results.append(result)
        rows += evaluate_across_difficulties(result.trainer, name, difficulties, benchmark)
    return rows, results


def load_shipped(
    name: str, device: str | torch.device = "cpu", val_set: Dataset | None = None
) -> RunResult:
    """Registry model ``name`` with its shipped weights (:data:`SHIPPED_BASELINES`).

    Args:
        name: a registry model with shipped weights, e.g. ``"fc_siam_diff"``.
        device: where the model runs.
        val_set: when given, ``metrics`` are measured on it (as :func:`train_model`'s
            are); otherwise they are the validation numbers recorded with the weights.
            ``model.pretrained_info`` says how the weights were trained.
    """
    model = load_pretrained(SHIPPED_BASELINES[name], device=str(device))
    num_classes = model.pretrained_info["model_kwargs"].get("num_classes", 2)
    trainer = Trainer(
        model, create_loss("ce"), num_classes=num_classes, device=device, progress=False
    )
    metrics = model.pretrained_info["metrics"]
    if val_set is not None:
        metrics = trainer.evaluate(DataLoader(val_set, batch_size=8))
    return RunResult(name, trainer, History(), metrics, 0.0, shipped=True)


def evaluate_across_difficulties(
    trainer: Trainer, name: str, difficulties: Sequence[float], benchmark: ChangeBenchmark
) -> list[dict[str, Any]]:
    """Validation metrics of ``trainer``'s model on ``benchmark``'s pairs at each nuisance level.

    Returns:
        One row per difficulty: ``{"model": name, "difficulty", **metrics}``.
    """
    rows = []
    for difficulty in difficulties:
        _, val_set = benchmark.datasets(difficulty, multitask=trainer.output == "multitask")
        metrics = trainer.evaluate(DataLoader(val_set, benchmark.batch_size))
        rows.append({"model": name, "difficulty": difficulty, **metrics})
    return rows


def mean_over_difficulties(rows: Iterable[dict[str, Any]], metric: str = "f1") -> dict[str, float]:
    """Each model's ``metric`` averaged over the nuisance levels of a sweep's rows.

    Args:
        rows: as :func:`nuisance_sweep` or :func:`evaluate_across_difficulties` return.
        metric: the key to average.

    Returns:
        ``{model: mean}``, in the order the models first appear.
    """
    values: dict[str, list[float]] = {}
    for row in rows:
        values.setdefault(row["model"], []).append(row[metric])
    return {model: sum(v) / len(v) for model, v in values.items()}


def ceecnet_datasets(
    n_train: int,
    n_val: int,
    size: int,
    seed: int = 0,
    difficulty: float | tuple[float, float] = (0.0, 1.0),
) -> tuple[Dataset, Dataset]:
    """Synthetic pairs with multitask targets for CEECNet, the paper's way (docs/paper_map.md).

    Training pairs are augmented (shared D4 geometry, per-date colour jitter,
    random time swap, 10 % no-change pairs); validation pairs are not. Images
    stay in [0, 1] (no normalisation), as the shipped tiny weights expect.
    """
    augment = change_augmentation(seed=seed)
    common = {"multitask": True, "cache": True}
    train_set = SyntheticChangeDataset(n_train, size, seed, difficulty, transform=augment, **common)
    val_set = SyntheticChangeDataset(n_val, size, seed + 1, difficulty, **common)
    return train_set, val_set


def train_ceecnet(
    train_set: Dataset,
    val_set: Dataset | None,
    num_epochs: int,
    milestones: Sequence[int],
    model_name: str = "ceecnet_v1",
    preset: str = "ceecnet-tiny",
    norm: str = "group",
    batch_size: int = 8,
    seed: int = 0,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
    **trainer_kwargs: Any,
) -> RunResult:
    """Train a CEECNet-family model with the multitask loss and the paper's evolving depth.

    The depth/lr schedule is the paper's (lr 1e-3, D 0) → (1e-4, 10) → (1e-5, 20),
    switching after the given epochs (``milestones``, two of them). GroupNorm is
    the paper's choice for change detection. ``seed`` fixes the initial weights too.
    """
    seed_everything(seed)
    model = create_model(model_name, preset=preset, norm=norm)
    schedule = EvolvingDepth(SCHEDULE_PRESETS["paper"], milestones=list(milestones))
    return train_model(
        model_name,
        model,
        create_loss("multitask"),
        train_set,
        val_set,
        num_epochs=num_epochs,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
        callbacks=[schedule, *callbacks],
        **trainer_kwargs,
    )
