"""CPU threads: the thread-count rule, the OpenMP wait policy set on import, the busy loop."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import torch

from ceec_lab.cli import main
from ceec_lab.cpu import (
    ThreadSettings,
    busy_core,
    configure_cpu_threads,
    usable_cores,
    wait_policy_in_force,
)
from ceec_lab.settings import PROJECT_ROOT


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_explicit_thread_count_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    settings = configure_cpu_threads(1)
    assert settings.threads == torch.get_num_threads() == 1
    assert settings.wait_policy == wait_policy_in_force()


def test_omp_num_threads_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert configure_cpu_threads().threads == torch.get_num_threads() == 1


def test_default_is_every_usable_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("ceec_lab.cpu.usable_cores", lambda: 3)
    assert configure_cpu_threads().threads == torch.get_num_threads() == 3


def test_usable_cores_counts_the_affinity_mask() -> None:
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_bad_thread_count_names_the_argument(threads) -> None:
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        configure_cpu_threads(threads)


def test_bad_omp_num_threads_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "two")
    with pytest.raises(ValueError, match=r"\$OMP_NUM_THREADS"):
        configure_cpu_threads()


def test_summary_line_says_how_to_fix_spinning_threads() -> None:
    assert "import ceec_lab before torch" in str(ThreadSettings(2, "spin"))
    assert "import ceec_lab before torch" not in str(ThreadSettings(2, "PASSIVE"))


# A fresh interpreter records OMP_WAIT_POLICY at the moment torch is first imported.
_PROBE = """
import os, sys
seen = []
class Probe:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not seen:
            seen.append(os.environ.get("OMP_WAIT_POLICY"))
sys.meta_path.insert(0, Probe())
{imports}
from ceec_lab.cpu import wait_policy_in_force
print(seen[0], os.environ.get("OMP_WAIT_POLICY"), wait_policy_in_force())
"""


@pytest.mark.parametrize(
    ("imports", "user_policy", "expected"),
    [
        ("import ceec_lab", None, "PASSIVE PASSIVE PASSIVE"),  # set before torch loads
        ("import torch, ceec_lab", None, "None PASSIVE spin"),  # too late: libgomp's default
        ("import ceec_lab", "ACTIVE", "ACTIVE ACTIVE ACTIVE"),  # the user's choice wins
    ],
    ids=["ceec_lab-first", "torch-first", "user-set"],
)
def test_import_sets_the_wait_policy_before_torch(imports, user_policy, expected) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if user_policy is not None:
        env["OMP_WAIT_POLICY"] = user_policy
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")])
    code = _PROBE.format(imports=imports)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected.split()


def test_cli_applies_the_policy(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    torch.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["info"]) == 0
    assert torch.get_num_threads() == 1
    assert "CPU: 1 torch thread(s), OpenMP wait policy" in capsys.readouterr().out


def test_busy_core_runs_during_the_block_and_is_reaped_after() -> None:
    with busy_core(max_seconds=60) as process:
        assert process.poll() is None  # still spinning
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)  # killed and reaped, not a zombie


def test_busy_core_is_cleaned_up_when_the_block_raises() -> None:
    with pytest.raises(KeyboardInterrupt), busy_core(max_seconds=60) as process:
        raise KeyboardInterrupt
    assert process.returncode is not None


def test_busy_loop_ends_by_itself_at_its_limit() -> None:
    with busy_core(max_seconds=0.2) as process:
        assert process.wait(timeout=60) == 0  # exited on its own, not killed


def test_busy_core_rejects_a_bad_limit() -> None:
    with pytest.raises(ValueError, match="max_seconds"), busy_core(max_seconds=0):
        pass
