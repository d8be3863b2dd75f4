"""Shared fixtures: headless matplotlib, one torch thread, quick mode, the LEVIR-CD samples."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("CEEC_LAB_QUICK", "1")
# One OpenMP thread per process, inherited by notebook kernels and subprocesses: the suite
# runs two workers on two cores, and oversubscribed OpenMP threads spin-wait each other
# into 30× slowdowns.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from ceec_lab.config import find_levircd_samples

torch.set_num_threads(1)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: pass --runslow to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def levircd_samples() -> Path:
    """The real LEVIR-CD sample folder; skips the test when it is not beside the project."""
    path = find_levircd_samples()
    if path is None:
        pytest.skip(
            "LEVIR-CD samples not found (expected ../shared/data/levircd_samples "
            "or $CEEC_LAB_LEVIRCD); they are never shipped with the project"
        )
    return path


@pytest.fixture
def fake_levircd(tmp_path: Path, levircd_samples: Path) -> Path:
    """A LEVIR-CD tree in ``tmp_path``: the shared sample pairs copied (never linked, so a
    test may damage them) into the split their names start with (3 train, 1 val, 7 test)."""
    import shutil

    root = tmp_path / "LEVIR-CD"
    for path in sorted((levircd_samples / "A").glob("*.png")):
        split = path.name.split("_")[0]
        for folder in ("A", "B", "label"):
            (root / split / folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(levircd_samples / folder / path.name, root / split / folder / path.name)
    return root
