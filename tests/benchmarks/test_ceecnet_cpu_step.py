"""benchmarks/ceecnet_cpu_step.py: argument checks and the quiet/loaded table (no timing)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def script(load_script):
    """The script as a module; its top level imports only the standard library."""
    return load_script("ceecnet_cpu_step")


@pytest.mark.parametrize("flag", ["--steps=0", "--batch=0", "--wait-policy=active"])
def test_bad_arguments_are_refused(script, flag: str) -> None:
    with pytest.raises(SystemExit):
        script.parse_args([flag])


def test_spread_is_min_median_max(script) -> None:
    assert script.spread([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0}


def test_table_shows_both_runs_and_their_ratio(script) -> None:
    row = dict(
        threads=2,
        wait_policy="PASSIVE",
        quiet=script.spread([6.0, 7.0, 8.0]),
        loaded=script.spread([7.0, 8.4, 9.0]),
        ratio=8.4 / 7.0,
        load_1min=[0.5, 1.5],
    )
    last = script.format_table([row]).splitlines()[-1]
    assert last == "| 2 | PASSIVE | 6.0/7.0/8.0 | 7.0/8.4/9.0 | 1.20× | 0.5→1.5 |"
