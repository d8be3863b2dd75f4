"""Shared fixtures: headless matplotlib, one torch thread, quick mode, the LEVIR-CD samples,
the notebook runner of ``test_notebooks.py`` and ``test_solution_notebooks.py``, and a loader
for the scripts of ``benchmarks/`` and ``scripts/``."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("CEEC_LAB_QUICK", "1")
# One OpenMP thread per process, inherited by notebook kernels and subprocesses: the suite
# runs two workers on two cores, and oversubscribed OpenMP threads spin-wait each other
# into 30× slowdowns.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from ceec_lab.settings import find_levircd_samples

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


@pytest.fixture
def execute_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """A function that executes a notebook headless, top to bottom, in quick mode, and fails
    the test if any cell raised. Mark the test ``@pytest.mark.xdist_group("notebooks")``: one
    kernel at a time (see below)."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    monkeypatch.setenv("CEEC_LAB_QUICK", "1")
    monkeypatch.setenv("CEEC_LAB_MODE", "quick")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # no oversubscription (see the top of this file)

    def execute(path: Path) -> None:
        notebook = nbformat.read(path, as_version=4)
        # Kernels talk over Unix sockets in tmp_path, not TCP ports: two kernels started
        # at once on TCP can race for the same free ports, and a client then waits forever.
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
        client = NotebookClient(
            notebook, km=kernel, timeout=600, resources={"metadata": {"path": tmp_path}}
        )
        try:
            client.execute()
        finally:  # nbclient leaves a kernel it did not create running: 1-3 GB each
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
        errors = [
            output
            for cell in notebook.cells
            if cell.cell_type == "code"
            for output in cell.get("outputs", [])
            if output.get("output_type") == "error"
        ]
        assert not errors, json.dumps(errors, indent=1)[:2000]

    return execute


@pytest.fixture(scope="session")
def load_script() -> Iterator[Callable[..., ModuleType]]:
    """``load_script("baselines")`` imports ``benchmarks/baselines.py`` and returns it;
    ``load_script("record_figure_runs", "scripts")`` a script of ``scripts/``
    (neither folder is a package).

    The module is registered in ``sys.modules`` while the session runs (dataclasses look
    their module up there) and removed afterwards.
    """
    loaded: list[str] = []

    def load(name: str, folder: str = "benchmarks") -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)
