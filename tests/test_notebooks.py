"""Every notebook in ``notebooks/`` executes headless, top to bottom, in quick mode."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")  # one kernel at a time (see below)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CEEC_LAB_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # see conftest.py: no oversubscription
    notebook = nbformat.read(path, as_version=4)
    # Kernels talk over Unix sockets in tmp_path, not TCP ports: two kernels started
    # at once on TCP can race for the same free ports, and a client then waits forever.
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    client = NotebookClient(
        notebook, km=kernel, timeout=600, resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, json.dumps(errors, indent=1)[:2000]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: strip outputs before committing"
            assert cell.execution_count is None, f"{path.name}: clear execution counts"
