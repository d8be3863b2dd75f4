"""Measure what models cost: a whole model's size, FLOPs and latency, and the memory of
FracTAL vs softmax dot-product attention.

:func:`model_cost` gives the three numbers papers quote for a network (parameters,
GFLOPs per input, CPU latency); notebook 04 and the scripts in ``benchmarks/`` set
them against accuracy.

Dot-product attention (Vaswani et al. 2017) compares every pixel with every
other pixel: for an ``H × W`` feature map it builds an ``(HW) × (HW)`` matrix,
so its memory grows with the *square* of the number of pixels. FracTAL
(paper §3.2) only builds a ``(B, 1, H, W)`` spatial and a ``(B, C, 1, 1)``
channel map, so its memory grows *linearly*. :func:`attention_memory_table`
measures both (:func:`~ceec_lab.models.nn.attention.dot_product_self_attention`
is the layer with its similarity swapped) at the sizes of the paper's depth-6
D6nf32 encoder, forward and backward (training keeps what the backward pass
needs, so that is the cost that matters).

Example::

    rows = attention_memory_table(quick=True)
    print(markdown_memory_table(rows))
"""

from __future__ import annotations

import copy
import math
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from ceec_lab.models.nn import SelfFracTAL, dot_product_self_attention
from ceec_lab.settings import is_quick

#: Bytes in a MiB.
MIB = 2**20

#: Dot-product attention is run only when its ``(HW)²`` float32 matrix is at
#: most this big (its backward holds about three such matrices at once).
DOT_PRODUCT_LIMIT_BYTES = 256 * MIB


def peak_memory(fn: Callable[[], Any], device: str | torch.device = "cpu") -> int:
    """Peak bytes of tensor memory allocated while ``fn()`` runs, above what was live before.

    On CUDA this is the allocator's own high-water mark
    (``torch.cuda.max_memory_allocated``). On the CPU there is no such counter,
    so the PyTorch profiler records every allocation and free of the CPU
    allocator (``profile_memory=True``) and the peak of their running sum is
    returned: the same quantity, memory the kernels' scratch buffers included.

    Args:
        fn: the work to measure, e.g. ``lambda: layer(x).sum().backward()``.
        device: where ``fn`` allocates (``"cpu"`` or a CUDA device).

    Returns:
        The peak, in bytes (0 if ``fn`` allocates nothing).
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__}")
    device = torch.device(device)
    if device.type == "cuda":
        return _cuda_peak_memory(fn, device)
    if device.type != "cpu":
        raise ValueError(f"device must be 'cpu' or a CUDA device, got {device}")
    return _cpu_peak_memory(fn)


def _cuda_peak_memory(fn: Callable[[], Any], device: torch.device) -> int:
    torch.cuda.synchronize(device)
    baseline = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return max(torch.cuda.max_memory_allocated(device) - baseline, 0)


def _cpu_peak_memory(fn: Callable[[], Any]) -> int:
    # Kineto, the profiler's backend, prints its own progress lines unless told not to.
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()  # > 0 for an allocation, < 0 for a free
        peak = max(peak, live)
    return peak


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of ``model`` (those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _model_inputs(model: nn.Module, size: int, in_channels: int, device: torch.device) -> list:
    """One random input (a pair for a change model) of ``(1, in_channels, size, size)``."""
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    count = 2 if getattr(model, "task", "segmentation") == "change" else 1
    generator = torch.Generator().manual_seed(0)
    shape = (1, in_channels, size, size)
    return [torch.rand(shape, generator=generator).to(device) for _ in range(count)]


def _model_device(model: nn.Module) -> torch.device:
    tensors = [*model.parameters(), *model.buffers()]
    return tensors[0].device if tensors else torch.device("cpu")


def count_flops(model: nn.Module, size: int = 256, in_channels: int = 3) -> int:
    """FLOPs of one forward pass of ``model`` on one ``size × size`` input (pair).

    Counted by ``torch.utils.flop_counter.FlopCounterMode``: convolutions and matrix
    products (transposed too), each multiply-add counted as **2** FLOPs. Element-wise
    work (activations, normalisation, pooling, interpolation) is not counted; papers
    that quote "FLOPs" from ``thop`` or ``ptflops`` usually count multiply-adds, half
    of this number.

    Args:
        model: a kit model (``task == "change"`` gets two inputs).
        size: height and width of the input.
        in_channels: bands of each input.
    """
    inputs = _model_inputs(model, size, in_channels, _model_device(model))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*inputs)
    finally:
        model.train(was_training)
    return counter.get_total_flops()


def cpu_latency(
    model: nn.Module, size: int = 256, in_channels: int = 3, repeats: int = 5, warmup: int = 1
) -> float:
    """Median wall time, in seconds, of one forward pass on the CPU (one input or pair).

    The model runs in eval mode under ``torch.no_grad()`` (a copy is moved to the CPU
    if it lives elsewhere), ``warmup`` times unmeasured, then ``repeats`` times; the
    median resists the odd slow run. The result depends on the machine and on
    ``torch.get_num_threads()``.

    Args:
        model: a kit model.
        size: height and width of the input.
        in_channels: bands of each input.
        repeats: measured runs (>= 1).
        warmup: unmeasured runs first (>= 0): allocations, kernel choice.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats}, {warmup}")
    if _model_device(model).type != "cpu":
        model = copy.deepcopy(model).cpu()
    inputs = _model_inputs(model, size, in_channels, torch.device("cpu"))
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch.no_grad():
            for i in range(warmup + repeats):
                start = time.perf_counter()
                model(*inputs)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    return statistics.median(times)


