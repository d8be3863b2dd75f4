"""Peak-memory measurement and the FracTAL vs dot-product attention memory table."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.measure import (
    attention_memory_row,
    attention_memory_table,
    format_bytes,
    markdown_memory_table,
    peak_memory,
)

MATRIX = 1000 * 1000 * 4  # bytes of a 1000×1000 float32 tensor


def test_peak_memory_of_one_known_allocation() -> None:
    peak = peak_memory(lambda: torch.empty(1000, 1000))
    assert MATRIX <= peak < 5_000_000


def test_peak_memory_is_the_high_water_mark_not_the_total() -> None:
    def one_after_the_other() -> None:
        a = torch.ones(1000, 1000)
        del a
        torch.ones(1000, 1000)

    def both_at_once() -> None:
        a = torch.ones(1000, 1000)
        b = torch.ones(1000, 1000)
        del a, b

    assert MATRIX <= peak_memory(one_after_the_other) < 5_000_000
    assert 2 * MATRIX <= peak_memory(both_at_once) < 2 * MATRIX + 1_000_000


def test_peak_memory_ignores_what_was_live_before() -> None:
    x = torch.ones(1000, 1000)
    assert peak_memory(lambda: x.sum()) < 10_000


def test_peak_memory_counts_the_backward_pass() -> None:
    x = torch.ones(1000, 1000, requires_grad=True)
    # exp saves its 4 MB output for backward; backward makes the 4 MB gradient
    # of the sum and the 4 MB x.grad while the saved output is still alive.
    peak = peak_memory(lambda: x.exp().sum().backward())
    assert 2 * MATRIX <= peak < 4 * MATRIX


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_peak_memory_on_cuda_of_one_known_allocation() -> None:
    peak = peak_memory(lambda: torch.empty(1000, 1000, device="cuda"), device="cuda")
    assert MATRIX <= peak < 5_000_000


def test_peak_memory_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="fn must be a callable"):
        peak_memory(torch.ones(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="device must be"):
        peak_memory(lambda: None, device="meta")


def test_fractal_is_lighter_where_pixels_outnumber_channels() -> None:
    row = attention_memory_row(2)  # C = 128 on 64×64: HW = 4096
    assert (row["channels"], row["side"], row["pixels"]) == (128, 64, 4096)
    assert row["matrix_bytes"] == 4096**2 * 4
    # the backward pass holds the weights, their gradient and the scores' gradient
    assert row["dot_product_bytes"] > 2 * row["matrix_bytes"]
    assert row["fractal_bytes"] < row["dot_product_bytes"] / 2
    assert row["dot_product"] == format_bytes(row["dot_product_bytes"])


def test_quick_table_measures_levels_one_to_five() -> None:
    rows = attention_memory_table(quick=True)
    assert [r["level"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["channels"] for r in rows] == [64, 128, 256, 512, 1024]
    level1 = rows[0]  # the (HW)² matrix alone is 1 GiB: not run, analytic bound given
    assert level1["dot_product_bytes"] is None
    assert level1["dot_product"] == "not run, would need ≥ 1.0 GiB"
    fractal = [r["fractal_bytes"] for r in rows]
    assert fractal == sorted(fractal, reverse=True)  # linear in HW·C: halves per level
    assert all(0 < f < 100 * 2**20 for f in fractal)
    table = markdown_memory_table(rows)
    assert len(table.splitlines()) == 2 + len(rows)
    assert "| 1 | 64 | 128 | 16384 |" in table


def test_dot_product_is_skipped_above_the_matrix_limit() -> None:
    row = attention_memory_row(5, max_matrix_bytes=1000)  # 8×8 map: a 16 KiB matrix
    assert row["dot_product_bytes"] is None
    assert row["dot_product"] == "not run, would need ≥ 16.0 KiB"
    assert row["fractal_bytes"] == attention_memory_row(5)["fractal_bytes"]  # no stale grads


def test_attention_memory_row_rejects_a_bad_level() -> None:
    with pytest.raises(ValueError, match="level must be"):
        attention_memory_row(-1)


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (206 * 2**20, "206.0 MiB"),
        (2**34, "16.0 GiB"),
    ],
)
def test_format_bytes(nbytes: int, text: str) -> None:
    assert format_bytes(nbytes) == text
