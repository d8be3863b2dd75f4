"""Views: matplotlib figures and ipywidgets explorers (all testable headless)."""

from ceec_lab.viz.attention import (
    AttentionExplorer,
    attention_views,
    change_contrast,
    plot_attention_gammas,
    plot_attention_maps,
    plot_attention_memory,
    plot_similarity_example,
)
from ceec_lab.viz.costs import plot_accuracy_vs_cost
from ceec_lab.viz.data import (
    ChangePairExplorer,
    differencing_by_difficulty,
    plot_augmented,
    plot_change_sample,
    plot_difference_vs_difficulty,
    plot_segmentation_sample,
    plot_targets,
    to_display,
)
from ceec_lab.viz.losses import (
    LossExplorer,
    explorer_figure,
    plot_crisp_sigmoid,
    plot_dice_curves,
    plot_loss_comparison,
    plot_similarity_curves,
    plot_tanimoto_landscape,
)
from ceec_lab.viz.predictions import (
    change_error_map,
    plot_change_predictions,
    plot_loss_and_depth,
    plot_multitask_outputs,
    plot_segmentation_predictions,
)
from ceec_lab.viz.runs import plot_histories, plot_scores, plot_sweep

__all__ = [
    "AttentionExplorer",
    "ChangePairExplorer",
    "LossExplorer",
    "attention_views",
    "change_contrast",
    "change_error_map",
    "differencing_by_difficulty",
    "explorer_figure",
    "plot_accuracy_vs_cost",
    "plot_attention_gammas",
    "plot_attention_maps",
    "plot_attention_memory",
    "plot_augmented",
    "plot_change_predictions",
    "plot_change_sample",
    "plot_crisp_sigmoid",
    "plot_dice_curves",
    "plot_difference_vs_difficulty",
    "plot_histories",
    "plot_loss_and_depth",
    "plot_loss_comparison",
    "plot_multitask_outputs",
    "plot_scores",
    "plot_segmentation_predictions",
    "plot_segmentation_sample",
    "plot_similarity_curves",
    "plot_similarity_example",
    "plot_sweep",
    "plot_tanimoto_landscape",
    "plot_targets",
    "to_display",
]
