"""YAML configs: parsing, overrides, errors that name the key, and every shipped config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ceec_lab.data import ChangeAugmentation
from ceec_lab.train.config import (
    ConfigError,
    DataConfig,
    ExperimentConfig,
    apply_overrides,
    load_config,
)
from ceec_lab.train.runs import build_datasets, build_schedule, make_trainer, prepare

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
#: One config per model, named after it; ``*_paper.yaml`` configs reproduce a paper's run.
MODEL_CONFIGS = [path for path in CONFIGS if not path.stem.endswith("_paper")]
TINY = ["data.size=32", "data.n_train=4", "data.n_val=4", "data.batch_size=4"]


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_empty_config_gets_the_defaults():
    config = ExperimentConfig.from_dict({})
    assert config.model.name == "fc_siam_diff" and config.data.kind == "synthetic_change"
    assert config.train.num_epochs == 10 and config.train.lr == 1e-3


def test_overrides_are_read_as_yaml():
    raw = apply_overrides(
        {"train": {"num_epochs": 5}},
        ["train.num_epochs=2", "train.lr=1e-4", "train.grad_clip=null", "model.kwargs.width=8"],
    )
    config = ExperimentConfig.from_dict(raw)
    assert config.train.num_epochs == 2
    assert config.train.lr == 1e-4  # YAML reads "1e-4" as text; floats are converted
    assert config.train.grad_clip is None
    assert config.model.kwargs == {"width": 8}


def test_load_config_from_file(tmp_path: Path):
    path = write(tmp_path, {"model": {"name": "fc_ef"}, "train": {"lr": "2e-3"}})
    config = load_config(path, ["data.batch_size=2"])
    assert (config.model.name, config.train.lr, config.data.batch_size) == ("fc_ef", 2e-3, 2)
    assert ExperimentConfig.from_dict(config.to_dict()) == config  # round trip


@pytest.mark.parametrize(
    ("raw", "overrides", "match"),
    [
        ({"optimiser": {}}, [], "unknown key optimiser"),
        ({"train": {"epochs": 3}}, [], "unknown key train.epochs"),
        ({"model": {"width": 8}}, [], "arguments go under kwargs"),
        ({}, ["model.name=resnet9000"], "model.name: unknown value 'resnet9000'; choose one of"),
        ({}, ["loss.name=l2"], "loss.name: unknown value 'l2'"),
        ({}, ["data.kind=tiff"], "data.kind"),
        ({}, ["data.batch_size=0"], "data.batch_size must be >= 1"),
        ({}, ["data.batch_size=2.5"], "data.batch_size: expected int, got float"),
        ({}, ["train.lr=fast"], "train.lr: expected float, got str"),
        ({}, ["train.lr=-1"], "train.lr must be > 0"),
        ({}, ["train.amp=half"], "train.amp"),
        ({}, ["train.schedule=linear"], "train.schedule"),
        ({}, ["data.difficulty=2"], r"data.difficulty must be in \[0, 1\], got 2"),
        ({}, ["data.kind=folder"], "data.path is required"),
        ({}, ["num_epochs=3"], "expected section.key=value"),
        ({"data": [1, 2]}, [], "data: expected a mapping"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, raw, overrides, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config(write(tmp_path, raw), overrides)
    assert str(tmp_path / "config.yaml") in str(info.value)  # and the file


def test_missing_file_and_bad_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("path", MODEL_CONFIGS, ids=[p.stem for p in MODEL_CONFIGS])
def test_every_shipped_config_builds(path: Path):
    config = load_config(path, TINY)
    assert config.model.name == path.stem  # one config per model, named after it
    experiment = prepare(config)
    trainer = make_trainer(experiment, progress=False)
    batch = next(iter(experiment.train_set))
    assert batch["mask"].shape == (32, 32)
    if config.train.schedule == "paper":
        assert "boundary" in batch and hasattr(trainer.loss_fn, "depth")


BENCHMARK_PRESETS = sorted((CONFIGS[0].parent / "benchmarks").glob("*.yaml"))


@pytest.mark.parametrize("path", BENCHMARK_PRESETS, ids=[p.stem for p in BENCHMARK_PRESETS])
def test_every_benchmark_preset_builds(path: Path):
    experiment = prepare(load_config(path, TINY))
    assert experiment.config.data.cache and experiment.config.data.kind.startswith("synthetic")
    make_trainer(experiment, progress=False)


def change_config(**sections) -> ExperimentConfig:
    raw = apply_overrides({}, TINY)
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return ExperimentConfig.from_dict(raw)


@pytest.mark.parametrize(
    ("sections", "match"),
    [
        ({"model": {"name": "unet"}}, "'unet' is a segmentation model but data.kind"),
        ({"model": {"name": "fc_ef", "kwargs": {"widht": 3}}}, "model.kwargs for 'fc_ef'"),
        ({"model": {"name": "fc_ef", "kwargs": {"num_classes": 3}}}, "num_classes=3"),
        ({"loss": {"name": "ce", "kwargs": {"depth": 3}}}, "loss.kwargs for 'ce'"),
        ({"loss": {"name": "multitask"}}, "'multitask' needs a model returning"),
        ({"loss": {"name": "lsnet_hybrid"}}, "'lsnet_hybrid' needs the two dates' features"),
        (
            {"model": {"name": "fractal_resnet", "kwargs": {"preset": "ceecnet-tiny"}}},
            "use loss name 'multitask'",
        ),
        ({"data": {"kind": "folder", "path": "/no/such/folder"}}, "data.path: folder not found"),
    ],
)
def test_prepare_catches_mismatches_before_any_work(sections, match):
    with pytest.raises(ConfigError, match=match):
        prepare(change_config(**sections))


def test_paper_schedule_needs_a_loss_with_depth():
    experiment = prepare(change_config(train={"schedule": "paper"}))
    with pytest.raises(ConfigError, match="'paper' changes the loss depth"):
        make_trainer(experiment)


def test_schedules():
    train = change_config(train={"schedule": "cosine", "num_epochs": 4}).train
    factory, callbacks = build_schedule(train)
    assert callbacks == [] and callable(factory)
    paper = change_config(train={"schedule": "paper", "schedule_kwargs": {"milestones": [2, 4]}})
    _, (evolving,) = build_schedule(paper.train)
    assert evolving.milestones == [2, 4]
    with pytest.raises(ConfigError, match="schedule_kwargs given but"):
        build_schedule(change_config(train={"schedule_kwargs": {"patience": 2}}).train)
    with pytest.raises(ConfigError, match="schedule_kwargs for 'paper'"):
        build_schedule(
            change_config(train={"schedule": "paper", "schedule_kwargs": {"x": 1}}).train
        )


def test_folder_data(tmp_path: Path):
    from ceec_lab.data import write_change_folder

    write_change_folder(tmp_path / "flat", 3, 32, 0, 0.5)
    experiment = prepare(change_config(data={"kind": "folder", "path": str(tmp_path / "flat")}))
    assert len(experiment.train_set) == len(experiment.val_set) == 3  # flat: one set for both
    assert set(experiment.train_set[0]) == {"image1", "image2", "mask"}


def test_augment_applies_the_reference_augmentation_to_training_pairs_only() -> None:
    train_set, val_set = build_datasets(DataConfig(size=32, n_train=4, n_val=2, augment=True), True)
    assert isinstance(train_set.transform, ChangeAugmentation) and val_set.transform is None
    assert train_set.transform.no_change > 0 and train_set.transform.time_swap > 0
    sample = train_set[0]
    assert sample["image1"].min() >= 0 and sample["boundary"].shape == (2, 32, 32)


def test_ceecnet_configs_use_group_norm_and_augmentation() -> None:
    for name in ("ceecnet_v1", "ceecnet_v2", "fractal_resnet"):
        config = load_config(CONFIGS[0].parent / f"{name}.yaml")
        assert config.model.kwargs["norm"] == "group" and config.data.augment
        assert config.loss.name == "multitask" and config.train.schedule == "paper"


def test_the_levircd_paper_config_has_the_papers_setting(fake_levircd: Path) -> None:
    path = CONFIGS[0].parent / "levircd_ceecnet_v1_paper.yaml"
    config = load_config(path)
    assert config.model.kwargs == {
        "preset": "ceecnet-d6nf32",
        "norm": "group",
        "attention_depth": 5,
    }
    assert (config.data.patch_size, config.data.patch_stride) == (256, 128)
    assert config.train.schedule == "paper" and config.loss.name == "multitask"
    assert (config.predict.window, config.predict.stride) == (256, 64)
    # builds on a LEVIR-CD tree (a tiny model here, to stay fast)
    config = load_config(path, [f"data.path={fake_levircd}", "model.kwargs.preset=ceecnet-tiny"])
    experiment = prepare(config)
    assert len(experiment.train_set) == 3 and len(experiment.val_set) == 1  # one 256² crop each
    sample = experiment.train_set[0]
    assert sample["mask"].shape == (256, 256) and sample["boundary"].shape == (2, 256, 256)
    assert hasattr(make_trainer(experiment, progress=False).loss_fn, "depth")


def test_predict_section_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"predict\.stride must be <= predict\.window=64"):
        ExperimentConfig.from_dict({"predict": {"window": 64, "stride": 65}})
    assert ExperimentConfig.from_dict({}).predict.stride is None  # window / 2
