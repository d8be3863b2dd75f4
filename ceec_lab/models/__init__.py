"""Models: FCN/U-Net/DeepLab baselines, Siamese change detectors and CEECNet.

Build any of them by name with :func:`create_model`; see
:mod:`ceec_lab.models.registry` for the input/output conventions.
"""

from ceec_lab.models.registry import create_model, list_models

__all__ = ["create_model", "list_models"]
