"""Look inside a network: record every FracTAL map of one forward pass.

Example::

    with torch.no_grad(), capture_attention(model) as maps:
        model(x1, x2)
    maps["encoder.0.0.self_attention"][0].spatial  # date 1, (B, 1, H, W)
    maps["encoder.0.0.self_attention"][1].channel  # date 2, (B, C, 1, 1)

Hooks exist only inside the ``with`` block, so a model that is not being
inspected pays nothing. Use it on the eager model, not on a ``torch.compile``d one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ceec_lab.models.nn.attention import AttentionGate, FracTALSimilarity


@dataclass
class AttentionMaps:
    """The similarity maps of one call of one FracTAL layer (detached).

    Attributes:
        spatial: ``(B, 1, H, W)`` where queries and keys agree.
        channel: ``(B, C, 1, 1)`` which feature maps of queries and keys agree.
        gamma: the scalar γ that scales this attention in ``1 + γ·attention``
            (``None`` for an attention used without a gate).
    """

    spatial: Tensor
    channel: Tensor
    gamma: Tensor | None


def _attention_layers(model: nn.Module) -> dict[str, tuple[FracTALSimilarity, Tensor | None]]:
    """Readable name → (similarity module, γ) for every FracTAL layer of ``model``.

    A gated attention is named after its gate (``"fuse_first.relative_12"``),
    an ungated one after the attention module itself.
    """
    layers: dict[str, tuple[FracTALSimilarity, Tensor | None]] = {}
    gated: set[int] = set()
    for name, module in model.named_modules():
        if isinstance(module, AttentionGate):
            layers[name or type(model).__name__] = (module.attention.similarity, module.gamma)
            gated.add(id(module.attention.similarity))
    for name, module in model.named_modules():
        if isinstance(module, FracTALSimilarity) and id(module) not in gated:
            attention_name = name.rpartition(".")[0]  # the module that owns the similarity
            layers[attention_name or type(model).__name__] = (module, None)
    return layers


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[dict[str, list[AttentionMaps]]]:
    """Record the spatial and channel maps of every FracTAL layer while the block runs.

    Args:
        model: any module containing FracTAL attention (a CEECNet, a unit, a Fusion).

    Yields:
        A dict filled during the forward pass: layer name → list of
        :class:`AttentionMaps`, one per call in call order. The Siamese encoder
        runs each unit once per date, so its layers get two entries (date 1,
        date 2); the other layers get one. Names are those of
        ``model.named_modules()``, e.g. ``"encoder.2.0.self_attention"`` (level 2,
        unit 0) or ``"fuse_first.relative_12"``.
    """
    maps: dict[str, list[AttentionMaps]] = {}
    handles: list[RemovableHandle] = []

    def recorder(name: str, gamma: Tensor | None):
        def hook(_module: nn.Module, _inputs: tuple, output: tuple[Tensor, Tensor]) -> None:
            spatial, channel = output
            saved_gamma = None if gamma is None else gamma.detach().clone()
            maps.setdefault(name, []).append(
                AttentionMaps(spatial.detach(), channel.detach(), saved_gamma)
            )

        return hook

    try:
        for name, (similarity, gamma) in _attention_layers(model).items():
            handles.append(similarity.register_forward_hook(recorder(name, gamma)))
        yield maps
    finally:
        for handle in handles:
            handle.remove()
