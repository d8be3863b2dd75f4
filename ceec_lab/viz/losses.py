"""Pictures of the Dice family and the fractal Tanimoto (paper Figs. 2, 3 and 16).

The views use the smallest example that still shows the argument: one pixel
with two classes (or any 2-element vector), prediction ``p = (p1, p2)`` and
label ``l = (l1, l2)``, reduced over the two elements. Its landscape fits on
the unit square, and the line ``p = (x, 1 − x)`` of softmax outputs runs
through the optimum ``p = l`` when ``l1 + l2 = 1``.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot, so nothing is shown twice in a notebook and tests run headless.
:class:`LossExplorer` wraps them in ipywidgets sliders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from torch import Tensor

from ceec_lab.losses import functional as F
from ceec_lab.viz.layout import FIGURE_WIDTH, control_row

Similarity = Callable[[Tensor, Tensor], Tensor]


def _similarity_and_gradient(
    similarity: Similarity, p: np.ndarray, label: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Similarity of each row of ``p`` (N, 2) with ``label``, and its gradient (N, 2)."""
    p = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(label, dtype=torch.float64).expand_as(p)
    values = similarity(p, target).squeeze(1)  # (N,) one similarity per row
    (gradient,) = torch.autograd.grad(values.sum(), p)
    return values.detach().numpy(), gradient.numpy()


def _fractal(depth: int, mean: bool = False) -> Similarity:
    """``T^depth`` (or the averaged ``FT_depth``) over the last axis of (N, 2) inputs."""
    if mean:
        return partial(F.fractal_tanimoto_mean, depth=depth, dim=1)
    return partial(F.fractal_tanimoto, depth=depth, dim=1)


def _check_label(label: Sequence[float]) -> tuple[float, float]:
    if len(label) != 2 or not all(0.0 <= float(v) <= 1.0 for v in label):
        raise ValueError(f"label must be two values in [0, 1], got {label!r}")
    return float(label[0]), float(label[1])


