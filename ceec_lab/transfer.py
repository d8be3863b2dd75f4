"""From synthetic scenes to real imagery: fine-tuning on a few labelled pairs (notebook 07).

A model trained on the kit's synthetic scenes meets real LEVIR-CD pairs with a
*domain gap*: other colours, textures, object sizes and kinds of nuisance. With a
handful of labelled real pairs there are three ways to go, and this module runs
them side by side under one protocol:

* **zero-shot**: the synthetic weights as they are;
* **fine-tuned**: the synthetic weights trained further on the real pairs, with the
  paired augmentation of :mod:`ceec_lab.data.augment` (random crops, shared D4
  geometry, per-date colour jitter, time swap, no-change pairs);
* **from scratch**: the same network and recipe from random weights;

next to differencing + Otsu, which needs no labels at all.

With eleven pairs there is no separate test set to spare, so every method is
scored by **leave-some-out** (k-fold cross-validation, :func:`leave_some_out_folds`):
the pairs are split into ``k`` folds, each fold is predicted by a model trained on
the other folds only, and the metrics pool every held-out pixel. No pair is ever
scored by a model that trained on it.

The networks run at half resolution inside the model
(:class:`~ceec_lab.models.rescaled.Rescaled`): LEVIR-CD houses then cover a quarter of
their pixels, closer to the size of the synthetic houses the network was pre-trained
on (notebook 07 measures both), and each training step costs a quarter.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, Subset
from tqdm.auto import tqdm

from ceec_lab.data.augment import ChangeAugmentation
from ceec_lab.data.datasets import ChangeFolderDataset
from ceec_lab.experiments import RunResult, train_model
from ceec_lab.losses import create_loss
from ceec_lab.metrics import change_metrics
from ceec_lab.models.pretrained import load_pretrained
from ceec_lab.models.registry import create_model
from ceec_lab.models.rescaled import Rescaled
from ceec_lab.settings import find_levircd_samples
from ceec_lab.train.inference import predict_probs

#: The network of this lesson: the tiny CEECNet V1 of ``"ceecnet-tiny-synthetic"``.
TINY_KWARGS = {"preset": "ceecnet-tiny", "norm": "group"}
#: The methods :func:`leave_some_out` compares, in table order.
METHODS = ("differencing + Otsu", "zero-shot", "fine-tuned", "from scratch")
#: The methods that train on the real pairs.
LEARNERS = ("fine-tuned", "from scratch")


@dataclass(frozen=True)
class Recipe:
    """How a network is trained on the real pairs (fine-tuned or from scratch).

    ``epochs`` of ``steps_per_epoch`` Adam steps, each on ``batch_size`` random
    ``crop``×``crop`` crops (at the input resolution) of the paired augmentation,
    whose per-date colour jitter has probability ``photometric``; the learning rate
    drops tenfold for the last epoch. The loss is the multitask loss at depth 0
    (Tanimoto with complement), the first stage of the paper's evolving loss.
    """

    epochs: int = 4
    steps_per_epoch: int = 15
    batch_size: int = 8
    crop: int = 128
    lr: float = 1e-3
    photometric: float = 0.8
    scale: float = 0.5  # the resolution the network works at (Rescaled)

    def __post_init__(self) -> None:
        for name in ("epochs", "steps_per_epoch", "batch_size", "crop"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Recipe.{name} must be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"Recipe.lr must be > 0, got {self.lr!r}")

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The recipe of the shipped ``"ceecnet-tiny-levir-samples"`` weights.
SHIPPED_RECIPE = Recipe(steps_per_epoch=40)


def add_leave_some_out_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the scripts that run :func:`leave_some_out`: ``--root``, ``--folds``,
    the recipe (defaults: :data:`SHIPPED_RECIPE`) and ``--seed``; see :func:`recipe_of`."""
    parser.add_argument("--root", type=Path, default=None, help="LEVIR-CD style folder")
    parser.add_argument("--folds", type=int, default=4)
    for name in ("epochs", "steps_per_epoch", "batch_size", "crop"):
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, default=getattr(SHIPPED_RECIPE, name))
    parser.add_argument("--seed", type=int, default=0)


