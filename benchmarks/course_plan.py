"""Execute every notebook in one budget, time it, and write the README's course-plan table.

    python benchmarks/course_plan.py --mode lab                 # every notebook, lab budget
    python benchmarks/course_plan.py --mode quick 02 05         # only notebooks 02 and 05
    python benchmarks/course_plan.py --mode lab --keep executed/   # keep the executed copies

Each notebook runs top to bottom in a fresh kernel with ``CEEC_LAB_MODE`` set, as a student's
"Run All" would. The wall time of each run is stored, with the machine, its load and the date,
in ``benchmarks/results/course_plan.json`` (one entry per notebook and budget, written
atomically; a later run of one budget keeps the others). The README table between the
``course-plan`` markers is then rewritten from that file: notebook, what it teaches (its
title), lab minutes on a CPU, quick seconds, and full minutes where they were measured.

Timings on a busy machine are not timings: the script records the load average before and
after each notebook, and the table marks a run made under load. It also records the CPU time
the notebook's kernel used (user + system), which another program on the machine changes
far less than the wall time: on an otherwise idle machine the wall time is about that or
less (torch computes on both cores).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import torch
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from ceec_lab.files import atomic_path, save_json

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "benchmarks" / "results" / "course_plan.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- course-plan:begin -->", "<!-- course-plan:end -->"


def execute(path: Path, mode: str, keep: Path | None) -> tuple[float, float]:
    """Run notebook ``path`` in a fresh kernel in budget ``mode``.

    Returns:
        The wall time and the kernel's CPU time (user + system), in seconds.
    """
    os.environ["CEEC_LAB_MODE"] = mode
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as workdir:
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=f"{workdir}/kernel")
        client = NotebookClient(
            notebook, km=kernel, timeout=3600, resources={"metadata": {"path": workdir}}
        )
        start = time.perf_counter()
        try:
            client.execute()
            seconds = time.perf_counter() - start
            used = psutil.Process(kernel.provisioner.process.pid).cpu_times()
        finally:  # a kernel the client did not start, it does not stop
            kernel.shutdown_kernel(now=True)
    if keep is not None:
        with atomic_path(keep / path.name) as tmp:
            nbformat.write(notebook, tmp)
    return seconds, used.user + used.system


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def title(path: Path) -> str:
    """The notebook's first heading without its number: ``# 02 · Not all Dice...``."""
    first = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
    return first.lstrip("# ").split("·", 1)[-1].strip()


def machine() -> dict[str, object]:
    return {
        "cpu_cores": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
    }


def cell(entry: dict | None, unit: str) -> str:
    if entry is None:
        return "not measured"
    scale, digits = (60, 1) if unit == "min" else (1, 0)
    text = f"{entry['seconds'] / scale:.{digits}f}"
    if "cpu_seconds" in entry:
        text += f" ({entry['cpu_seconds'] / scale:.{digits}f} CPU)"
    busy = entry["load_before"] > 1.5 * (entry["machine"]["cpu_cores"] or 1)
    return text + (" (under load)" if busy else "")


def table(results: dict) -> str:
    """The README's course-plan table from the stored results."""
    lines = [
        "| notebook | what it teaches | lab, 2 CPU cores (min) | quick, CI (s) | full, GPU (min) |",
        "|---|---|---:|---:|---:|",
    ]
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        runs = results.get(path.name, {})
        lines.append(
            f"| `{path.name}` | {title(path)} | {cell(runs.get('lab'), 'min')} | "
            f"{cell(runs.get('quick'), 's')} | {cell(runs.get('full'), 'min')} |"
        )
    return "\n".join(lines)


def write_readme(results: dict) -> None:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README}: the markers {BEGIN} and {END} are missing")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with atomic_path(README) as tmp:
        tmp.write_text(f"{head}{BEGIN}\n{table(results)}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--mode", choices=["quick", "lab", "full"], default="lab")
    parser.add_argument("only", nargs="*", help="notebook number prefixes, e.g. 02 05")
    parser.add_argument("--keep", type=Path, help="folder for the executed notebooks")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite README.md")
    args = parser.parse_args()

    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.name.startswith(tuple(args.only))]
        if not paths:
            raise SystemExit(f"no notebook in {NOTEBOOKS} starts with {args.only}")
    for path in paths:
        load_before = os.getloadavg()[0]
        seconds, cpu_seconds = execute(path, args.mode, args.keep)
        entry = {
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "date": datetime.date.today().isoformat(),
            "machine": machine(),
        }
        # Read again just before writing: another plan may have stored a run meanwhile.
        results = load_results()
        results.setdefault(path.name, {})[args.mode] = entry
        save_json(results, RESULTS)  # after every notebook: an interrupted plan keeps its runs
        print(
            f"{path.name:45s} {args.mode:5s} {seconds / 60:6.1f} min, kernel CPU "
            f"{cpu_seconds / 60:.1f} min (load {load_before:.1f})"
        )
    results = load_results()
    if not args.no_readme:
        write_readme(results)
    print(table(results))


if __name__ == "__main__":
    main()
