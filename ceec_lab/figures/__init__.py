"""The CEECNet paper's figures, one function each (Diakogiannis, Waldner & Caccetta 2021).

Notebook 06 walks through them in the paper's order. Analytic figures are exact;
training-based ones are drawn from results (epoch records, predictions, captured
maps) that :mod:`.runs` and :mod:`.blocks` compute with the kit's training engine
and :mod:`.cache` keeps between sessions. Each function's docstring says what the
paper shows and how this version differs.
"""

from ceec_lab.figures.analytic import (
    fig02_fractal_tanimoto_landscape,
    fig03_landscape_with_noise,
    fig16_crisp_sigmoid,
)
from ceec_lab.figures.cache import cached
from ceec_lab.figures.plots import (
    fig01_change_example,
    fig10_block_comparison,
    fig12_static_vs_evolving,
    fig14_levircd_predictions,
    fig15_fixed_depths,
    fig17_mcc_histories,
    fig19_relative_attention,
    fig20_second_dataset_predictions,
    fig22_difference_vs_fusion,
)

__all__ = [
    "cached",
    "fig01_change_example",
    "fig02_fractal_tanimoto_landscape",
    "fig03_landscape_with_noise",
    "fig10_block_comparison",
    "fig12_static_vs_evolving",
    "fig14_levircd_predictions",
    "fig15_fixed_depths",
    "fig16_crisp_sigmoid",
    "fig17_mcc_histories",
    "fig19_relative_attention",
    "fig20_second_dataset_predictions",
    "fig22_difference_vs_fusion",
]
