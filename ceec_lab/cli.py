"""The ``ceec-lab`` command line.

* ``ceec-lab info`` - versions, the device that will be used, data found;
* ``ceec-lab data synth --out DIR --n N --size S --seed K [--difficulty X]`` -
  write synthetic pairs as a LEVIR-CD style folder;
* ``ceec-lab train|evaluate|predict`` - see :mod:`ceec_lab.cli_train`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
from collections.abc import Sequence

from ceec_lab.cli_train import add_train_commands
from ceec_lab.config import find_levircd_samples, find_user_data, get_device, run_mode
from ceec_lab.cpu import configure_cpu_threads, current_thread_settings

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
    samples = find_levircd_samples()
    print(f"LEVIR-CD samples: {samples if samples else 'not found (set CEEC_LAB_LEVIRCD)'}")
    user = find_user_data()
    print(f"user data folders: {', '.join(map(str, user)) if user else 'none found under data/'}")
    return 0


def synth(args: argparse.Namespace) -> int:
    """Write synthetic change pairs as ``OUT/{A,B,label}/*.png``."""
    from ceec_lab.data.export import write_change_folder

    if not 0.0 <= args.difficulty <= 1.0:
        print(f"error: --difficulty must be in [0, 1], got {args.difficulty}", file=sys.stderr)
        return 2
    write_change_folder(args.out, args.n, args.size, args.seed, args.difficulty)
    print(f"wrote {args.n} pairs of {args.size}×{args.size} to {args.out}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ceec-lab", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions, device and data found").set_defaults(func=info)
    data = commands.add_parser("data", help="data utilities")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    synth_parser = data_commands.add_parser("synth", help="write synthetic pairs (LEVIR-CD layout)")
    synth_parser.add_argument("--out", required=True, help="output folder")
    synth_parser.add_argument("--n", type=_positive, default=100, help="number of pairs")
    synth_parser.add_argument("--size", type=_positive, default=256, help="side in pixels")
    synth_parser.add_argument("--seed", type=int, default=0, help="data set seed")
    synth_parser.add_argument("--difficulty", type=float, default=0.5, help="nuisance in [0, 1]")
    synth_parser.set_defaults(func=synth)
    add_train_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_cpu_threads()  # all usable cores (or $OMP_NUM_THREADS), idle threads sleep
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
