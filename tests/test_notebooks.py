"""Every notebook in ``notebooks/`` executes headless, top to bottom, in quick mode, and
every notebook there or in ``notebooks/solutions/`` is committed without outputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
COMMITTED = sorted(NOTEBOOKS_DIR.rglob("*.ipynb"))  # the lessons and their solutions


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")  # one kernel at a time (see conftest.execute_notebook)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path: Path, execute_notebook: Callable[[Path], None]) -> None:
    execute_notebook(path)


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: strip outputs before committing"
            assert cell.execution_count is None, f"{path.name}: clear execution counts"
