"""benchmarks/course_plan.py: the README table it writes from stored timings."""

from __future__ import annotations

import pytest


@pytest.fixture
def plan(load_script):
    return load_script("course_plan")


def entry(seconds: float, load: float) -> dict:
    return {"seconds": seconds, "load_before": load, "machine": {"cpu_cores": 2}}


def test_table_has_every_notebook_and_marks_runs_under_load(plan) -> None:
    results = {"02_dice_and_tanimoto.ipynb": {"lab": entry(480, 0.5), "quick": entry(61, 9.0)}}
    lines = plan.table(results).splitlines()
    notebooks = sorted(p.name for p in plan.NOTEBOOKS.glob("*.ipynb"))
    assert len(lines) == 2 + len(notebooks)
    row = next(line for line in lines if "02_dice_and_tanimoto" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].startswith("Not all Dice")  # the notebook's own title
    assert cells[2:] == ["8.0", "61 (under load)", "not measured"]


def test_readme_is_rewritten_between_the_markers_only(plan, tmp_path, monkeypatch) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{plan.BEGIN}\nold table\n{plan.END}\noutro\n")
    monkeypatch.setattr(plan, "README", readme)
    plan.write_readme({})
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n")
    assert "old table" not in text and "| notebook |" in text
    readme.write_text("no markers")
    with pytest.raises(SystemExit, match="markers"):
        plan.write_readme({})
