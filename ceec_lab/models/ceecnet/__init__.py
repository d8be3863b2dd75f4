"""CEECNet V1/V2 and FracTAL ResNet (Diakogiannis et al. 2021), ported from the reference.

``model.py`` wires the mantis encoder/decoder; ``blocks.py`` holds the units and
the multitask head; ``summary.py`` tabulates a model's levels from a forward pass;
the shared layers are in :mod:`ceec_lab.models.nn`.
"""

from ceec_lab.models.ceecnet.blocks import (
    CEECUnitV1,
    CEECUnitV2,
    FracTALResNetUnit,
    MultitaskHead,
    ResNetV2Block,
)
from ceec_lab.models.ceecnet.model import (
    MODEL_PRESETS,
    VARIANTS,
    CEECNet,
    CEECNetConfig,
    CEECNetSegmentation,
    ceecnet_segmentation,
    ceecnet_v1,
    ceecnet_v2,
    create_ceecnet,
    fractal_resnet,
)
from ceec_lab.models.ceecnet.summary import LayerRow, architecture_markdown, architecture_table

__all__ = [
    "MODEL_PRESETS",
    "VARIANTS",
    "CEECNet",
    "CEECNetConfig",
    "CEECNetSegmentation",
    "CEECUnitV1",
    "CEECUnitV2",
    "FracTALResNetUnit",
    "LayerRow",
    "MultitaskHead",
    "ResNetV2Block",
    "architecture_markdown",
    "architecture_table",
    "ceecnet_segmentation",
    "ceecnet_v1",
    "ceecnet_v2",
    "create_ceecnet",
    "fractal_resnet",
]
