"""The hook-based architecture table agrees with the model it describes."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.models import create_model
from ceec_lab.models.ceecnet.summary import architecture_markdown, architecture_table

SIZE = 64


def table(name: str = "ceecnet_v1", **kwargs):
    model = create_model(name, preset="ceecnet-tiny", norm="group", **kwargs)
    x1, x2 = torch.rand(2, 1, 3, SIZE, SIZE)
    return model, architecture_table(model, x1, x2)


@pytest.mark.parametrize("name", ["ceecnet_v1", "fractal_resnet"])
def test_parameters_add_up_to_the_model(name: str) -> None:
    model, rows = table(name)
    assert sum(row.params for row in rows) == sum(p.numel() for p in model.parameters())
    assert {row.name: row.params for row in rows}["middle"] == sum(
        p.numel() for p in model.middle.parameters()
    )


def test_shapes_follow_the_mantis_levels() -> None:
    model, rows = table()
    config = model.config
    by_name = {row.name: row for row in rows}
    for i in range(config.depth):
        unit = by_name[f"encoder.{i}"]
        assert (unit.part, unit.level, unit.calls) == ("encoder", i, 2)  # Siamese: both dates
        assert unit.shapes == [(config.channels(i), SIZE >> i, SIZE >> i)]
    for i in range(config.depth - 1):
        assert by_name[f"skip_fusions.{i}"].calls == 1  # the two dates fused once
        assert by_name[f"downsamples.{i}"].shapes == [
            (config.channels(i + 1), SIZE >> (i + 1), SIZE >> (i + 1))
        ]
    deepest = SIZE >> (config.depth - 1)
    assert by_name["middle"].shapes == [(config.channels(config.depth - 1), deepest, deepest)]
    decoder = [row for row in rows if row.part == "decoder"]
    assert [row.level for row in decoder[1::2]] == list(range(config.depth - 2, -1, -1))
    for row in decoder:
        assert row.shapes == [(config.channels(row.level), SIZE >> row.level, SIZE >> row.level)]
    assert by_name["head"].shapes == [(2, SIZE, SIZE)] * 3
    assert rows[-1].name == "head" and rows[0].name == "conv_first"


def test_hooks_are_removed_and_mode_restored() -> None:
    model, _ = table()
    assert model.training
    assert not any(m._forward_hooks for m in model.modules())


def test_markdown_has_one_line_per_part_and_the_total() -> None:
    model, rows = table()
    text = architecture_markdown(rows)
    assert len(text.splitlines()) == len(rows) + 3
    assert f"**{sum(p.numel() for p in model.parameters()):,}**" in text
    assert "2 × 64 × 64, 2 × 64 × 64, 2 × 64 × 64" in text
