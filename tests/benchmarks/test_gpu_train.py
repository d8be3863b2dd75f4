"""benchmarks/gpu_train.py: the batch search, the peak table and a tiny run on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ceec_lab.models import create_model

TINY = ["--device=cpu", "--size=16", "--warmup=1", "--steps=1"]


@pytest.fixture(scope="module")
def gpu_train(load_script):
    return load_script("gpu_train")


@pytest.fixture
def two_levels(gpu_train, monkeypatch):
    """A two-level CEECNet in place of the preset, so that a run (and compiling) is quick."""

    def small(name: str, preset: str, norm: str) -> torch.nn.Module:
        sizes = dict(depth=2, nfilters=16, nheads_start=2, psp_depth=1, attention_depth=2)
        return create_model(name, norm=norm, **sizes)

    monkeypatch.setattr(gpu_train, "create_model", small)


@pytest.mark.parametrize(
    ("largest", "limit", "expected"),
    [
        (37, 1024, 37),
        (5, 1024, 5),
        (8, 1024, 8),
        (0, 1024, 0),
        (5000, 1024, 1024),
        (100, 60, 60),
        (3, 4, 3),
    ],
)
def test_largest_batch_finds_the_boundary(gpu_train, largest, limit, expected) -> None:
    tried = []

    def fits(batch: int) -> bool:
        tried.append(batch)
        return batch <= largest

    assert gpu_train.largest_batch(fits, start=8, limit=limit) == expected
    assert all(1 <= b <= limit for b in tried)
    assert len(tried) <= 2 * (limit.bit_length() + 1)  # doubling, then bisection


@pytest.mark.parametrize(
    ("name", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", 989.4),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H200", 989.4),
        ("NVIDIA A100-SXM4-40GB", 312.0),
        ("NVIDIA L40S", 362.0),
        ("NVIDIA L4", 121.0),
        ("Tesla T4", None),
    ],
)
def test_peak_by_device_name(gpu_train, monkeypatch, name, peak) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    assert gpu_train.device_peak_tflops(torch.device("cuda")) == peak
    assert gpu_train.device_peak_tflops(torch.device("cuda"), override=50.0) == 50.0


def test_no_peak_known_for_a_cpu(gpu_train) -> None:
    assert gpu_train.device_peak_tflops(torch.device("cpu")) is None


def test_unknown_setting_is_refused(gpu_train) -> None:
    with pytest.raises(SystemExit):
        gpu_train.parse_args(["--settings=fp32,fp8"])


@pytest.mark.usefixtures("two_levels")
def test_cpu_run_measures_every_setting(gpu_train, tmp_path: Path, capsys) -> None:
    out = tmp_path / "gpu_train.json"
    args = [*TINY, "--batches=2,max", "--settings=fp32,bf16,bf16+cl", "--peak-tflops=1"]
    results = gpu_train.main([*args, f"--out={out}"])
    rows = results["rows"]
    expected = [(m, s) for m in ("ceecnet_v1", "ceecnet_v2") for s in ("fp32", "bf16", "bf16+cl")]
    assert [(r["model"], r["setting"]) for r in rows] == expected  # 'max' skipped on a CPU
    for row in rows:
        assert row["batch"] == 2 and row["pairs_per_s"] > 0 and row["peak_bytes"] is None
        assert row["mfu"] == pytest.approx(row["pairs_per_s"] * row["flops_per_pair"] / 1e12)
    v1, v2 = rows[0]["flops_per_pair"], rows[3]["flops_per_pair"]
    assert 0 < v1 < v2  # V2 adds Fusion units
    assert json.loads(out.read_text())["environment"]["torch"] == torch.__version__
    assert "| ceecnet_v2 | 2 | bf16+cl |" in capsys.readouterr().out


@pytest.mark.slow
def test_tiny_preset_runs_on_the_cpu(gpu_train) -> None:
    args = [*TINY, "--preset=ceecnet-tiny", "--size=32", "--batches=1"]
    rows = gpu_train.main([*args, "--compile-backend=aot_eager"])["rows"]
    assert len(rows) == 8 and all(r["pairs_per_s"] > 0 for r in rows)


@pytest.mark.slow  # tracing even a two-level CEECNet takes ~30 s; one unit compiles in
# tests/models/test_ceecnet_compile.py
@pytest.mark.usefixtures("two_levels")
def test_compile_setting_runs_with_a_cheap_backend(gpu_train) -> None:
    torch._dynamo.reset()
    args = [*TINY, "--models=ceecnet_v1", "--batches=2", "--settings=bf16+cl+compile"]
    (row,) = gpu_train.main([*args, "--compile-backend=aot_eager"])["rows"]
    assert row["setting"] == "bf16+cl+compile" and row["pairs_per_s"] > 0
