"""CPU threads on a shared machine: how many, and how they wait.

PyTorch runs its CPU kernels on OpenMP threads (GNU libgomp in the Linux wheels).
At the end of every parallel loop the threads that finished first wait for the
last one. By default libgomp makes them *spin* (burn CPU) for a while before
sleeping. On a quiet machine that saves a few microseconds per loop; on a
machine where another process (a browser, a second notebook) holds a core, it is
a disaster: the spinning threads take CPU time from the one thread that still
has work. On a busy 2-core machine a CEECNet D6nf32 training step took about 8x
longer with spinning threads than with sleeping ones (``benchmarks/RESULTS.md``).
With ``OMP_WAIT_POLICY=PASSIVE`` waiting threads sleep at once and give their core
back.

libgomp reads ``OMP_WAIT_POLICY`` once, when it is loaded, i.e. when ``torch`` is
first imported; nothing can change it afterwards. So ``import ceec_lab`` sets
``OMP_WAIT_POLICY=PASSIVE`` (unless you set it yourself) *before* it imports
torch. That works only if ``ceec_lab`` is imported before ``torch`` (or before
any other library that loads libgomp); :func:`configure_cpu_threads` reports
whether it did. Child processes (DataLoader workers, ``torchrun``) inherit it.

:func:`busy_core` starts a bounded busy-loop process, to see what load does to a
training step (``benchmarks/ceecnet_cpu_step.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: The environment variable libgomp reads when it loads.
WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
#: The policy :mod:`ceec_lab` asks for: waiting threads sleep instead of spinning.
WAIT_POLICY = "PASSIVE"
THREADS_ENV = "OMP_NUM_THREADS"

# Runs on ``import ceec_lab`` (its ``__init__`` imports this module first, before torch).
_TORCH_LOADED_FIRST = "torch" in sys.modules
_USER_WAIT_POLICY = os.environ.get(WAIT_POLICY_ENV)
os.environ.setdefault(WAIT_POLICY_ENV, WAIT_POLICY)


def wait_policy_in_force() -> str:
    """The wait policy OpenMP read when torch loaded: ``"PASSIVE"``, ``"ACTIVE"`` or ``"spin"``.

    ``"spin"`` is libgomp's default (spin a while, then sleep); it is what you get
    when ``torch`` was imported before ``ceec_lab`` without ``OMP_WAIT_POLICY`` set.
    """
    if _TORCH_LOADED_FIRST:
        policy = _USER_WAIT_POLICY  # what was in the environment when torch loaded
    else:
        policy = os.environ.get(WAIT_POLICY_ENV)
    policy = (policy or "").strip().upper()
    return policy if policy in ("PASSIVE", "ACTIVE") else "spin"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else ``os.cpu_count()``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ThreadSettings:
    """What :func:`configure_cpu_threads` set.

    Attributes:
        threads: torch's intra-op CPU threads.
        wait_policy: what OpenMP's waiting threads do, see :func:`wait_policy_in_force`.
    """

    threads: int
    wait_policy: str

    def __str__(self) -> str:
        line = f"CPU: {self.threads} torch thread(s), OpenMP wait policy {self.wait_policy}"
        if self.wait_policy == "PASSIVE":
            return line + " (idle threads sleep: a busy core costs little)"
        return line + (
            " (idle threads spin: slow when another program holds a core; "
            "import ceec_lab before torch, or set OMP_WAIT_POLICY=PASSIVE before Python starts)"
        )


def configure_cpu_threads(threads: int | None = None) -> ThreadSettings:
    """Set torch's CPU thread count for a machine shared with other programs.

    The thread count: ``threads`` if given, else ``$OMP_NUM_THREADS`` if set, else
    every usable core. With passive waiting (set by ``import ceec_lab``) a busy
    core costs little: measured on 2 cores, a CEECNet D6nf32 step with one core
    held by a busy loop took 1.07x the step without it with 2 threads, while one
    thread took 2.4x longer than two (``benchmarks/RESULTS.md``).

    Args:
        threads: the thread count, ``>= 1``; ``None`` for the rule above.

    Returns:
        The :class:`ThreadSettings` in force; ``print`` it for a one-line summary.

    Raises:
        ValueError: ``threads`` (or ``$OMP_NUM_THREADS``) is not an integer ``>= 1``.
    """
    import torch

    if threads is None and os.environ.get(THREADS_ENV, "").strip():
        text = os.environ[THREADS_ENV].strip()
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"${THREADS_ENV} must be an integer >= 1, got {text!r}")
        threads = int(text)
    elif threads is None:
        threads = usable_cores()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1 or None, got {threads!r}")
    torch.set_num_threads(threads)
    return current_thread_settings()


def current_thread_settings() -> ThreadSettings:
    """torch's CPU thread count and OpenMP's wait policy, as they are now."""
    import torch

    return ThreadSettings(threads=torch.get_num_threads(), wait_policy=wait_policy_in_force())


#: The busy loop: spins until its deadline, so it ends even if its parent is killed.
_BUSY_LOOP = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


@contextmanager
def busy_core(max_seconds: float = 1800.0, core: int | None = None) -> Iterator[subprocess.Popen]:
    """Keep one core busy while the ``with`` block runs, as another program would.

    Starts a Python process that spins in a loop; it is killed when the block
    ends (also on an exception or Ctrl-C) and stops by itself after
    ``max_seconds`` in any case, so it cannot outlive a crashed benchmark for long.

    Args:
        max_seconds: the busy loop's own time limit, > 0.
        core: pin the loop to this core (Linux); ``None`` pins it to the last
            usable core where pinning is available.

    Yields:
        The busy process (a :class:`subprocess.Popen`).
    """
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")
    process = subprocess.Popen(
        [sys.executable, "-c", _BUSY_LOOP, str(max_seconds)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        if hasattr(os, "sched_setaffinity"):
            cores = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(process.pid, {cores[-1] if core is None else core})
        yield process
    finally:
        process.kill()
        process.wait()


__all__ = [
    "WAIT_POLICY",
    "WAIT_POLICY_ENV",
    "ThreadSettings",
    "busy_core",
    "configure_cpu_threads",
    "current_thread_settings",
    "usable_cores",
    "wait_policy_in_force",
]
