"""The ``ceec-lab`` command line.

* ``ceec-lab info`` - versions, the device that will be used, data found;
* ``ceec-lab data synth --out DIR --n N --size S --seed K [--difficulty X] [--style S]`` -
  write synthetic pairs as a LEVIR-CD style folder;
* ``ceec-lab prepare levir-cd|whu-cd --root DIR`` - check a download, write a
  manifest and normalisation statistics (:mod:`ceec_lab.data.prepare`); exit
  code 1 and one line per problem when the download has any;
* ``ceec-lab train|evaluate|predict`` - see :mod:`ceec_lab.cli_train`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from ceec_lab.cli_train import HelpFormatter, add_train_commands
from ceec_lab.cpu import configure_cpu_threads, current_thread_settings
from ceec_lab.data.synthetic import STYLES
from ceec_lab.settings import find_levircd_samples, find_user_data, get_device, run_mode

_PACKAGES = (
    "torch",
    "torchvision",
    "segmentation-models-pytorch",
    "albumentations",
    "torchmetrics",
    "matplotlib",
    "ipywidgets",
    "jupyterlab",
)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def info(_args: argparse.Namespace) -> int:
    """Print versions, the device and which data folders were found."""
    import ceec_lab

    print(f"ceec-lab {ceec_lab.__version__}  (python {platform.python_version()})")
    for package in _PACKAGES:
        print(f"  {package:<28} {_version(package)}")
    device = get_device()
    detail = ""
    if device.type == "cuda":
        import torch

        detail = f" ({torch.cuda.get_device_name(device)})"
    print(f"device: {device.type}{detail}")
    print(f"budget: {run_mode()} (CEEC_LAB_MODE=quick|lab|full)")
    print(current_thread_settings())
    try:
        samples, problem = find_levircd_samples(), None
    except ValueError as error:  # $CEEC_LAB_LEVIRCD set to a wrong path
        samples, problem = None, error
    shown = "error, see below" if problem else samples or "not found (set CEEC_LAB_LEVIRCD)"
    print(f"LEVIR-CD samples: {shown}")
    user = find_user_data()
    print(f"user data folders: {', '.join(map(str, user)) if user else 'none found under data/'}")
    return 0 if problem is None else _fail(problem)


def synth(args: argparse.Namespace) -> int:
    """Write synthetic change pairs as ``OUT/{A,B,label}/*.png``."""
    from ceec_lab.data.export import write_change_folder
    from ceec_lab.data.synthetic import MIN_SIZE, check_difficulty
    from ceec_lab.files import check_output_folder

    if args.size < MIN_SIZE:
        return _fail(f"--size must be at least {MIN_SIZE} pixels, got {args.size}")
    try:
        check_difficulty(args.difficulty, "--difficulty")
        check_output_folder(args.out, args.overwrite, "--out")
        write_change_folder(
            args.out,
            args.n,
            args.size,
            args.seed,
            args.difficulty,
            style=args.style,
            overwrite=args.overwrite,
        )
    except ValueError as error:
        return _fail(error)
    print(f"wrote {args.n} {args.style} pairs of {args.size}×{args.size} to {args.out}")
    return 0


def prepare(args: argparse.Namespace) -> int:
    """Check a LEVIR-CD / WHU-CD download; write its manifest and normalisation statistics."""
    from ceec_lab.data.augment import NORMALISATION
    from ceec_lab.data.prepare import MANIFEST, NORMALISATION_FILE, prepare_dataset

    report = prepare_dataset(args.root, args.dataset, args.out, progress=not args.quiet)
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if not report.ok:
        print(f"{len(report.problems)} problem(s) in {args.root}; nothing written", file=sys.stderr)
        return 1
    for split, pairs in report.splits.items():
        print(f"{split}: {len(pairs)} pairs")
    stats = report.normalisation
    print(f"normalisation (0-255): mean {stats['mean']}, std {stats['std']}")
    if args.dataset == "levir-cd":
        mean, std = NORMALISATION["levircd"]
        print(f"  the CEECNet reference code's LEVIR-CD values: mean {mean}, std {std}")
    out = args.out or args.root
    print(f"wrote {out / MANIFEST} and {out / NORMALISATION_FILE}")
    return 0


def _fail(error: Exception | str) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The whole ``ceec-lab`` parser; every ``--help`` shows the defaults."""
    defaults = {"formatter_class": HelpFormatter}
    parser = argparse.ArgumentParser(
        prog="ceec-lab", description=__doc__.splitlines()[0], **defaults
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions, device and data found", **defaults).set_defaults(
        func=info
    )
    data = commands.add_parser("data", help="data utilities", **defaults)
    data_commands = data.add_subparsers(dest="data_command", required=True)
    synth_parser = data_commands.add_parser(
        "synth", help="write synthetic pairs (LEVIR-CD layout)", **defaults
    )
    synth_parser.add_argument("--out", required=True, help="output folder (empty or new)")
    synth_parser.add_argument(
        "--overwrite", action="store_true", help="replace A/, B/, label/ of a non-empty --out"
    )
    synth_parser.add_argument("--n", type=_positive, default=100, help="number of pairs")
    synth_parser.add_argument("--size", type=_positive, default=256, help="side in pixels")
    synth_parser.add_argument("--seed", type=int, default=0, help="data set seed")
    synth_parser.add_argument("--difficulty", type=float, default=0.5, help="nuisance in [0, 1]")
    synth_parser.add_argument(
        "--style",
        choices=STYLES,
        default="classic",
        help="classic scenes (notebooks 00-06) or realistic ones (LEVIR-CD's scale and look)",
    )
    synth_parser.set_defaults(func=synth)
    prepare_parser = commands.add_parser("prepare", help="check a LEVIR-CD / WHU-CD download")
    prepare_parser.add_argument("dataset", choices=["levir-cd", "whu-cd"], help="which data set")
    prepare_parser.add_argument("--root", required=True, type=Path, help="holds train|val|test/")
    prepare_parser.add_argument("--out", type=Path, help="where the JSON files go (default: root)")
    prepare_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    prepare_parser.set_defaults(func=prepare)
    add_train_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_cpu_threads()  # all usable cores (or $OMP_NUM_THREADS), idle threads sleep
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
