"""Trainable-parameter parity with the MXNet reference (REFERENCE §3), every row.

The whole D6nf32 models are only built (a few seconds each), never run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from torch import nn

from ceec_lab.models import create_model
from ceec_lab.models.ceecnet import CEECUnitV1, CEECUnitV2, FracTALResNetUnit, MultitaskHead
from ceec_lab.models.nn import Fusion, PSPPooling, SelfFracTAL


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


NORMS = ["batch", "group"]

MODEL_ROWS = [
    ("ceecnet_v1", 40_023_420),
    ("ceecnet_v2", 64_270_238),
    ("fractal_resnet", 23_563_230),
]

UNIT_ROWS: list[tuple[str, Callable[..., nn.Module], int]] = [
    ("CEEC unit V1 (64, nheads 8)", lambda **n: CEECUnitV1(64, 8, **n), 79_331),
    ("CEEC unit V2 (64, nheads 8)", lambda **n: CEECUnitV2(64, 8, **n), 151_209),
    ("FracTAL ResNet unit (64, nheads 8)", lambda **n: FracTALResNetUnit(64, 8, **n), 23_873),
    ("Self FracTAL (64 keys, nheads 8)", lambda **n: SelfFracTAL(64, 64, 8, **n), 14_336),
    ("Fusion (64, nheads 8)", lambda **n: Fusion(64, 8, **n), 38_018),
    ("PSP pooling (128 -> 64, psp_depth 4)", lambda **n: PSPPooling(128, 64, 4, **n), 57_984),
    ("Multitask head (nf 32, 2 classes)", lambda **n: MultitaskHead(32, 2, **n), 100_551),
]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(("name", "expected"), MODEL_ROWS, ids=[r[0] for r in MODEL_ROWS])
def test_d6nf32_model_parameter_count(name: str, expected: int, norm: str) -> None:
    model = create_model(name, depth=6, nfilters=32, nheads_start=4, psp_depth=4, norm=norm)
    assert count(model) == expected


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(("name", "build", "expected"), UNIT_ROWS, ids=[r[0] for r in UNIT_ROWS])
def test_unit_parameter_count(
    name: str, build: Callable[..., nn.Module], expected: int, norm: str
) -> None:
    assert count(build(norm=norm, norm_groups=4)) == expected


def test_d6nf32_preset_is_the_default_model() -> None:
    assert count(create_model("ceecnet_v1", preset="ceecnet-d6nf32")) == 40_023_420


@pytest.mark.parametrize("norm", ["instance", "layer"])
def test_other_norms_have_the_same_count(norm: str) -> None:
    """Every norm has one affine pair per channel, so the counts do not change."""
    assert count(CEECUnitV1(64, 8, norm=norm)) == 79_331
