"""Attention figures and the attention explorer run headless on a tiny CEECNet."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from ceec_lab.data import SyntheticChangeDataset
from ceec_lab.models import create_model
from ceec_lab.models.nn import AttentionGate, AttentionMaps, capture_attention
from ceec_lab.viz import (
    AttentionExplorer,
    attention_views,
    change_contrast,
    plot_attention_gammas,
    plot_attention_maps,
    plot_attention_memory,
    plot_similarity_example,
)
from ceec_lab.viz.layout import FIGURE_DPI, OUTPUT_WIDTH_PX

SIZE = 32  # the smallest input the "ceecnet-tiny" preset accepts


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    """A tiny untrained CEECNet whose gates have distinct γ = 0.01, 0.02, ..."""
    torch.manual_seed(0)
    net = create_model("ceecnet_v1", preset="ceecnet-tiny", norm="group").eval()
    gates = [m for m in net.modules() if isinstance(m, AttentionGate)]
    with torch.no_grad():
        for i, gate in enumerate(gates):
            gate.gamma.fill_(0.01 * (i + 1))
    return net


@pytest.fixture(scope="module")
def pairs() -> SyntheticChangeDataset:
    return SyntheticChangeDataset(3, size=SIZE, seed=0, difficulty=0.5)


@pytest.fixture(scope="module")
def maps(model, pairs) -> dict:
    sample = pairs[0]
    with torch.no_grad(), capture_attention(model) as captured:
        model(sample["image1"][None], sample["image2"][None])
    return captured


def test_views_pair_the_two_dates(maps) -> None:
    views = attention_views(maps)
    labels = {name: [label for label, _ in dates] for name, dates in views.items()}
    # a Fusion's two relative attentions become the two dates of the Fusion
    assert labels["fuse_first"] == ["date 1 (attending to date 2)", "date 2 (attending to date 1)"]
    assert views["fuse_first"][1][1] is maps["fuse_first.relative_21"][0]
    assert "fuse_first.relative_12" not in views and "skip_fusions.2.relative_21" not in views
    # the Siamese encoder runs once per date, the decoder once on both
    assert labels["encoder.1.0.self_attention"] == ["date 1", "date 2"]
    assert labels["decoder.units.0.0.self_attention"] == ["both dates"]
    assert len(views) == len(maps) - 4  # four Fusions, each two names → one


def test_fig19_figure_has_image_spatial_and_channel_per_date(maps, pairs) -> None:
    images = (pairs[0]["image1"], pairs[0]["image2"])
    fig = plot_attention_maps(maps, "fuse_first", images=images)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 3 + 2  # 2 dates × (image, spatial, channel) + 2 colour bars
    spatial = fig.axes[1].images[0].get_array()
    assert spatial.shape == (SIZE, SIZE)
    torch.testing.assert_close(
        torch.as_tensor(spatial.data), maps["fuse_first.relative_12"][0].spatial[0, 0]
    )
    assert "γ = 0.010" in fig.axes[2].get_title()  # the first gate: fuse_first.relative_12
    assert len(fig.axes[2].patches) == 16  # one bar per channel of level 0


def test_maps_without_images_and_single_call_layers(maps) -> None:
    assert len(plot_attention_maps(maps, "encoder.2.0.self_attention").axes) == 2 * 2 + 2
    assert len(plot_attention_maps(maps, "decoder.units.2.0.relative_ab").axes) == 2 + 1
    with pytest.raises(ValueError, match="layer must be one of"):
        plot_attention_maps(maps, "fuse_first.relative_12")
    with pytest.raises(ValueError, match="one image per date"):
        plot_attention_maps(maps, "fuse_first", images=[torch.rand(3, SIZE, SIZE)])


def test_change_contrast_by_hand() -> None:
    mask = torch.zeros(4, 4, dtype=torch.long)
    mask[:2, :2] = 1  # the top-left quarter changed; maps are 2×2, so pixel (0, 0)
    low = torch.ones(1, 1, 2, 2)
    low[0, 0, 0, 0] = 0.0  # attention 0 on the change, 1 elsewhere
    channel = torch.ones(1, 3, 1, 1)
    maps = {"unit": [AttentionMaps(low, channel, None), AttentionMaps(1 - low, channel, None)]}
    std = torch.tensor([0.0, 1.0, 1.0, 1.0]).std()  # of the 2×2 map
    expected = float(-1 / std)  # (mean on change 0 - mean elsewhere 1) / std
    assert change_contrast(maps, mask)["unit"] == pytest.approx([expected, -expected])
    with pytest.raises(ValueError, match="both change and no change"):
        change_contrast(maps, torch.zeros(4, 4))


def test_gamma_figure_shows_every_gate(maps, model) -> None:
    fig = plot_attention_gammas(maps)
    widths = [bar.get_width() for bar in fig.axes[0].patches]
    gates = sum(isinstance(m, AttentionGate) for m in model.modules())
    assert len(widths) == gates == len(maps)
    assert sorted(widths) == pytest.approx([0.01 * (i + 1) for i in range(gates)])


def test_similarity_example_spots_a_changed_patch() -> None:
    torch.manual_seed(0)
    q = torch.rand(1, 3, 6, 6)
    k = q.clone()
    k[:, 0, 1:3, 1:3] = 1 - k[:, 0, 1:3, 1:3]  # change channel 0 in a 2×2 patch
    fig = plot_similarity_example(q, k)
    assert len(fig.axes) == 5 + 2  # 5 panels + 2 colour bars
    assert fig.axes[2].images[0].get_array().shape == (36, 36)  # (HW) × (HW)
    spatial = torch.as_tensor(fig.axes[3].images[0].get_array().data)
    assert spatial[1:3, 1:3].max() < spatial[3:, 3:].min()  # less similar where k changed
    channels = [bar.get_height() for bar in fig.axes[4].patches]
    assert channels[0] < min(channels[1:]) and min(channels[1:]) == pytest.approx(1, abs=1e-3)
    with pytest.raises(ValueError, match="q and k must both be"):
        plot_similarity_example(q[:, :2], k[:, :2])


def test_memory_figure_hatches_what_was_not_run() -> None:
    rows = [
        dict(level=1, channels=64, side=128, fractal_bytes=7e7, matrix_bytes=2**30),
        dict(level=2, channels=128, side=64, fractal_bytes=4e7, matrix_bytes=2**26),
    ]
    rows[0]["dot_product_bytes"], rows[1]["dot_product_bytes"] = None, 2e8
    ax = plot_attention_memory(rows).axes[0]
    assert ax.get_yscale() == "log"
    heights = {round(bar.get_height()) for bar in ax.patches if bar.get_hatch() == "//"}
    assert 2**30 in heights  # level 1's analytic bound, hatched
    with pytest.raises(ValueError, match="rows must hold"):
        plot_attention_memory([])


def test_explorer_draws_headless(model, pairs) -> None:
    explorer = AttentionExplorer(model, pairs)
    assert explorer.layers[0] == "fuse_first"
    fig = explorer.draw(1, "encoder.1.0.self_attention", "spatial", 2)
    assert len(fig.axes) == 5 + 1  # date 1, date 2, change, prediction, map + colour bar
    assert fig.axes[4].images[0].get_array().shape == (SIZE // 2, SIZE // 2)
    assert "date 2" in fig.texts[0].get_text() and "γ = " in fig.texts[0].get_text()
    fig = explorer.draw(0, "skip_fusions.2", "channel", 1)
    assert len(fig.axes[4].patches) == 64  # channels of level 2
    with pytest.raises(ValueError, match=r"date must be in 1\.\.1"):
        explorer.draw(0, "decoder.units.0.0.self_attention", "spatial", 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        explorer.draw(0, "fuse_first", "temporal", 1)


def test_explorer_widgets_update_the_figure(model, pairs) -> None:
    explorer = AttentionExplorer(model, pairs)
    explorer.show()
    first = explorer.figure
    assert "pair 0 · fuse_first · date 1" in first.texts[0].get_text()
    explorer.index.value = 2
    assert explorer.figure is not first and explorer.figure.texts[0].get_text().startswith("pair 2")
    explorer.layer.value = "decoder.units.1.0.relative_ba"  # one call: only one date to pick
    assert [value for _, value in explorer.date.options] == [1]
    assert "decoder.units.1.0.relative_ba · both dates" in explorer.figure.texts[0].get_text()
    explorer.kind.value = "channel"
    assert len(explorer.figure.axes[4].patches) == 16


def test_explorer_rejects_an_empty_dataset(model) -> None:
    with pytest.raises(ValueError, match="dataset must hold"):
        AttentionExplorer(model, [])


def test_explorer_controls_fit_two_rows_at_1280_px(model, pairs) -> None:
    explorer = AttentionExplorer(model, pairs)
    controls = explorer.widget.children[0]
    rows = [[c for c in row.children] for row in controls.children]
    assert rows == [[explorer.index, explorer.layer], [explorer.kind, explorer.date]]
    for row in controls.children:
        assert row.layout.flex_flow == "row wrap" and row.layout.width == "100%"
        fixed = [
            int(c.layout.width.removesuffix("px")) for c in row.children if c is not explorer.kind
        ]
        assert sum(fixed) <= OUTPUT_WIDTH_PX - 20  # room for the widgets' margins
    # the toggle keeps its buttons side by side instead of shrinking into a column
    assert explorer.kind.layout.flex == "0 0 auto" and explorer.kind.layout.width == "auto"
    assert explorer.kind.style.button_width == "90px"


@pytest.mark.parametrize("kind", AttentionExplorer.KINDS)
def test_explorer_figure_text_is_readable_at_1280_px(model, pairs, kind, smallest_text_px) -> None:
    fig = AttentionExplorer(model, pairs).draw(0, "fuse_first", kind, 1)
    assert fig.get_figwidth() * FIGURE_DPI <= OUTPUT_WIDTH_PX  # never shrunk by the browser
    assert smallest_text_px(fig) >= 10


def test_channel_bars_start_at_zero_with_integer_ticks(model, pairs) -> None:
    fig = AttentionExplorer(model, pairs).draw(0, "fuse_first", "channel", 1)
    bars = fig.axes[4]
    assert bars.get_ylim() == (0.0, 1.0)
    fig.draw_without_rendering()
    ticks = [t for t in bars.get_xticks() if bars.get_xlim()[0] <= t <= bars.get_xlim()[1]]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)
