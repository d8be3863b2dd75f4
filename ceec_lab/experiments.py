"""Small, repeatable experiments shared by the notebooks and the benchmarks.

A notebook cell that compares five models should read like the comparison,
not like a training loop: :func:`train_model` builds the loaders, trains with
the :class:`~ceec_lab.train.Trainer` and times it; :func:`results_table` turns
several runs into a table (:func:`ceec_lab.viz.plot_histories`, into a figure).

The recipes, :func:`train_change_baseline` on a :class:`ChangeBenchmark` and
:func:`train_ceecnet`, write their run down as the command line's config
(:mod:`ceec_lab.train.config`) and build it with the same builders
(:mod:`ceec_lab.train.runs`): data, augmentation, model, loss and schedule are
made in one place. The benchmarks' settings are YAML presets in
``configs/benchmarks/`` (:func:`benchmark_config`).
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

from ceec_lab.losses import create_loss
from ceec_lab.models.pretrained import SHIPPED_BASELINES, load_pretrained
from ceec_lab.settings import PROJECT_ROOT
from ceec_lab.train import History, Trainer
from ceec_lab.train.config import (
    DataConfig,
    ExperimentConfig,
    LossConfig,
    ModelConfig,
    TrainConfig,
    load_config,
)
from ceec_lab.train.runs import Experiment, build_datasets, make_loaders, make_trainer, prepare

#: The benchmark presets (in a checkout of the kit, beside the model configs).
BENCHMARK_PRESETS = PROJECT_ROOT / "configs" / "benchmarks"


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

    def describe(self) -> str:
        """Where the weights come from, in one line: trained here (how long) or shipped
        (on what data, for how long: the record stored with the weights)."""
        if not self.shipped:
            return f"{self.name}: trained here, {self.seconds:.0f} s"
        data = self.model.pretrained_info["data"]
        return (
            f"{self.name}: shipped weights, trained on {data['n_train']} samples of "
            f"{data['size']}², {data['num_epochs']} epochs, batch {data['batch_size']}, "
            f"lr {data['lr']}"
        )


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
        num_epochs, batch_size: the usual.
        seed: seeds the trainer and the order of the training batches.
        progress: tqdm progress bars.
        **trainer_kwargs: passed on to :class:`~ceec_lab.train.Trainer` (``lr``,
            ``callbacks``, ``num_classes``, ``device``, ``amp`` ...).
    """
    trainer = Trainer(model, loss_fn, seed=seed, progress=progress, **trainer_kwargs)
    return _fit(name, trainer, make_loaders(train_set, val_set, batch_size, seed), num_epochs)


def train_experiment(
    name: str,
    experiment: Experiment,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
    **trainer_kwargs: Any,
) -> RunResult:
    """Train an experiment of :func:`~ceec_lab.train.runs.prepare` as its config says.

    The trainer is the command line's (:func:`~ceec_lab.train.runs.make_trainer`); the
    training batches are shuffled by ``train.seed``, so a run repeats exactly.

    Args:
        name: label of the run in tables and legends.
        callbacks: more callbacks, after the config's schedule (e.g. a live plot).
        **trainer_kwargs: :class:`~ceec_lab.train.Trainer` arguments that replace the
            config's (``device`` ...).
    """
    trainer = make_trainer(experiment, progress=progress, callbacks=callbacks, **trainer_kwargs)
    train = experiment.config.train
    return _fit(name, trainer, experiment.loaders(seed=train.seed), train.num_epochs)


def _fit(
    name: str, trainer: Trainer, loaders: tuple[DataLoader, DataLoader | None], num_epochs: int
) -> RunResult:
    """Fit ``trainer``, timed; the metrics are the last epoch's validation ones."""
    start = time.perf_counter()
    history = trainer.fit(*loaders, num_epochs=num_epochs)
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
    """A Markdown table of the runs' final validation metrics ``keys`` (percent) and training
    wall time ("–" for shipped weights: nothing was trained here)."""
    rows = [
        {"model": r.name, **r.metrics, "time (s)": None if r.shipped else r.seconds}
        for r in results
    ]
    return markdown_table(rows, [*keys, "time (s)"])


def benchmark_config(name: str) -> ExperimentConfig:
    """The benchmark preset ``configs/benchmarks/<name>.yaml``.

    Args:
        name: ``"change-quick"`` and ``"segmentation-quick"`` train on a 2-core CPU in
            minutes; ``"change-full"`` and ``"segmentation-full"`` are meant for a GPU.
    """
    path = BENCHMARK_PRESETS / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in BENCHMARK_PRESETS.glob("*.yaml")))
        raise ValueError(f"unknown benchmark preset {name!r}; choose one of: {known}")
    return load_config(path)


