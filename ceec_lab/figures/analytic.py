"""The paper's analytic figures: exact, no training (paper Figs. 2, 3 and 16).

These are thin, named entry points to the loss views of :mod:`ceec_lab.viz.losses`
with the paper's settings, so that notebook 06 can walk through the figures in
the paper's order. The views themselves live in ``viz``; nothing is redrawn here.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from ceec_lab.viz.losses import plot_crisp_sigmoid, plot_tanimoto_landscape

#: The label of the paper's landscape figures: a 2-element vector.
LANDSCAPE_LABEL = (0.4, 0.6)
#: Crisp-sigmoid scales the paper reports: the ordinary sigmoid, LEVIR-CD, WHU.
PAPER_GAMMAS = {"sigmoid": 1.0, "LEVIR-CD": 0.610, "WHU": 0.625}


def fig02_fractal_tanimoto_landscape(
    label: Sequence[float] = LANDSCAPE_LABEL, depths: Sequence[int] = (0, 3, 5)
) -> Figure:
    """Paper Fig. 2: the fractal Tanimoto similarity over ``p ∈ [0, 1]²`` with its gradient field.

    The paper draws ``T^d(p, l)`` for a 2-element label at several depths and their
    average: the deeper the similarity, the flatter it is far from the optimum and
    the steeper close to it; the average over depths keeps both a slope far away and
    a sharp peak. This version is exact (autograd gradients on a 101² grid); arrow
    lengths are compressed (square root of the magnitude) so the flat parts stay visible.

    Args:
        label: the label ``(l1, l2)``, the optimum (red star).
        depths: one panel per depth ``d``; a last panel averages ``d < max(depths)``.
    """
    return plot_tanimoto_landscape(label, depths, mean_depth=max(depths))


def fig03_landscape_with_noise(
    noise: float = 0.1, label: Sequence[float] = LANDSCAPE_LABEL, seed: int = 0
) -> Figure:
    """Paper Fig. 3: the landscape of Fig. 2 evaluated at noisy points.

    The paper argues that the gradient field keeps pointing to the optimum when the
    inputs are noisy. Here every grid point is jittered by Gaussian noise of standard
    deviation ``noise`` (clipped to [0, 1]) before it is evaluated; the exact noise
    model of the paper's figure is not reproduced.
    """
    return plot_tanimoto_landscape(label, (0, 3, 5), mean_depth=5, noise=noise, seed=seed)


def fig16_crisp_sigmoid(learned: dict[str, float] | None = None) -> Figure:
    """Paper Fig. 16: the crisp sigmoid ``sigmoid(x / γ)`` of the boundary head.

    The paper plots the ordinary sigmoid (γ = 1) against the scales its models
    learned, γ ≈ 0.610 on LEVIR-CD and 0.625 on WHU: the boundary head chose a
    steeper step. ``learned`` adds the scales of models trained here, e.g. the
    shipped tiny CEECNet's ``model.head.crisp_sigmoid.scale()``.

    Args:
        learned: extra curves, name → γ; each curve is labelled "name: γ = value".
    """
    gammas = [*PAPER_GAMMAS.values(), *(learned or {}).values()]
    fig = plot_crisp_sigmoid(gammas)
    names = [*PAPER_GAMMAS, *(learned or {})]
    ax = fig.axes[0]
    for line, name, gamma in zip(ax.get_lines(), names, gammas, strict=True):
        line.set_label(f"{name}: γ = {gamma:.3f}")
    ax.legend()
    return fig
