"""Every worked-solutions notebook in ``notebooks/solutions/`` executes in quick mode, so that
the solutions never rot (``test_notebooks.py`` checks that they are committed stripped)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS_DIR / "solutions").glob("*.ipynb"))


def test_solutions_exist_for_their_notebooks() -> None:
    assert SOLUTIONS, "notebooks/solutions/ holds no notebook"
    lessons = {path.stem for path in NOTEBOOKS_DIR.glob("*.ipynb")}
    for path in SOLUTIONS:
        assert path.stem.removesuffix("_solutions") in lessons, f"{path.name}: no such lesson"


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")  # one kernel at a time (see conftest.execute_notebook)
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_solution_notebook_runs_in_quick_mode(
    path: Path, execute_notebook: Callable[[Path], None]
) -> None:
    execute_notebook(path)
