"""How a mantis model is put together, read off a real forward pass with hooks.

:func:`architecture_table` registers a forward hook on every part of a
:class:`~ceec_lab.models.ceecnet.CEECNet` (the stem, each encoder level, its
skip Fusion and DownSample, the PSP middle, each decoder level and the
multitask head), runs one forward pass and records what each part returned and
how many parameters it holds. Nothing is typed by hand, so the table is the
model's own account of the paper's Fig. 6 (the mantis CEECNetV1 architecture) at
whatever preset it was built with.

Example::

    model = ceecnet_v1(preset="ceecnet-tiny", norm="group")
    rows = architecture_table(model, torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    print(architecture_markdown(rows))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ceec_lab.models.ceecnet.model import MantisDecoder

#: What each attribute of the model does, for the table's "role" column.
ROLES: dict[str, str] = {
    "conv_first": "1×1 conv, each date",
    "fuse_first": "Fusion of the two dates (conditions the head)",
    "encoder": "units, each date (shared weights)",
    "skip_fusions": "Fusion of the two dates → skip",
    "downsamples": "halve H, W; double the filters",
    "middle": "PSP pooling of both dates",
    "combines": "upsample, join the skip",
    "units": "units",
    "head": "distance → boundary → segmentation",
}


@dataclass
class LayerRow:
    """One part of the model as the forward pass met it.

    Attributes:
        part: ``"stem"``, ``"encoder"``, ``"middle"``, ``"decoder"`` or ``"head"``.
        level: the resolution level of its output: ``H / 2^level`` (0 = full size,
            ``depth − 1`` = deepest).
        name: the module's attribute path in the model, e.g. ``"encoder.2"``.
        kind: the module's class name, e.g. ``"CEECUnitV1"``.
        role: what it does (see :data:`ROLES`).
        shapes: the output shape(s) of its first call, without the batch axis.
        calls: how often the forward pass called it (2 for the Siamese encoder).
        params: its trainable parameters (counted once, however often it is called).
    """

    part: str
    level: int
    name: str
    kind: str
    role: str
    shapes: list[tuple[int, ...]]
    calls: int
    params: int


def _parts(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's top-level parts, with ``ModuleList`` s and the decoder opened one level."""
    parts = []
    for name, child in model.named_children():
        if isinstance(child, MantisDecoder):
            parts += [(f"{name}.{sub}", module) for sub, module in child.named_children()]
        else:
            parts.append((name, child))
    opened = []
    for name, child in parts:
        if isinstance(child, nn.ModuleList):
            opened += [(f"{name}.{i}", module) for i, module in enumerate(child)]
        else:
            opened.append((name, child))
    return opened


def _place(name: str, depth: int) -> tuple[str, int]:
    """``(part, level)`` of the module at attribute path ``name`` in a model of ``depth``."""
    stem, *index = name.split(".")
    i = int(index[-1]) if index and index[-1].isdigit() else 0
    if stem in ("encoder", "skip_fusions", "downsamples"):
        return "encoder", i
    if stem == "middle":
        return "middle", depth - 1
    if stem == "decoder":
        return "decoder", depth - 2 - i  # decoder.*.0 brings the deepest map up one level
    return ("head" if stem == "head" else "stem"), 0


def _shapes(output: Tensor | tuple[Tensor, ...]) -> list[tuple[int, ...]]:
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    return [tuple(out.shape[1:]) for out in outputs]


@torch.no_grad()
def architecture_table(model: nn.Module, *inputs: Tensor) -> list[LayerRow]:
    """Run ``model(*inputs)`` once and describe every part it went through, in order.

    Args:
        model: a :class:`~ceec_lab.models.ceecnet.CEECNet` (inputs ``x1, x2``) or
            :class:`~ceec_lab.models.ceecnet.CEECNetSegmentation` (input ``x``).
        *inputs: tensors of shape ``(B, C, H, W)``; one sample is enough.

    Returns:
        One :class:`LayerRow` per part, in the order the forward pass first called
        it. The rows' ``params`` add up to the model's trainable parameters.
    """
    depth = model.config.depth
    rows: dict[str, LayerRow] = {}

    def hook(name: str, module: nn.Module):
        def record(_: nn.Module, __: tuple, output: Tensor | tuple[Tensor, ...]) -> None:
            if name in rows:
                rows[name].calls += 1
                return
            part, level = _place(name, depth)
            params = sum(p.numel() for p in module.parameters() if p.requires_grad)
            role = ROLES.get(name.split(".")[-2 if name[-1].isdigit() else -1], "")
            kind = type(module).__name__
            if type(module) is nn.Sequential:  # a level of units
                kind = f"{len(module)} × {type(module[0]).__name__}"
            rows[name] = LayerRow(part, level, name, kind, role, _shapes(output), 1, params)

        return record

    handles = [module.register_forward_hook(hook(name, module)) for name, module in _parts(model)]
    was_training = model.training
    try:
        model.eval()
        model(*inputs)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return list(rows.values())


def architecture_markdown(rows: list[LayerRow]) -> str:
    """The rows of :func:`architecture_table` as a Markdown table, with a total line.

    Display it in a notebook with ``IPython.display.Markdown(...)``.
    """
    lines = [
        "| part | level | module | role | output (C × H × W) | calls | parameters |",
        "|---|---:|---|---|---|---:|---:|",
    ]
    for row in rows:
        shapes = ", ".join(" × ".join(map(str, shape)) for shape in row.shapes)
        lines.append(
            f"| {row.part} | {row.level} | `{row.name}` {row.kind} | {row.role} | {shapes} "
            f"| {row.calls} | {row.params:,} |"
        )
    total = sum(row.params for row in rows)
    lines.append(f"| **total** | | | | | | **{total:,}** |")
    return "\n".join(lines)
