"""The accuracy-versus-cost plot."""

from __future__ import annotations

import pytest

from ceec_lab.viz import plot_accuracy_vs_cost


def _row(model: str, gflops: float, f1: float | None, params: int = 10**6) -> dict:
    return {"model": model, "gflops": gflops, "f1": f1, "params": params}


def test_trained_models_are_points_on_a_log_cost_axis() -> None:
    rows = [_row("small", 0.5, 0.6), _row("large", 50.0, 0.9), _row("free", 0.0, 0.3)]
    ax = plot_accuracy_vs_cost(rows).axes[0]
    assert ax.get_xscale() == "log"
    points = [tuple(c.get_offsets()[0]) for c in ax.collections]
    assert points == [(0.5, pytest.approx(60.0)), (50.0, 90.0), (0.05, 30.0)]  # free: floor
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["small", "large", "free (0 FLOPs)"]


def test_untrained_models_are_lines_not_points() -> None:
    ax = plot_accuracy_vs_cost([_row("trained", 1.0, 0.5), _row("big", 70.0, None)]).axes[0]
    assert len(ax.collections) == 1
    assert [line.get_xdata()[0] for line in ax.lines] == [70.0]
    assert "big (not trained)" in [t.get_text() for t in ax.texts]


def test_empty_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="rows is empty"):
        plot_accuracy_vs_cost([])