def _grid(resolution: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``resolution``² grid over [0, 1]², optionally jittered; returns axes and points."""
    axis = np.linspace(0.0, 1.0, resolution)
    points = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)  # (R*R, 2) as (p1, p2)
    if noise > 0:
        rng = np.random.default_rng(seed)
        points = np.clip(points + noise * rng.standard_normal(points.shape), 0.0, 1.0)
    return axis, points


def _compress_arrows(gradient: np.ndarray) -> np.ndarray:
    """Gradient directions with lengths ``sqrt(|g| / max |g|)``, so that the
    arrows of a steep landscape do not hide the flat parts (longest = 1)."""
    magnitude = np.linalg.norm(gradient, axis=1, keepdims=True)
    largest = max(magnitude.max(), 1e-12)
    return gradient / np.maximum(magnitude, 1e-12) * np.sqrt(magnitude / largest)


#: Contour levels of every landscape: the similarity's whole range [0, 1], so that a
#: colour means the same value in every panel and after every redraw.
LANDSCAPE_LEVELS = np.linspace(0.0, 1.0, 21)


def _draw_landscape(
    ax, similarity: Similarity, label: tuple[float, float], noise: float, seed: int
) -> QuadContourSet:
    """Filled contours of the similarity and arrows of its gradient on one axes.

    Arrow lengths grow with the square root of the gradient magnitude, scaled
    per panel: compare directions and relative steepness within a panel. The
    optimum's star is not clipped, so it stays whole when the label is a corner.

    Returns:
        The filled contours, for a colour bar.
    """
    axis, points = _grid(101, noise, seed)
    values, _ = _similarity_and_gradient(similarity, points, label)
    grid = values.reshape(len(axis), len(axis))
    contours = ax.contourf(axis, axis, grid, levels=LANDSCAPE_LEVELS, cmap="viridis")
    _, arrow_points = _grid(15, noise, seed + 1)
    _, gradient = _similarity_and_gradient(similarity, arrow_points, label)
    arrows = _compress_arrows(gradient)
    ax.quiver(*arrow_points.T, *arrows.T, color="w", angles="xy", scale_units="xy", scale=1 / 0.06)
    ax.plot(*label, marker="*", color="red", markeredgecolor="white", markersize=14,
            clip_on=False, zorder=5)  # fmt: skip
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="$p_1$", ylabel="$p_2$")
    return contours


def plot_tanimoto_landscape(
    label: Sequence[float] = (0.4, 0.6),
    depths: Sequence[int] = (0, 3, 5),
    mean_depth: int | None = 5,
    noise: float = 0.0,
    seed: int = 0,
) -> Figure:
    """The fractal Tanimoto ``T^d(p, l)`` over ``p ∈ [0, 1]²`` with its gradient field.

    Paper Fig. 2: one panel per depth ``d`` (and one for the average ``FT_D``
    over ``d < mean_depth``). The red star is the label, the optimum. Deeper
    landscapes are flat far away and steep near the optimum; the average keeps
    both a useful slope far away and a sharp peak.

    With ``noise > 0`` (our take on Fig. 3) every point of the grid is jittered
    by Gaussian noise of that standard deviation before it is evaluated, the
    way a noisy prediction moves around: the arrows still point home.

    Args:
        label: the 2-element label ``(l1, l2)``, values in [0, 1].
        depths: the depths to draw, one panel each.
        mean_depth: ``D`` of the extra ``FT_D`` panel; ``None`` leaves it out.
        noise: standard deviation of the jitter.
        seed: seed of the jitter.
    """
    label = _check_label(label)
    panels = [(f"$T^{{{d}}}$", _fractal(d)) for d in depths]
    if mean_depth is not None:
        panels.append(
            (f"$FT_{{{mean_depth}}}$ (mean over $d<{mean_depth}$)", _fractal(mean_depth, True))
        )
    fig = Figure(figsize=(3.2 * len(panels) + 0.8, 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, similarity) in zip(axes, panels, strict=True):
        contours = _draw_landscape(ax, similarity, label, noise, seed)
        ax.set_title(title)
    fig.colorbar(contours, ax=axes, label="similarity", ticks=LANDSCAPE_LEVELS[::4])
    fig.suptitle(
        f"fractal Tanimoto landscape, label $l$ = {label}" + (f", noise {noise}" if noise else "")
    )
    return fig


def _along_softmax_line(similarity: Similarity, label: tuple[float, float], num_points: int = 201):
    """Similarity and ``|dS/dx|`` along ``p = (x, 1 − x)``, ``x ∈ [0, 1]``."""
    x = np.linspace(0.0, 1.0, num_points)
    values, gradient = _similarity_and_gradient(similarity, np.stack([x, 1 - x], axis=1), label)
    return x, values, np.abs(gradient[:, 0] - gradient[:, 1])  # chain rule: dp/dx = (1, −1)


def _draw_curves(
    axes, curves: Sequence[tuple[str, Similarity]], label: tuple[float, float]
) -> None:
    for name, similarity in curves:
        x, values, slope = _along_softmax_line(similarity, label)
        axes[0].plot(x, values, label=name)
        axes[1].plot(x, slope, label=name)
    for ax, ylabel in zip(axes, ("similarity", "gradient magnitude"), strict=True):
        ax.axvline(label[0], color="grey", linestyle=":")
        ax.set(xlabel="$p_1$ (with $p_2 = 1 - p_1$)", ylabel=ylabel)
    axes[0].legend()


def plot_similarity_curves(
    label: Sequence[float] = (1.0, 0.0), depths: Sequence[int] = (0, 1, 3, 5, 10)
) -> Figure:
    """``T^d`` and its gradient magnitude along the softmax line ``p = (x, 1 − x)``.

    With a one-hot label ``(1, 0)`` this is one pixel of a two-class softmax;
    ``x`` is the probability given to the right class. Deeper similarities
    keep their slope for the last few per cent before the optimum (grey line).
    """
    label = _check_label(label)
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    _draw_curves(fig.subplots(1, 2), [(f"d = {d}", _fractal(d)) for d in depths], label)
    fig.suptitle(f"fractal Tanimoto along $p = (x, 1-x)$, label {label}")
    return fig


def plot_dice_curves(label: Sequence[float] = (1.0, 0.0)) -> Figure:
    """The lecture's three Dice forms D1, D2, D3 and their gradient magnitudes.

    Along the softmax line ``p = (x, 1 − x)`` with a one-hot label, D1 is a
    straight line: its gradient is the same far from and at the optimum, so it
    never says "almost there". D2 and D3 flatten at the optimum, and D3
    (Tanimoto) has the larger slope just before it.
    """
    label = _check_label(label)
    curves = [
        ("D1  2Σpl/(Σp+Σl)", partial(F.dice_d1, dim=1)),
        ("D2  2Σpl/Σ(p²+l²)", partial(F.dice_d2, dim=1)),
        ("D3  Tanimoto", partial(F.tanimoto, dim=1)),
    ]
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    _draw_curves(fig.subplots(1, 2), curves, label)
    fig.suptitle(f"three Dice forms along $p = (x, 1-x)$, label {label}")
    return fig


def plot_crisp_sigmoid(gammas: Sequence[float] = (1.0, 0.610, 0.625), limit: float = 6.0) -> Figure:
    """The crisp sigmoid ``sigmoid(x / γ)`` of CEECNet's boundary head (paper Fig. 16).

    The network learns the scale ``γ = 0.01 + sigmoid(g)`` (paper code; docs/paper_map.md); here
    ``γ`` is given directly. The paper reports γ ≈ 0.610 on LEVIR-CD and 0.625
    on WHU: a smaller γ gives a steeper, crisper step at 0.

    Args:
        gammas: scales to draw (γ = 1 is the ordinary sigmoid).
        limit: the x range is ``[−limit, limit]``.
    """
    if any(gamma <= 0 for gamma in gammas):
        raise ValueError(f"gammas must be positive scales, got {gammas!r}")
    x = torch.linspace(-limit, limit, 401, dtype=torch.float64)
    fig = Figure(figsize=(5, 3.4), layout="constrained")
    ax = fig.subplots()
    for gamma in gammas:
        ax.plot(x.numpy(), torch.sigmoid(x / gamma).numpy(), label=f"γ = {gamma:g}")
    ax.set(xlabel="x", ylabel="sigmoid(x / γ)", title="crisp sigmoid")
    ax.legend()
    return fig


def explorer_figure(
    depth: int = 3, label: float = 0.4, noise: float = 0.0, seed: int = 0
) -> Figure:
    """The explorer's view: the ``T^depth`` landscape, and curves against depth 0.

    Args:
        depth: fractal depth ``d``.
        label: first label element ``l1``; the label is ``(l1, 1 − l1)``.
        noise: jitter of the landscape grid (see :func:`plot_tanimoto_landscape`).
        seed: seed of the jitter.
    """
    pair = _check_label((label, 1.0 - label))
    fig = Figure(figsize=(FIGURE_WIDTH, 3.2), layout="constrained")
    ax_land, ax_value, ax_slope = fig.subplots(1, 3, width_ratios=(1.25, 1, 1))
    contours = _draw_landscape(ax_land, _fractal(depth), pair, noise, seed)
    fig.colorbar(contours, ax=ax_land, ticks=LANDSCAPE_LEVELS[::4])
    ax_land.set_title(f"$T^{{{depth}}}$, label ({pair[0]:.2f}, {pair[1]:.2f})")
    depths = (0, depth) if depth else (0,)
    _draw_curves([ax_value, ax_slope], [(f"d = {d}", _fractal(d)) for d in depths], pair)
    return fig


class LossExplorer:
    """Sliders for depth, label and noise that redraw :func:`explorer_figure`.

    Show it by leaving it as the last expression of a cell. :meth:`redraw` is
    the sliders' callback; it also works without a browser (tests call it).

    Args:
        depth: initial fractal depth (slider 0-30).
        label: initial ``l1`` (slider 0-1); the label is ``(l1, 1 − l1)``.
        noise: initial landscape jitter (slider 0-0.3).
    """

    def __init__(self, depth: int = 3, label: float = 0.4, noise: float = 0.0) -> None:
        import ipywidgets as widgets

        self.depth = widgets.IntSlider(value=depth, min=0, max=30, description="depth d")
        self.label = widgets.FloatSlider(
            value=label, min=0.0, max=1.0, step=0.05, description="label l1"
        )
        self.noise = widgets.FloatSlider(
            value=noise, min=0.0, max=0.3, step=0.01, description="noise"
        )
        self.output = widgets.Output()
        for slider in (self.depth, self.label, self.noise):
            slider.observe(self.redraw, names="value")
        self.widget = widgets.VBox([control_row(self.depth, self.label, self.noise), self.output])
        self.figure = self.redraw()

    def redraw(self, change: dict | None = None) -> Figure:
        """Draw the figure for the current slider values and show it in the output area."""
        from IPython.display import display

        self.figure = explorer_figure(self.depth.value, self.label.value, self.noise.value)
        with self.output:
            self.output.clear_output(wait=True)
            display(self.figure)
        return self.figure

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def plot_loss_comparison(
    histories: Mapping[str, Any],
    keys: Sequence[str] = ("val_miou", "val_fwiou"),
    events: Sequence[Any] = (),
) -> Figure:
    """Validation curves of runs that differ only in their loss, one panel per metric.

    Compare metrics, not losses: each loss has its own scale (and an evolving
    loss changes scale at every stage), so loss curves of different runs say
    nothing about which model is better.

    Args:
        histories: run name → the :class:`~ceec_lab.train.History` of
            ``Trainer.fit`` (anything with ``.epochs``, a list of dicts with
            ``"epoch"`` numbered from 1).
        keys: the epoch-record keys to draw.
        events: :class:`~ceec_lab.losses.StageChange` records of an evolving
            schedule; each stage change is drawn as a dashed line.
    """
    fig = Figure(figsize=(5 * len(keys), 3.6), layout="constrained")
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys, strict=True):
        for name, history in histories.items():
            records = [r for r in history.epochs if r.get(key) is not None]
            ax.plot([r["epoch"] for r in records], [r[key] for r in records], label=name)
        for event in events[1:]:
            ax.axvline(event.epoch + 0.5, color="grey", linestyle="--")
            ax.annotate(
                f"d={event.loss_depth}",
                (event.epoch + 0.5, 0.02),
                xycoords=("data", "axes fraction"),
            )
        ax.set(xlabel="epoch", ylabel=key)
    fig.axes[0].legend(fontsize="small")
    return fig
