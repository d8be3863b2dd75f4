"""Figures and a widget for looking inside FracTAL attention.

* :func:`plot_similarity_example` - dot-product attention's ``(HW) × (HW)``
  matrix next to FracTAL's spatial and channel maps, on one small example;
* :func:`plot_attention_memory` - the measured peak memory of both (see
  :mod:`ceec_lab.measure`) on a log scale;
* :func:`plot_attention_maps` - the spatial and channel maps of one layer for
  the two dates (the relative attention of ``"fuse_first"`` is the paper's Fig. 19);
* :func:`change_contrast` - does a spatial map single out the changed pixels?
* :func:`plot_attention_gammas` - how much of each attention a network uses;
* :class:`AttentionExplorer` - pick a pair, a layer, a map and a date.

Every function returns a matplotlib ``Figure``, so it works the same in a
notebook, a script and a headless test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor, nn

from ceec_lab.measure import format_bytes
from ceec_lab.models.nn import (
    AttentionMaps,
    FracTALSimilarity,
    capture_attention,
    dot_product_weights,
)
from ceec_lab.viz.data import as_numpy, to_display
from ceec_lab.viz.layout import FIGURE_WIDTH, control_row

#: Layer name → one ``(label, maps)`` per date (or a single entry for layers
#: that see both dates at once, such as the decoder's).
AttentionViews = dict[str, list[tuple[str, AttentionMaps]]]


def attention_views(maps: dict[str, list[AttentionMaps]]) -> AttentionViews:
    """Group the maps of :func:`~ceec_lab.models.nn.capture_attention` by date.

    * a layer of the Siamese encoder runs once per date: its two calls become
      ``"date 1"`` and ``"date 2"``;
    * a Fusion ``X`` has one relative attention per date, ``X.relative_12``
      (date 1's queries, date 2's keys) and ``X.relative_21``: they become the
      two dates of ``X``;
    * any other layer (the decoder's) ran once, on features of both dates.

    Args:
        maps: layer name → list of :class:`~ceec_lab.models.nn.AttentionMaps`.

    Returns:
        Layer name → list of ``(date label, maps)``, in the order of the forward pass.
    """
    views: AttentionViews = {}
    for name, calls in maps.items():
        prefix, _, leaf = name.rpartition(".")
        partner = f"{prefix}.relative_21"
        if leaf == "relative_12" and partner in maps and len(calls) == len(maps[partner]) == 1:
            views[prefix] = [
                ("date 1 (attending to date 2)", calls[0]),
                ("date 2 (attending to date 1)", maps[partner][0]),
            ]
        elif leaf == "relative_21" and prefix in views:
            continue  # already the second date of its Fusion
        elif len(calls) == 2:
            views[name] = [("date 1", calls[0]), ("date 2", calls[1])]
        else:
            views[name] = [
                ("both dates" if len(calls) == 1 else f"call {i + 1}", m)
                for i, m in enumerate(calls)
            ]
    return views


def change_contrast(maps: dict[str, list[AttentionMaps]], mask: Tensor) -> dict[str, list[float]]:
    """How differently each spatial map treats changed pixels: one number per layer and date.

    ``(mean on change − mean elsewhere) / std`` of the map, with the change
    mask area-averaged to the map's size. Negative: the attention is lower on
    the change (queries and keys disagree there); near 0: it does not care.

    Args:
        maps: the dict filled by :func:`~ceec_lab.models.nn.capture_attention`
            (batch of one).
        mask: ``(H, W)`` change mask in {0, 1} of the input pair.

    Returns:
        Layer name of :func:`attention_views` → one contrast per date.
    """
    if mask.ndim != 2 or not 0 < float(mask.float().mean()) < 1:
        raise ValueError(
            f"mask must be an (H, W) mask with both change and no change, got shape "
            f"{tuple(mask.shape)} and change fraction {float(mask.float().mean()):.2f}"
        )
    contrast: dict[str, list[float]] = {}
    for name, dates in attention_views(maps).items():
        for _, m in dates:
            spatial = m.spatial[0, 0].float()  # (h, w)
            weight = F.interpolate(mask[None, None].float(), size=spatial.shape, mode="area")[0, 0]
            on = (spatial * weight).sum() / weight.sum().clamp_min(1e-6)
            off = (spatial * (1 - weight)).sum() / (1 - weight).sum().clamp_min(1e-6)
            contrast.setdefault(name, []).append(float((on - off) / spatial.std().clamp_min(1e-6)))
    return contrast


def _gamma_text(maps: AttentionMaps) -> str:
    return "no γ" if maps.gamma is None else f"γ = {float(maps.gamma.reshape(-1)[0]):.3f}"


def _draw_spatial(ax: plt.Axes, spatial: Tensor, index: int, title: str) -> None:
    image = ax.imshow(as_numpy(spatial[index, 0]), cmap="viridis")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(title)
    ax.set_axis_off()


def _draw_channel(ax: plt.Axes, channel: Tensor, index: int, title: str) -> None:
    """One bar per channel on the full [0, 1] range of the similarity, so that bar
    heights compare across layers and pairs; channels are numbered by integers."""
    values = as_numpy(channel[index, :, 0, 0])
    ax.bar(np.arange(len(values)), values, width=1.0, color="C0")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="channel", ylabel="similarity", ylim=(0.0, 1.0), title=title)


def plot_similarity_example(q: Tensor, k: Tensor, attention_depth: int = 5) -> Figure:
    """What each kind of attention computes for one small pair of queries and keys.

    Panels: ``q`` and ``k`` (first three channels as RGB); the softmax
    dot-product weights, one row per query pixel and one column per key pixel,
    ``(HW) × (HW)``; FracTAL's spatial map ``(H, W)``; FracTAL's channel map ``(C,)``.

    Args:
        q, k: ``(1, C, H, W)`` in [0, 1] with ``C >= 3``.
        attention_depth: fractal depth ``D`` of the FracTAL similarity.
    """
    if q.ndim != 4 or q.shape[0] != 1 or q.shape[1] < 3 or q.shape != k.shape:
        raise ValueError(
            f"q and k must both be (1, C>=3, H, W), got {tuple(q.shape)} and {tuple(k.shape)}"
        )
    _, channels, height, width = q.shape
    weights = dot_product_weights(q, k)[0]  # (HW, HW)
    spatial, channel = FracTALSimilarity(attention_depth)(q, k)  # (1, 1, H, W), (1, C, 1, 1)
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.4), width_ratios=(1, 1, 1.3, 1.2, 1.2))
    axes[0].imshow(to_display(q[0]))
    axes[1].imshow(to_display(k[0]))
    for ax, name in zip(axes[:2], ("queries q", "keys k"), strict=True):
        ax.set_title(f"{name}, {channels}×{height}×{width}")
        ax.set_axis_off()
    image = axes[2].imshow(as_numpy(weights), cmap="magma")
    fig.colorbar(image, ax=axes[2], fraction=0.046, pad=0.04)
    axes[2].set(
        title=f"dot-product: {weights.numel()} weights",
        xlabel="key pixel",
        ylabel="query pixel",
    )
    _draw_spatial(axes[3], spatial, 0, f"FracTAL spatial: {height * width} values")
    _draw_channel(axes[4], channel, 0, f"FracTAL channel: {channels} values")
    fig.tight_layout()
    return fig


def plot_attention_memory(rows: Sequence[dict[str, Any]]) -> Figure:
    """Peak memory (forward + backward) of FracTAL vs dot-product attention per encoder level.

    Log scale: every step up is ×10. Hatched bars were not run: they are the
    analytic lower bound of dot-product attention, one float32 ``(HW)²`` matrix.

    Args:
        rows: the output of :func:`ceec_lab.measure.attention_memory_table`.
    """
    if not rows:
        raise ValueError("rows must hold at least one measured level, got none")
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8.5, 4))
    ax.bar(x - 0.2, [r["fractal_bytes"] for r in rows], 0.4, label="FracTAL (measured)")
    for i, r in enumerate(rows):
        measured = r["dot_product_bytes"] is not None
        height = r["dot_product_bytes"] if measured else r["matrix_bytes"]
        style = dict(color="C3") if measured else dict(fill=False, hatch="//", edgecolor="C3")
        ax.bar(i + 0.2, height, 0.4, **style)
        for offset, value in ((-0.2, r["fractal_bytes"]), (0.2, height)):
            ax.annotate(
                format_bytes(value), (i + offset, value), ha="center", va="bottom", fontsize=7
            )
    ax.bar(0, 0, color="C3", label="dot-product (measured)")
    ax.bar(0, 0, fill=False, hatch="//", edgecolor="C3", label="dot-product, not run: ≥ (HW)²·4 B")
    ax.set_xticks(x, [f"level {r['level']}\n{r['channels']}×{r['side']}²" for r in rows])
    ax.set_yscale("log")
    ax.set(ylabel="peak memory (bytes)", title="attention, forward + backward, batch 1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_attention_maps(
    maps: dict[str, list[AttentionMaps]],
    layer: str,
    images: Sequence[Tensor] | None = None,
    index: int = 0,
) -> Figure:
    """Spatial and channel maps of one layer, one row per date (paper Fig. 19 for ``"fuse_first"``).

    Args:
        maps: the dict filled by :func:`~ceec_lab.models.nn.capture_attention`.
        layer: a name of :func:`attention_views` (``"fuse_first"`` for the
            first-level relative attention of the two dates).
        images: optional ``(3, H, W)`` images, one per date, drawn first in each row.
        index: which sample of the batch.

    Returns:
        A figure with one row per date: [image,] spatial map, channel map.
    """
    views = attention_views(maps)
    if layer not in views:
        raise ValueError(f"layer must be one of {list(views)}, got {layer!r}")
    rows = views[layer]
    if images is not None and len(images) < len(rows):
        raise ValueError(f"images must hold one image per date ({len(rows)}), got {len(images)}")
    ncols = 3 if images is not None else 2
    fig, axes = plt.subplots(len(rows), ncols, figsize=(4 * ncols, 3.4 * len(rows)), squeeze=False)
    for row, (label, m) in enumerate(rows):
        panels = axes[row]
        if images is not None:
            panels[0].imshow(to_display(images[row]))
            panels[0].set_title(f"date {row + 1}" if len(rows) == 2 else "image")
            panels[0].set_axis_off()
        _draw_spatial(panels[-2], m.spatial, index, f"{label}: spatial")
        _draw_channel(panels[-1], m.channel, index, f"channel · {_gamma_text(m)}")
    fig.suptitle(layer)
    fig.tight_layout()
    return fig


def plot_attention_gammas(maps: dict[str, list[AttentionMaps]]) -> Figure:
    """The learned γ of every gated attention: how much of it the network uses.

    Every attention enters CEECNet as ``x · (1 + γ · attention)`` with γ
    starting at 0, so ``|γ|`` says how strongly training switched it on.
    """
    gammas = {
        name: float(calls[0].gamma.reshape(-1)[0])
        for name, calls in maps.items()
        if calls[0].gamma is not None
    }
    if not gammas:
        raise ValueError("maps must contain gated attentions (with a γ), got none")
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(gammas) + 1))
    ax.barh(list(gammas), list(gammas.values()), color="C2")
    ax.axvline(0, color="gray", lw=1)
    ax.invert_yaxis()
    ax.set(xlabel="γ", title="how much of each attention the network uses")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def capture_views(model: nn.Module, x1: Tensor, x2: Tensor) -> tuple[AttentionViews, Tensor]:
    """Run ``model`` on one batch; return its attention views and the change probability.

    Returns:
        ``(views, probs)``: :func:`attention_views` of the pass, and ``(B, H, W)``
        probabilities of change from the (first) segmentation output.
    """
    with torch.no_grad(), capture_attention(model) as maps:
        output = model(x1, x2)
    segmentation = output[0] if isinstance(output, tuple) else output  # (B, K, H, W)
    if getattr(model, "output", "probs") == "logits":
        segmentation = segmentation.softmax(dim=1)
    return attention_views(maps), segmentation[:, 1]


class AttentionExplorer:
    """Widget: pick a pair, a layer, the spatial or channel map, and a date.

    The figure shows the two dates, the true change, the model's prediction and
    the chosen map, with the layer's γ in the title. ``draw(index, layer, kind,
    date)`` is the callback (it works without a browser); ``show()`` returns the
    widget; ``figure`` holds the last figure drawn.

    Args:
        model: a change model with FracTAL attention (a CEECNet); used in eval mode.
        dataset: change samples ``{"image1", "image2", "mask"}``, e.g.
            :class:`ceec_lab.data.SyntheticChangeDataset`.
    """

    KINDS = ("spatial", "channel")

    def __init__(self, model: nn.Module, dataset: Sequence[dict[str, Tensor]]) -> None:
        if len(dataset) == 0:
            raise ValueError("dataset must hold at least one change pair, got an empty one")
        self.model = model.eval()
        self.dataset = dataset
        self._cache: dict[int, tuple[AttentionViews, Tensor]] = {}
        self.layers = list(self._views(0)[0])
        if not self.layers:
            raise ValueError(f"model {type(model).__name__} has no FracTAL attention to explore")
        self.index = widgets.IntSlider(
            0, min=0, max=len(dataset) - 1, description="pair", layout={"width": "360px"}
        )
        self.layer = widgets.Dropdown(
            options=self.layers, description="layer", layout={"width": "460px"}
        )
        # Buttons side by side at their own width: squeezed, they stack like an open menu.
        self.kind = widgets.ToggleButtons(
            options=self.KINDS,
            description="map",
            style={"button_width": "90px"},
            layout={"width": "auto", "flex": "0 0 auto"},
        )
        self.date = widgets.Dropdown(
            options=self._date_options(self.layers[0]),
            description="date",
            layout={"width": "420px"},
        )
        self.output = widgets.Output()
        self.figure: Figure | None = None  # the last figure drawn
        self._updating = False
        self.layer.observe(self._on_layer, names="value")
        for control in (self.index, self.kind, self.date):
            control.observe(self._on_change, names="value")
        controls = widgets.VBox(
            [control_row(self.index, self.layer), control_row(self.kind, self.date)]
        )
        self.widget = widgets.VBox([controls, self.output])

    def _views(self, index: int) -> tuple[AttentionViews, Tensor]:
        """Attention views and change probability of pair ``index`` (computed once)."""
        if index not in self._cache:
            sample = self.dataset[index]
            device = next(self.model.parameters()).device
            x1, x2 = (sample[k][None].to(device) for k in ("image1", "image2"))
            self._cache[index] = capture_views(self.model, x1, x2)
        return self._cache[index]

    def _date_options(self, layer: str) -> list[tuple[str, int]]:
        return [(label, i + 1) for i, (label, _) in enumerate(self._views(0)[0][layer])]

    def draw(self, index: int, layer: str, kind: str, date: int) -> Figure:
        """The figure of pair ``index``, map ``kind`` of ``layer`` for ``date`` (1 or 2)."""
        if not 0 <= index < len(self.dataset):
            raise ValueError(f"index must be in [0, {len(self.dataset) - 1}], got {index}")
        if layer not in self.layers:
            raise ValueError(f"layer must be one of {self.layers}, got {layer!r}")
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        views, probs = self._views(index)
        if date not in range(1, len(views[layer]) + 1):
            raise ValueError(
                f"date must be in 1..{len(views[layer])} for layer {layer!r}, got {date!r}"
            )
        label, maps = views[layer][date - 1]
        sample = self.dataset[index]
        # Two rows, so that the figure fits a notebook at 1280 px without shrinking:
        # the pair and the prediction on top, the chosen map below (the bar chart of
        # the channel map across the full width, the square spatial map in the middle).
        fig = plt.figure(figsize=(FIGURE_WIDTH, 5.6), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=(1, 1.3))
        axes = list(top.subplots(1, 4))
        axes.append(bottom.add_subplot(1, 4, (2, 3)) if kind == "spatial" else bottom.subplots())
        panels = [
            ("date 1", to_display(sample["image1"]), {}),
            ("date 2", to_display(sample["image2"]), {}),
            ("true change", as_numpy(sample["mask"]), {"cmap": "gray", "vmin": 0, "vmax": 1}),
            ("P(change)", as_numpy(probs[0]), {"cmap": "gray", "vmin": 0, "vmax": 1}),
        ]
        for ax, (name, image, style) in zip(axes, panels, strict=False):
            ax.imshow(image, **style)
            ax.set_title(name)
            ax.set_axis_off()
        draw_map = _draw_spatial if kind == "spatial" else _draw_channel
        draw_map(axes[4], getattr(maps, kind), 0, f"{kind} map")
        fig.suptitle(f"pair {index} · {layer} · {label} · {_gamma_text(maps)}")
        return fig

    def _on_layer(self, _change: dict) -> None:
        self._updating = True  # new date options must not redraw with the old layer
        self.date.options = self._date_options(self.layer.value)
        self.date.value = 1
        self._updating = False
        self._on_change({})

    def _on_change(self, _change: dict) -> None:
        if self._updating:
            return
        self.output.clear_output(wait=True)
        self.figure = self.draw(
            self.index.value, self.layer.value, self.kind.value, self.date.value
        )
        with self.output:
            display(self.figure)
        plt.close(self.figure)

    def show(self) -> widgets.VBox:
        """Draw once and return the widget for display."""
        self._on_change({})
        return self.widget
