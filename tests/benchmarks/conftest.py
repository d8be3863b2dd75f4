"""The scripts of ``benchmarks/`` as modules, for their tests (``benchmarks/`` is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from ceec_lab.settings import PROJECT_ROOT


@pytest.fixture(scope="session")
def load_script() -> Iterator[Callable[[str], ModuleType]]:
    """``load_script("baselines")`` imports ``benchmarks/baselines.py`` and returns it.

    The module is registered in ``sys.modules`` while the session runs (dataclasses look
    their module up there) and removed afterwards.
    """
    loaded: list[str] = []

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(
            name, PROJECT_ROOT / "benchmarks" / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)
