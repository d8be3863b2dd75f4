"""The builders of ceec_lab.train.runs as the notebook recipes use them too."""

from __future__ import annotations

import math

import pytest
import torch

from ceec_lab.data import SyntheticChangeDataset
from ceec_lab.losses import EvolvingDepth
from ceec_lab.train.config import DataConfig, ExperimentConfig, load_config
from ceec_lab.train.runs import build_datasets, make_loaders, make_trainer, prepare

TINY = {"size": 32, "n_train": 6, "n_val": 2, "batch_size": 4}


def config(**sections) -> ExperimentConfig:
    return ExperimentConfig.from_dict({"data": TINY, **sections})


def test_class_weights_from_yaml_reach_the_cross_entropy(tmp_path) -> None:
    path = tmp_path / "weighted.yaml"
    path.write_text("loss:\n  name: ce\n  kwargs: {weight: [1.0, 10.0]}\n")
    experiment = prepare(load_config(path, [f"data.{k}={v}" for k, v in TINY.items()]))
    assert torch.equal(experiment.loss_fn.weight, torch.tensor([1.0, 10.0]))
    # Both pixels predicted "no change" by a margin of 2: the no-change pixel costs
    # log(1 + e^-2), the change pixel log(1 + e^2) and counts 10 times.
    logits = torch.tensor([2.0, 2.0, 0.0, 0.0]).view(1, 2, 1, 2)
    mask = torch.tensor([[[0, 1]]])
    right, wrong = math.log(1 + math.exp(-2)), math.log(1 + math.exp(2))
    expected = (right + 10 * wrong) / 11  # unweighted: (right + wrong) / 2 = 1.13
    assert experiment.loss_fn(logits, mask).item() == pytest.approx(expected)  # 1.95


def test_difficulty_range_and_cache_reach_the_synthetic_pairs(monkeypatch) -> None:
    from ceec_lab.data import datasets

    made = []
    make_pair = datasets.make_change_pair
    monkeypatch.setattr(datasets, "make_change_pair", lambda *a: made.append(a) or make_pair(*a))
    data = DataConfig(**TINY, difficulty=[0.25, 0.75], cache=True)
    train_set, val_set = build_datasets(data, multitask=False)
    levels = [train_set.difficulty_of(i) for i in range(len(train_set))]
    assert all(0.25 <= level <= 0.75 for level in levels) and len(set(levels)) > 1
    assert torch.equal(train_set[0]["mask"], train_set[0]["mask"])
    assert len(made) == 1  # generated once, then kept
    assert val_set.seed == data.seed + 1


def test_a_config_takes_a_difficulty_range() -> None:
    assert config(data={**TINY, "difficulty": [0.0, 1.0]}).data.difficulty == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"data.difficulty must be in \[0, 1\]"):
        config(data={**TINY, "difficulty": [0.5, 2.0]})


def test_seeded_loaders_repeat_whatever_was_drawn_before() -> None:
    pairs = SyntheticChangeDataset(10, 32)

    def order(seed: int | None, draws_before: int) -> list[int]:
        torch.manual_seed(0)
        torch.rand(draws_before)
        train_loader, val_loader = make_loaders(pairs, pairs, 4, seed)
        assert val_loader.batch_size == 4 and train_loader.drop_last  # 10 = 4 + 4 + 2
        return list(train_loader.sampler)

    assert order(seed=3, draws_before=0) == order(seed=3, draws_before=5)
    assert order(seed=None, draws_before=0) != order(seed=None, draws_before=5)  # global RNG
    assert (
        not make_loaders(pairs, None, 16)[0].drop_last and make_loaders(pairs, None, 16)[1] is None
    )


def test_prepare_takes_data_sets_built_elsewhere() -> None:
    given = SyntheticChangeDataset(3, 32, seed=7), SyntheticChangeDataset(2, 32, seed=8)
    experiment = prepare(config(), datasets=given)
    assert (experiment.train_set, experiment.val_set) == given


def test_prepare_seeds_the_initial_weights() -> None:
    first, second = (prepare(config(train={"seed": 5})).model for _ in range(2))
    other = prepare(config(train={"seed": 6})).model
    weights = [next(m.parameters()) for m in (first, second, other)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_make_trainer_adds_callbacks_after_the_schedule_and_takes_overrides() -> None:
    paper = config(
        model={"name": "ceecnet_v1", "kwargs": {"preset": "ceecnet-tiny"}},
        loss={"name": "multitask"},
        train={"schedule": "paper", "schedule_kwargs": {"milestones": [1, 2]}, "lr": 0.5},
    )
    live_plot = object()
    trainer = make_trainer(prepare(paper), progress=False, callbacks=[live_plot], device="cpu")
    schedule, extra = trainer.callbacks
    assert isinstance(schedule, EvolvingDepth) and schedule.milestones == [1, 2]
    assert extra is live_plot and trainer.device == torch.device("cpu")
