"""benchmarks/baselines.py: every model trains on the settings of its benchmark preset."""

from __future__ import annotations

import pytest
import yaml

from ceec_lab.experiments import BENCHMARK_PRESETS


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("baselines")


def preset_data(name: str) -> dict:
    return yaml.safe_load((BENCHMARK_PRESETS / f"{name}.yaml").read_text())["data"]


def test_change_models_train_on_the_preset(script, monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(
        script, "train_change_baseline", lambda name, benchmark, **_: seen.append(benchmark)
    )
    script.run_change(script.ChangeBenchmark.preset("full"), "cpu")
    data = preset_data("change-full")
    assert len(seen) == len(script.CHANGE_MODELS)
    assert {(b.size, b.n_train, b.n_val, b.batch_size) for b in seen} == {
        (data["size"], data["n_train"], data["n_val"], data["batch_size"])
    }


def test_segmentation_models_train_on_the_preset(script, monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(script, "prepare", lambda config: config)
    monkeypatch.setattr(script, "train_experiment", lambda name, config, **_: seen.append(config))
    script.run_segmentation(script.benchmark_config("segmentation-quick"), "cpu")
    assert [config.model.name for config in seen] == script.SEGMENTATION_MODELS
    data = preset_data("segmentation-quick")
    assert {(c.data.kind, c.data.size, c.data.n_train) for c in seen} == {
        ("synthetic_segmentation", data["size"], data["n_train"])
    }