def model_cost(
    model: nn.Module,
    size: int = 256,
    latency_size: int | None = None,
    in_channels: int = 3,
    repeats: int = 5,
    warmup: int = 1,
) -> dict[str, Any]:
    """What one forward pass of ``model`` costs: parameters, GFLOPs and CPU latency.

    Args:
        model: a kit model.
        size: input side for the FLOP count.
        latency_size: input side for the latency (default ``size``); a smaller one is
            quicker to measure. ``0`` skips the latency, and so does a model that
            refuses this size (its input check raises ``ValueError``: CEECNet D6nf32
            takes only multiples of 256).
        in_channels: bands of each input.
        repeats, warmup: of the latency (:func:`cpu_latency`).

    Returns:
        ``{"params", "gflops" (FLOPs / 1e9, multiply-add = 2), "latency_ms" (None when
        skipped), "latency_gflops" (GFLOPs at ``latency_size``, None when skipped),
        "size", "latency_size", "threads"}``.
    """
    latency_size = size if latency_size is None else latency_size
    latency = None
    if latency_size:
        try:
            latency = 1000 * cpu_latency(model, latency_size, in_channels, repeats, warmup)
        except ValueError:  # the model's own input check: it cannot take this size
            latency = None
    gflops = count_flops(model, size, in_channels) / 1e9
    latency_gflops = None
    if latency is not None:
        same = latency_size == size
        latency_gflops = gflops if same else count_flops(model, latency_size, in_channels) / 1e9
    return {
        "params": count_parameters(model),
        "gflops": gflops,
        "latency_ms": latency,
        "latency_gflops": latency_gflops,
        "size": size,
        "latency_size": latency_size or None,
        "threads": torch.get_num_threads(),
    }


#: What the F1 column says for a model that was not trained in the current budget.
NOT_TRAINED = "not trained in this budget"


def cost_table(
    models: Mapping[str, nn.Module],
    f1: Mapping[str, float | None],
    size: int = 256,
    latency_size: int | None = None,
    repeats: int = 5,
    warmup: int = 1,
) -> list[dict[str, Any]]:
    """Accuracy against cost: one row per model, with LSNet's efficiency measures.

    The LSNet paper judges a detector by what its accuracy costs; here that is the
    change-F1 per million parameters and per GFLOP, computed from the measured numbers.
    A model without an F1 (not trained in this budget) gets its costs but no F1 and no
    efficiency; so does a model with no parameters or no counted FLOPs (differencing +
    Otsu: an efficiency over zero cost means nothing).

    Args:
        models: name → model.
        f1: name → change-F1 in [0, 1]; a missing name or ``None`` means not trained.
        size, latency_size, repeats, warmup: as :func:`model_cost`.

    Returns:
        One dict per model, in the order of ``models``: ``model``, the keys of
        :func:`model_cost`, ``f1`` (or ``None``), ``f1_per_mparam``, ``f1_per_gflop``.
    """
    rows = []
    for name, model in models.items():
        row = {
            "model": name,
            **model_cost(model, size, latency_size, repeats=repeats, warmup=warmup),
        }
        score = f1.get(name)
        if score is not None and not 0.0 <= score <= 1.0:
            raise ValueError(f"f1[{name!r}] must be in [0, 1], got {score}")
        row["f1"] = score
        row["f1_per_mparam"] = _ratio(score, row["params"] / 1e6)
        row["f1_per_gflop"] = _ratio(score, row["gflops"])
        rows.append(row)
    return rows


def _ratio(score: float | None, cost: float) -> float | None:
    return None if score is None or cost <= 0 else score / cost


