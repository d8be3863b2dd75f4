"""The budget switch: ``CEEC_LAB_MODE=quick|lab|full`` and its ``CEEC_LAB_QUICK`` alias."""

from __future__ import annotations

import pytest
import torch

import ceec_lab as cl


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("CEEC_LAB_MODE", raising=False)
    monkeypatch.delenv("CEEC_LAB_QUICK", raising=False)
    return monkeypatch


def test_default_is_lab_without_cuda_and_full_with_it(clean_env) -> None:
    clean_env.setattr(torch.cuda, "is_available", lambda: False)
    assert cl.run_mode() == "lab"
    clean_env.setattr(torch.cuda, "is_available", lambda: True)
    assert cl.run_mode() == "full"


@pytest.mark.parametrize("value", ["quick", "lab", "full", " LAB "])
def test_environment_variable_selects_the_budget(clean_env, value: str) -> None:
    clean_env.setenv("CEEC_LAB_MODE", value)
    assert cl.run_mode() == value.strip().lower()


def test_quick_flag_is_an_alias_and_mode_wins_over_it(clean_env) -> None:
    clean_env.setenv("CEEC_LAB_QUICK", "1")
    assert cl.run_mode() == "quick" and cl.is_quick()
    clean_env.setenv("CEEC_LAB_MODE", "lab")
    assert cl.run_mode() == "lab" and not cl.is_quick()


def test_explicit_argument_wins(clean_env) -> None:
    clean_env.setenv("CEEC_LAB_MODE", "quick")
    assert cl.run_mode("full") == "full"


def test_unknown_budget_names_the_variable(clean_env) -> None:
    clean_env.setenv("CEEC_LAB_MODE", "fast")
    with pytest.raises(ValueError, match=r"\$CEEC_LAB_MODE='fast'.*quick.*lab.*full"):
        cl.run_mode()
    with pytest.raises(ValueError, match="mode='slow'"):
        cl.run_mode("slow")


def test_describe_mode_says_budget_cost_and_noise() -> None:
    costs = {"quick": "~1 min", "lab": "~8 min on 2 CPU cores", "full": "~15 min on a GPU"}
    line = cl.describe_mode(costs, "lab")
    assert line.startswith("Budget: lab (~8 min on 2 CPU cores)") and "CEEC_LAB_MODE" in line
    assert "noise" not in line
    assert "noise" in cl.describe_mode(costs, "quick")
