"""Record the training runs of notebook 06's figures, so that the notebook opens fast.

    python scripts/record_figure_runs.py                  # lab budget, both parts, 2 processes
    python scripts/record_figure_runs.py --part schedules --jobs 1

Figs. 12, 15 and 17 (five tiny CEECNet/FracTAL ResNet runs under different loss-depth
schedules) and Fig. 10 (four units as classifiers) need training. In the lab budget
that takes longer than a class period, and a smaller budget teaches nothing (the runs
do not learn to find change). This script trains them with exactly the functions and
settings the notebook uses (:mod:`ceec_lab.figures.budgets`) and writes the results to
``ceec_lab/figures/recorded/<budget>/``, where the notebook finds them; its
``recompute = True`` trains the same runs again.

The schedule runs are independent, so ``--jobs N`` trains them in N processes of one
thread each (on a small CPU, one thread per process beats threads within one).
Measured on 2 cores, lab budget: schedules 33 min in one process; blocks 2.3 min.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import ceec_lab as cl  # first: it makes idle CPU threads sleep before torch loads
from ceec_lab.figures import budgets
from ceec_lab.figures.cache import RECORDED_DIR, cached


def _train_one(mode: str, name: str, seed: int) -> dict:
    """One schedule run in a worker process with one thread."""
    cl.configure_cpu_threads(1)
    return budgets.train_schedule_runs(mode, [name], seed=seed, progress=False)[name]


def record_schedules(mode: str, seed: int, jobs: int) -> dict:
    names = list(budgets.SCHEDULE_RUNS)

    def train() -> dict:
        if jobs == 1:
            return budgets.train_schedule_runs(mode, seed=seed)
        with ProcessPoolExecutor(jobs) as pool:
            done = pool.map(_train_one, [mode] * len(names), names, [seed] * len(names))
            return dict(zip(names, done, strict=True))

    path = RECORDED_DIR / mode / "schedules.json"
    results, _ = cached(path, budgets.schedule_settings(mode, seed), train, recompute=True)
    return results


def record_blocks(mode: str, seed: int, jobs: int) -> dict:
    results, _ = budgets.block_results(mode, RECORDED_DIR / mode, recompute=True, seed=seed)
    return results


PARTS = {"schedules": record_schedules, "blocks": record_blocks}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=sorted(budgets.CHANGE_BUDGETS), default="lab")
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the schedule runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    print(cl.configure_cpu_threads(1 if args.jobs > 1 else None))
    parts = PARTS if args.part == "all" else {args.part: PARTS[args.part]}
    for name, record in parts.items():
        start = time.perf_counter()
        results = record(args.mode, args.seed, args.jobs)
        print(f"{name}: {time.perf_counter() - start:.0f} s")
        for run, result in results.items():
            last = result["epochs"][-1]
            scores = {k: round(v, 3) for k, v in last.items() if k.startswith("val_")}
            print(f"  {run}: {result['seconds']:.0f} s, last epoch {scores}")


if __name__ == "__main__":
    main()
