"""Input checks and weight loading shared by every model of the kit.

A network that halves its input ``n`` times can only take heights and widths that
are multiples of ``2**n``; feeding it anything else fails deep inside a
convolution or a concatenation with a message about tensor sizes. These helpers
check the input at the door instead and say what to do about it.

:func:`load_weights` fills any model from a local state-dict file; every model
factory of the registry takes its ``weights_path=`` argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from torch import Tensor, nn

from ceec_lab.files import load_torch

#: Any module type: :func:`load_weights` returns the model it was given, typed as such.
ModelT = TypeVar("ModelT", bound=nn.Module)


def nearest_valid_size(size: int, multiple: int) -> int:
    """The multiple of ``multiple`` closest to ``size`` (ties go up: padding loses nothing).

    >>> nearest_valid_size(70, 32), nearest_valid_size(48, 32), nearest_valid_size(10, 32)
    (64, 64, 32)
    """
    lower = (size // multiple) * multiple
    upper = lower + multiple
    if lower == 0 or upper - size <= size - lower:
        return upper
    return lower


def check_image(x: Tensor, name: str, in_channels: int, multiple: int = 1) -> None:
    """Check that ``x`` is ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of ``multiple``.

    Args:
        x: the input tensor.
        name: the argument's name in the model's ``forward`` (``"x"``, ``"x1"``), used
            in the error message.
        in_channels: the channel count the model was built for.
        multiple: heights and widths must be multiples of this (``2**n`` for a network
            that downsamples ``n`` times; 1 accepts any size).

    Raises:
        TypeError: when ``x`` is not a tensor.
        ValueError: for a wrong number of dimensions or channels, or a size the model
            cannot take (the message gives the nearest valid size).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, C, H, W), got {type(x)}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{name} has {x.shape[1]} channels but the model was built with "
            f"in_channels={in_channels} (shape {tuple(x.shape)})"
        )
    for axis, size in (("height", x.shape[2]), ("width", x.shape[3])):
        if size % multiple != 0:
            raise ValueError(
                f"{name} has {axis} {size}, which is not a multiple of {multiple} "
                f"(the model halves its input {multiple.bit_length() - 1} times); "
                f"pad or crop it to the nearest valid size, {nearest_valid_size(size, multiple)}"
            )


def check_pair(x1: Tensor, x2: Tensor, in_channels: int, multiple: int = 1) -> None:
    """Check the two dates of a change-detection input: same shape, each valid.

    Args:
        x1: first date, ``(B, in_channels, H, W)``.
        x2: second date, same shape as ``x1``.
        in_channels: channels of *one* date.
        multiple: see :func:`check_image`.

    Raises:
        TypeError, ValueError: as :func:`check_image`, and when the shapes differ.
    """
    check_image(x1, "x1", in_channels, multiple)
    check_image(x2, "x2", in_channels, multiple)
    if x1.shape != x2.shape:
        raise ValueError(
            f"x1 and x2 must have the same shape, got {tuple(x1.shape)} and {tuple(x2.shape)}"
        )


def load_weights(model: ModelT, weights_path: str | Path | None) -> ModelT:
    """Fill ``model`` from a file saved with ``torch.save(model.state_dict(), path)``; return it.

    Every registered model factory takes ``weights_path=`` and ends with this call,
    so ``create_model(name, ..., weights_path=path)`` builds the model and loads it.
    The file is read by :func:`ceec_lab.files.load_torch` (``weights_only=True``: no
    code in it runs) onto the CPU; the load is strict, so every parameter must be
    present with the right shape.

    Args:
        model: the module to fill in place.
        weights_path: path to the ``.pt``/``.pth`` file; ``None`` leaves ``model`` as built.

    Returns:
        ``model``.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file cannot be read, holds no state dict (a mapping of
            names to tensors; a trainer checkpoint keeps it under ``"model"``), or its
            names or shapes do not match ``model`` (the message lists the first few
            missing, unexpected and mis-shaped entries). Every message names the file.
    """
    if weights_path is None:
        return model
    state_dict = load_torch(weights_path)
    if not all(isinstance(value, Tensor) for value in state_dict.values()):
        raise ValueError(
            f"{weights_path}: holds no state dict (name -> tensor) but keys "
            f"{sorted(state_dict)[:6]}; save one with torch.save(model.state_dict(), path) "
            "(a trainer checkpoint loads with ceec_lab.train.load_model)"
        )
    problems = state_dict_mismatches(model.state_dict(), state_dict)
    if problems:
        raise ValueError(
            f"{weights_path}: does not fit {type(model).__name__}: "
            + "; ".join(problems)
            + " (was it saved from a model built with the same arguments?)"
        )
    model.load_state_dict(state_dict)
    return model


def state_dict_mismatches(expected: dict[str, Tensor], found: dict[str, Tensor]) -> list[str]:
    """Human-readable differences between two state dicts (at most 3 names per kind)."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [
        f"{k} {tuple(found[k].shape)} in file vs {tuple(v.shape)} in model"
        for k, v in expected.items()
        if k in found and found[k].shape != v.shape
    ]
    problems = []
    for label, names in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
        if names:
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            problems.append(f"{len(names)} {label}: {', '.join(names[:3])}{more}")
    return problems
