"""Students have the paper and docs/paper_map.md, not the internal reference notes."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_internal_reference_citations_remain() -> None:
    files = [*(ROOT / "ceec_lab").rglob("*.py"), *(ROOT / "notebooks").rglob("*.ipynb")]
    cited = [str(f.relative_to(ROOT)) for f in files if "REFERENCE §" in f.read_text("utf-8")]
    assert cited == [], f"cite the paper or docs/paper_map.md instead of REFERENCE in {cited}"


def test_paper_map_names_modules_that_exist() -> None:
    text = (ROOT / "docs" / "paper_map.md").read_text("utf-8")
    for module in ("losses/functional", "losses/schedule", "models/nn/attention", "viz/losses"):
        assert f"ceec_lab.{module.replace('/', '.')}" in text
        assert (ROOT / "ceec_lab" / f"{module}.py").exists()
