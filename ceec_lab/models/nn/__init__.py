"""Building blocks shared by CEECNet, CEECNet V2 and FracTAL ResNet (and, for comparison,
softmax dot-product attention).

Each block follows the reference implementation of Diakogiannis et al. (2021),
"Looking for change? Roll the Dice and demand Attention" (Remote Sensing 13(18),
3707); the docstrings cite the paper's sections and equations.
"""

from ceec_lab.models.nn.activations import CrispSigmoid
from ceec_lab.models.nn.attention import (
    AttentionGate,
    FracTALSimilarity,
    RelativeFracTAL,
    SelfFracTAL,
    dot_product_attention,
    dot_product_self_attention,
    dot_product_weights,
)
from ceec_lab.models.nn.attention_capture import AttentionMaps, capture_attention
from ceec_lab.models.nn.combine import UpCombine, UpFuseCombine
from ceec_lab.models.nn.conv import (
    NORMS,
    ChannelLayerNorm,
    Conv2dNormed,
    DownSample,
    make_norm,
    upsample2x,
)
from ceec_lab.models.nn.fusion import CATFusion, Fusion
from ceec_lab.models.nn.pooling import PSPPooling, grid_max_pool

__all__ = [
    "NORMS",
    "AttentionGate",
    "AttentionMaps",
    "CATFusion",
    "ChannelLayerNorm",
    "Conv2dNormed",
    "CrispSigmoid",
    "DownSample",
    "FracTALSimilarity",
    "Fusion",
    "PSPPooling",
    "RelativeFracTAL",
    "SelfFracTAL",
    "UpCombine",
    "UpFuseCombine",
    "capture_attention",
    "dot_product_attention",
    "dot_product_self_attention",
    "dot_product_weights",
    "grid_max_pool",
    "make_norm",
    "upsample2x",
]