def samples_root(parser: argparse.ArgumentParser, root: Path | None) -> Path:
    """``root`` (a script's ``--root``), else the course's LEVIR-CD samples
    (:func:`~ceec_lab.settings.find_levircd_samples`); a usage error if neither is there."""
    root = root or find_levircd_samples()
    if root is None:
        parser.error("no LEVIR-CD samples found: pass --root DIR (with A/, B/ and label/)")
    return root


def recipe_of(args: argparse.Namespace) -> Recipe:
    """The recipe the options of :func:`add_leave_some_out_arguments` ask for."""
    return replace(
        SHIPPED_RECIPE,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        crop=args.crop,
    )


class Repeat(Dataset):
    """``length`` samples drawn in turn from ``dataset``: with a random-crop transform
    on ``dataset``, every draw is a new crop, so a few pairs make a long epoch."""

    def __init__(self, dataset: Dataset, length: int) -> None:
        if len(dataset) == 0:
            raise ValueError("Repeat: the dataset is empty")
        self.dataset, self.length = dataset, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.dataset[index % len(self.dataset)]


def leave_some_out_folds(n: int, n_folds: int) -> list[tuple[list[int], list[int]]]:
    """``(train, test)`` index lists: fold ``k`` holds out every ``n_folds``-th pair from ``k``.

    Every index is held out exactly once; each training list holds the others.
    """
    if not 2 <= n_folds <= n:
        raise ValueError(f"n_folds must be in [2, {n}] for {n} pairs, got {n_folds!r}")
    folds = []
    for k in range(n_folds):
        test = list(range(k, n, n_folds))
        folds.append(([i for i in range(n) if i not in test], test))
    return folds


def tiny_ceecnet(pretrained: bool, scale: float = 0.5) -> Rescaled:
    """The tiny CEECNet V1 at ``scale`` of the input resolution: the shipped synthetic
    weights (``pretrained``) or a fresh initialisation of the same network."""
    if pretrained:
        return Rescaled(load_pretrained("ceecnet-tiny-synthetic"), scale)
    return Rescaled(create_model("ceecnet_v1", **TINY_KWARGS), scale)


def fine_tune(
    model: nn.Module,
    pairs: Dataset,
    recipe: Recipe,
    seed: int = 0,
    name: str = "fine-tuned",
    progress: bool = False,
    device: str = "cpu",
) -> RunResult:
    """Train ``model`` (multitask output) on ``pairs`` as ``recipe`` says.

    Args:
        pairs: change samples with multitask targets, each drawn as a new random
            crop by their transform (:func:`real_pairs` with a recipe).
        seed: seeds the trainer and the batch order.
    """
    last = [recipe.epochs - 1] if recipe.epochs > 1 else []
    return train_model(
        name,
        model,
        create_loss("multitask", depth=0),
        Repeat(pairs, recipe.steps_per_epoch * recipe.batch_size),
        None,
        num_epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        seed=seed,
        progress=progress,
        lr=recipe.lr,
        scheduler=lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, last, 0.1),
        device=device,
    )


def real_pairs(
    root: str | Path, recipe: Recipe | None = None, seed: int = 0
) -> ChangeFolderDataset:
    """The labelled real pairs in ``root`` (``A/``, ``B/``, ``label/``).

    Args:
        recipe: ``None``: the pairs as they are, for evaluation. A recipe: training
            samples, with multitask targets and the paired augmentation drawing a
            random ``recipe.crop``×``recipe.crop`` window on every access.
        seed: seeds the augmentation.
    """
    if recipe is None:
        return ChangeFolderDataset(root)
    augmentation = ChangeAugmentation(
        crop_size=recipe.crop, photometric=recipe.photometric, seed=seed
    )
    return ChangeFolderDataset(root, multitask=True, transform=augmentation)