@dataclass(frozen=True, kw_only=True)
class ChangeBenchmark:
    """A fixed synthetic change-detection benchmark: sizes, seeds, loss and training budget.

    ``loss`` trains the learned models (a :func:`~ceec_lab.losses.create_loss` name). Change
    pixels are about 3 % of a synthetic pair, and with plain cross-entropy a small network
    often settles on "nothing changed" within a short budget (which seeds do depends on
    the initial weights). ``change_weight`` is the remedy of Daudt et al. (2018), whose
    FC-EF/FC-Siam networks these are: cross-entropy with the change class weighted up.
    Measured on 256 pairs of 64², 8 epochs: with weight 1, FC-EF ended on all background
    for two seeds out of three; with weight 10 it learned.

    A model's run on the benchmark is a config (:meth:`config`), built like any other
    by :func:`~ceec_lab.train.runs.prepare`; the benchmarks' own settings are presets
    (:meth:`preset`). Difficulty, batch size, lr and seed default to the configs' defaults.
    """

    size: int
    n_train: int
    n_val: int
    difficulty: float | tuple[float, float] = DataConfig.difficulty
    num_epochs: int
    batch_size: int = DataConfig.batch_size
    lr: float = TrainConfig.lr
    train_seed: int = DataConfig.seed  # the training pairs and the initial weights
    loss: str = "ce"
    change_weight: float = 10.0  # cross-entropy weight of the change class (background: 1)

    @property
    def val_seed(self) -> int:
        """The validation pairs' seed: ``train_seed + 1``, as in every config."""
        return self.train_seed + 1

    @classmethod
    def preset(cls, name: str) -> ChangeBenchmark:
        """The preset ``configs/benchmarks/change-<name>.yaml``: ``"quick"`` or ``"full"``."""
        return cls.from_config(benchmark_config(f"change-{name}"))

    @classmethod
    def from_config(cls, config: ExperimentConfig) -> ChangeBenchmark:
        """The benchmark a config describes (its model is left out: a benchmark has many)."""
        data, train, loss = config.data, config.train, config.loss
        weight = loss.kwargs.get("weight", [1.0, 1.0])
        level = (
            data.difficulty if isinstance(data.difficulty, int | float) else tuple(data.difficulty)
        )
        return cls(
            size=data.size,
            n_train=data.n_train,
            n_val=data.n_val,
            difficulty=level,
            num_epochs=train.num_epochs,
            batch_size=data.batch_size,
            lr=train.lr,
            train_seed=data.seed,
            loss=loss.name,
            change_weight=weight[1],
        )

    def config(
        self, model_name: str, difficulty: float | tuple[float, float] | None = None
    ) -> ExperimentConfig:
        """Registry model ``model_name`` trained on this benchmark (at ``difficulty``)."""
        train = TrainConfig(num_epochs=self.num_epochs, lr=self.lr, seed=self.train_seed)
        data = self._data(difficulty)
        return ExperimentConfig(ModelConfig(model_name), data, self._loss(model_name), train)

    def datasets(
        self, difficulty: float | tuple[float, float] | None = None, multitask: bool = False
    ) -> tuple[Dataset, Dataset]:
        """Training and validation pairs (different seeds, the same difficulty or range);
        ``multitask`` adds the boundary and distance targets CEECNet's loss needs."""
        return build_datasets(self._data(difficulty), multitask)

    def _data(self, difficulty: float | tuple[float, float] | None) -> DataConfig:
        level = self.difficulty if difficulty is None else difficulty
        return DataConfig(
            size=self.size,
            n_train=self.n_train,
            n_val=self.n_val,
            batch_size=self.batch_size,
            difficulty=_config_difficulty(level),
            seed=self.train_seed,
            cache=True,
        )

    def _loss(self, model_name: str) -> LossConfig:
        """The benchmark's loss, the change class weighted up when it is cross-entropy.

        Differencing + Otsu outputs probabilities and learns nothing: it is only
        evaluated, with the Tanimoto-with-complement loss (as in its own config).
        """
        if model_name == "differencing_otsu":
            return LossConfig("tanimoto_complement")
        if self.loss == "ce":
            return LossConfig("ce", {"weight": [1.0, self.change_weight]})
        return LossConfig(self.loss)


def _config_difficulty(difficulty: float | Sequence[float]) -> float | list[float]:
    """A difficulty as a config holds it: one level, or a ``[low, high]`` list."""
    return difficulty if isinstance(difficulty, int | float) else list(difficulty)


def train_change_baseline(
    name: str,
    benchmark: ChangeBenchmark,
    difficulty: float | tuple[float, float] | None = None,
    progress: bool = True,
    **trainer_kwargs: Any,
) -> RunResult:
    """Train registry model ``name`` on ``benchmark`` (at ``difficulty``) and evaluate it.

    Every run of a benchmark starts from the same seed: the same pairs, the same
    initial weights for the same model, the same order of batches.
    """
    experiment = prepare(benchmark.config(name, difficulty))
    return train_experiment(name, experiment, progress, **trainer_kwargs)


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
    style: str = "classic",
) -> tuple[Dataset, Dataset]:
    """Synthetic pairs with multitask targets for CEECNet, the paper's way (docs/paper_map.md).

    Training pairs are augmented (shared D4 geometry, per-date colour jitter,
    random time swap, 10 % no-change pairs); validation pairs are not. Images
    stay in [0, 1] (no normalisation), as the shipped tiny weights expect.
    """
    data = DataConfig(
        size=size,
        n_train=n_train,
        n_val=n_val,
        difficulty=_config_difficulty(difficulty),
        style=style,
        seed=seed,
        augment=True,
        cache=True,
    )
    return build_datasets(data, multitask=True)


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
    config = ExperimentConfig(
        model=ModelConfig(model_name, {"preset": preset, "norm": norm}),
        data=DataConfig(batch_size=batch_size),  # the data sets are given
        loss=LossConfig("multitask"),
        train=TrainConfig(
            num_epochs=num_epochs,
            schedule="paper",
            schedule_kwargs={"milestones": list(milestones)},
            seed=seed,
        ),
    )
    experiment = prepare(config, datasets=(train_set, val_set))
    return train_experiment(model_name, experiment, progress, callbacks, **trainer_kwargs)
