"""One registry for every model of the kit: ``create_model(name, **kwargs)``.

Entries point at ``"module:factory"`` strings and are imported on first use, so
``import ceec_lab`` stays fast and a model's heavy dependencies load only when
that model is asked for.

Conventions every model follows (the training engine relies on them):

* ``model.task`` is ``"segmentation"`` (``forward(x)``) or ``"change"``
  (``forward(x1, x2)``), inputs ``(B, C, H, W)``;
* ``model.output`` is ``"logits"`` (a ``(B, K, H, W)`` tensor of scores),
  ``"probs"`` (probabilities that sum to 1 over ``K``), ``"multitask"`` (a tuple
  ``(segmentation, boundary, distance)`` of probabilities, CEECNet) or
  ``"logits_features"`` (a tuple ``(logits, features)``: the logits and what a loss with
  an auxiliary term needs, LSNet's per-date features for its contrastive loss);
* ``model.input_multiple``: ``H`` and ``W`` must be multiples of this (1: any size),
  so that prediction can pad an image just enough
  (:func:`ceec_lab.train.inference.sliding_window_probs`).
"""

from __future__ import annotations

import importlib

from torch import nn

_MODELS: dict[str, str] = {
    # semantic segmentation
    "fcn32s": "ceec_lab.models.fcn.model:fcn32s",
    "fcn16s": "ceec_lab.models.fcn.model:fcn16s",
    "fcn8s": "ceec_lab.models.fcn.model:fcn8s",
    "unet": "ceec_lab.models.smp_models:unet",
    "deeplabv3": "ceec_lab.models.smp_models:deeplabv3",
    "deeplabv3plus": "ceec_lab.models.smp_models:deeplabv3plus",
    # change detection baselines
    "fc_ef": "ceec_lab.models.siamese.model:fc_ef",
    "fc_siam_conc": "ceec_lab.models.siamese.model:fc_siam_conc",
    "fc_siam_diff": "ceec_lab.models.siamese.model:fc_siam_diff",
    "unet_early_fusion": "ceec_lab.models.smp_models:unet_early_fusion",
    "differencing_otsu": "ceec_lab.models.classical:differencing_otsu",
    # LSNet, the light-weight Siamese detector
    "lsnet": "ceec_lab.models.lsnet.model:lsnet",
    "lsnet_densefpn": "ceec_lab.models.lsnet.model:lsnet_densefpn",
    # CEECNet family
    "ceecnet_v1": "ceec_lab.models.ceecnet.model:ceecnet_v1",
    "ceecnet_v2": "ceec_lab.models.ceecnet.model:ceecnet_v2",
    "fractal_resnet": "ceec_lab.models.ceecnet.model:fractal_resnet",
    "ceecnet_segmentation": "ceec_lab.models.ceecnet.model:ceecnet_segmentation",
}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(_MODELS)


def create_model(name: str, input_scale: float = 1.0, **kwargs) -> nn.Module:
    """Build a model by name.

    Args:
        name: one of :func:`list_models` (case-insensitive, ``-`` and ``_`` alike).
        input_scale: below 1, a change model runs on both dates resized by this factor
            and returns outputs at the input size
            (:class:`~ceec_lab.models.rescaled.Rescaled`; its weights are under ``model.``).
        **kwargs: passed to the model's factory (e.g. ``in_channels``, ``num_classes``).

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    key = name.lower().replace("-", "_")
    if key not in _MODELS:
        raise ValueError(f"unknown model name {name!r}; choose one of: {', '.join(list_models())}")
    module_name, factory_name = _MODELS[key].split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    model = factory(**kwargs)
    if input_scale == 1.0:
        return model
    from ceec_lab.models.rescaled import Rescaled

    return Rescaled(model, input_scale, kwargs.get("in_channels", 3))