@dataclass
class TransferResult:
    """What :func:`leave_some_out` measured.

    Attributes:
        rows: one dict per method: ``model``, the change-class ``precision``,
            ``recall``, ``f1``, ``iou``, ``mcc`` pooled over every held-out pixel, and
            ``time (s)``, the training time summed over the folds (``None``: no training).
        probabilities: method → one ``(H, W)`` change probability per pair, each
            predicted by the model of the fold that held the pair out.
        folds: the ``(train, test)`` indices of each fold.
        recipe: how the networks were trained.
    """

    rows: list[dict[str, Any]]
    probabilities: dict[str, list[Tensor]]
    folds: list[tuple[list[int], list[int]]]
    recipe: Recipe

    def row(self, method: str) -> dict[str, Any]:
        return next(row for row in self.rows if row["model"] == method)


def _fold_model(
    method: str,
    root: str | Path,
    train: list[int],
    recipe: Recipe,
    seed: int,
    start: nn.Module,
) -> nn.Module:
    """The model ``method`` uses for one fold, trained on the pairs ``train`` if it learns."""
    if method == "differencing + Otsu":
        return create_model("differencing_otsu")
    if method == "from scratch":
        model = tiny_ceecnet(pretrained=False, scale=recipe.scale)
    else:
        model = Rescaled(copy.deepcopy(start), recipe.scale)  # each fold starts afresh
    if method == "zero-shot":
        return model
    pairs = Subset(real_pairs(root, recipe, seed), train)
    return fine_tune(model, pairs, recipe, seed, name=method).model


def leave_some_out(
    root: str | Path,
    recipe: Recipe,
    n_folds: int = 4,
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    progress: bool = True,
    start: nn.Module | None = None,
) -> TransferResult:
    """Score ``methods`` on the real pairs in ``root`` by leave-some-out (k-fold).

    Fold ``k``'s networks are trained (with seed ``seed + k``) on the pairs of the
    other folds and predict the pairs of fold ``k``; every pair is predicted once.
    ``time (s)`` is ``None`` for the methods that do not train.

    Args:
        start: the pre-trained tiny CEECNet (full resolution, multitask output)
            that zero-shot and fine-tuned use; ``None``: the shipped synthetic
            weights. Each fold fine-tunes its own copy.
    """
    unknown = [method for method in methods if method not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    evaluation = real_pairs(root)
    start = load_pretrained("ceecnet-tiny-synthetic") if start is None else start
    folds = leave_some_out_folds(len(evaluation), n_folds)
    scores = {method: change_metrics() for method in methods}
    seconds = dict.fromkeys(methods, 0.0)
    probabilities: dict[str, list[Tensor]] = {
        m: [torch.empty(0)] * len(evaluation) for m in methods
    }
    bar = tqdm(total=len(folds) * len(methods), desc="leave-some-out", disable=not progress)
    for k, (train, test) in enumerate(folds):
        for method in methods:
            bar.set_postfix_str(f"fold {k + 1}/{len(folds)}: {method}")
            began = time.perf_counter()
            model = _fold_model(method, root, train, recipe, seed + k, start)
            seconds[method] += time.perf_counter() - began
            for i in test:
                pair = evaluation[i]
                probs = predict_probs(model, pair["image1"][None], pair["image2"][None])
                scores[method].update(probs, pair["mask"][None])  # probs (1, 2, H, W)
                probabilities[method][i] = probs[0, 1]
            bar.update()
    bar.close()
    rows = [
        {
            "model": method,
            **{name: value.item() for name, value in scores[method].compute().items()},
            "time (s)": seconds[method] if method in LEARNERS else None,
        }
        for method in methods
    ]
    return TransferResult(rows, probabilities, folds, recipe)