def markdown_cost_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`cost_table` as a Markdown table (F1 in percent)."""
    size, latency_size = rows[0]["size"], rows[0]["latency_size"]
    latency = f"CPU ms per pair ({latency_size}²)" if latency_size else "CPU ms"
    lines = [
        f"| model | parameters | GFLOPs per {size}² pair | {latency} | change-F1 (%) "
        "| F1 per M parameters | F1 per GFLOP |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [
            f"{r['params']:,}",
            f"{r['gflops']:.2f}",
            "–" if r["latency_ms"] is None else f"{r['latency_ms']:.1f}",
            NOT_TRAINED if r["f1"] is None else f"{100 * r['f1']:.1f}",
            "–" if r["f1_per_mparam"] is None else f"{r['f1_per_mparam']:.3f}",
            "–" if r["f1_per_gflop"] is None else f"{r['f1_per_gflop']:.3f}",
        ]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summarise_costs(rows: Sequence[dict[str, Any]], focus: str) -> str:
    """What the rows of :func:`cost_table` show, in Markdown sentences built from the numbers.

    Args:
        rows: the cost table.
        focus: the model to set against the largest one (e.g. ``"lsnet"``).

    Returns:
        Bullet points: the most accurate model, the most efficient ones, ``focus``'s
        share of the largest model's parameters and FLOPs, the spread of CPU time per
        GFLOP, and which models have no F1.
    """
    by_name = {r["model"]: r for r in rows}
    if focus not in by_name:
        raise ValueError(f"focus {focus!r} is not a model of the table: {', '.join(by_name)}")
    scored = [r for r in rows if r["f1"] is not None]
    lines = []
    if scored:
        best = max(scored, key=lambda r: r["f1"])
        lines.append(
            f"highest change-F1: **{best['model']}**, {100 * best['f1']:.1f} %, at "
            f"{best['gflops']:.2f} GFLOPs and {best['params'] / 1e6:.2f} M parameters"
        )
    for key, unit in (("f1_per_gflop", "GFLOP"), ("f1_per_mparam", "M parameters")):
        rated = [r for r in rows if r[key] is not None]
        if rated:
            top = max(rated, key=lambda r: r[key])
            lines.append(f"most F1 per {unit}: **{top['model']}** ({top[key]:.3f})")
    lines.append(_share_of_largest(by_name[focus], max(rows, key=lambda r: r["params"])))
    lines.append(_time_per_gflop(rows))
    untrained = [r["model"] for r in rows if r["f1"] is None]
    if untrained:
        lines.append(f"no F1 (not trained in this budget): {', '.join(untrained)}")
    return "\n".join(f"* {line}" for line in lines if line)


def _share_of_largest(row: dict[str, Any], largest: dict[str, Any]) -> str:
    if row is largest or largest["gflops"] <= 0:
        return ""
    return (
        f"{row['model']} has {row['params'] / largest['params']:.1%} of the parameters and "
        f"{row['gflops'] / largest['gflops']:.1%} of the FLOPs of {largest['model']}, the "
        "largest model here"
    )


def _time_per_gflop(rows: Sequence[dict[str, Any]]) -> str:
    timed = [r for r in rows if r["latency_ms"] is not None and r["latency_gflops"] > 0]
    if len(timed) < 2:
        return ""
    per = {r["model"]: r["latency_ms"] / r["latency_gflops"] for r in timed}
    low, high = min(per, key=per.get), max(per, key=per.get)
    return (
        f"CPU time per GFLOP ranges from {per[low]:.0f} ms ({low}) to {per[high]:.0f} ms "
        f"({high}), a factor of {per[high] / per[low]:.1f}"
    )


def encoder_level_shape(level: int, nfilters: int = 32, size: int = 256) -> tuple[int, int]:
    """``(channels, side)`` of encoder level ``level`` of a D6nf32 CEECNet on ``size`` inputs."""
    return nfilters * 2**level, size // 2**level


def _training_peak(forward: Callable[[Tensor], Tensor], layer: nn.Module, x: Tensor) -> int:
    """Peak memory of ``forward(x).sum().backward()``, starting with no gradients."""
    layer.zero_grad(set_to_none=True)
    x.grad = None
    return peak_memory(lambda: forward(x).sum().backward(), x.device)


def attention_memory_row(
    level: int,
    size: int = 256,
    device: str | torch.device = "cpu",
    max_matrix_bytes: int = DOT_PRODUCT_LIMIT_BYTES,
    seed: int = 0,
) -> dict[str, Any]:
    """Measure one encoder level: FracTAL and (when it fits) dot-product attention.

    Both run forward + backward on one ``(1, C, side, side)`` map through the
    same :class:`~ceec_lab.models.nn.SelfFracTAL` layer (``nheads = 4·2^level``,
    GroupNorm, depth 5, as in CEECNet's units).

    Args:
        level: encoder level ``i``: ``C = 32·2^i`` channels on a ``size/2^i`` map.
        size: side of the network's input.
        device: where to measure (see :func:`peak_memory`).
        max_matrix_bytes: run dot-product attention only if one ``(HW)²``
            float32 matrix is at most this big.
        seed: seed of the layer's weights and of the input.

    Returns:
        A dict with ``level, channels, side, pixels`` (= HW), ``fractal_bytes``,
        ``matrix_bytes`` (one float32 ``(HW)²`` matrix, the least dot-product
        attention can need), ``dot_product_bytes`` (measured, or ``None`` when
        not run) and ``dot_product``, a readable label of either.
    """
    if not isinstance(level, int) or level < 0 or size % 2**level:
        raise ValueError(f"level must be an int >= 0 with size divisible by 2**level, got {level}")
    channels, side = encoder_level_shape(level, size=size)
    torch.manual_seed(seed)
    layer = SelfFracTAL(channels, channels, nheads=4 * 2**level, norm="group").to(device)
    x = torch.rand(1, channels, side, side, device=device, requires_grad=True)
    pixels = side * side
    row: dict[str, Any] = dict(level=level, channels=channels, side=side, pixels=pixels)
    row["fractal_bytes"] = _training_peak(layer, layer, x)
    row["matrix_bytes"] = matrix_bytes = pixels**2 * 4
    if matrix_bytes <= max_matrix_bytes:
        dot_product = partial(dot_product_self_attention, layer)
        row["dot_product_bytes"] = _training_peak(dot_product, layer, x)
        row["dot_product"] = format_bytes(row["dot_product_bytes"])
    else:
        row["dot_product_bytes"] = None
        row["dot_product"] = f"not run, would need ≥ {format_bytes(matrix_bytes)}"
    return row


def attention_memory_table(
    levels: Sequence[int] | None = None,
    quick: bool | None = None,
    device: str | torch.device = "cpu",
) -> list[dict[str, Any]]:
    """Peak memory of FracTAL vs dot-product attention at the levels of a D6nf32 encoder.

    Level ``i`` has ``C = 32·2^i`` channels on a ``256/2^i`` square map, batch 1.
    Dot-product attention is measured where its ``(HW)²`` matrix fits in
    :data:`DOT_PRODUCT_LIMIT_BYTES`; elsewhere the row gives the analytic lower
    bound (one float32 matrix) and says it was not run.

    Args:
        levels: encoder levels to measure; default all six (levels 1-5 in quick mode,
            which skips the biggest map, the slowest to measure on a CPU).
        quick: quick mode; ``None`` reads ``CEEC_LAB_QUICK`` (see :func:`ceec_lab.is_quick`).
        device: where to measure (see :func:`peak_memory`).

    Returns:
        One dict per level, as :func:`attention_memory_row` returns.
    """
    if levels is None:
        levels = range(1, 6) if is_quick(quick) else range(6)
    return [attention_memory_row(level, device=device) for level in levels]


def format_bytes(nbytes: float) -> str:
    """``1536`` → ``"1.5 KiB"``: bytes in the largest binary unit (up to GiB) that gives ≥ 1."""
    exponent = min(int(math.log(max(abs(nbytes), 1), 1024)), 3)
    if exponent == 0:
        return f"{nbytes:.0f} B"
    return f"{nbytes / 1024**exponent:.1f} {('KiB', 'MiB', 'GiB')[exponent - 1]}"


def markdown_memory_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`attention_memory_table` as a Markdown table."""
    lines = [
        "| level | C | H = W | HW | FracTAL | one (HW)² matrix | dot-product |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['level']} | {r['channels']} | {r['side']} | {r['pixels']} | "
            f"{format_bytes(r['fractal_bytes'])} | {format_bytes(r['matrix_bytes'])} | "
            f"{r['dot_product']} |"
        )
    return "\n".join(lines)


__all__ = [
    "DOT_PRODUCT_LIMIT_BYTES",
    "NOT_TRAINED",
    "attention_memory_row",
    "attention_memory_table",
    "cost_table",
    "count_flops",
    "count_parameters",
    "cpu_latency",
    "encoder_level_shape",
    "format_bytes",
    "markdown_cost_table",
    "markdown_memory_table",
    "model_cost",
    "peak_memory",
    "summarise_costs",
]
