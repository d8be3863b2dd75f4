"""``ceec-lab train|evaluate|predict``: the training engine from the command line.

::

    ceec-lab train --config configs/unet.yaml train.num_epochs=2 data.n_train=32
    ceec-lab train --config configs/unet.yaml --resume          # continue from last.pt
    ceec-lab evaluate --checkpoint runs/unet/best.pt [--config FILE] [KEY=VALUE ...]
    ceec-lab predict --image1 A/ --image2 B/ --out pred/ --checkpoint runs/fc_ef/best.pt

The same ``train`` runs on several GPUs with
``torchrun --nproc_per_node=N -m ceec_lab.cli train --config ...``.

Each command returns an exit code: 0 on success, 1 when training diverged
(NaN/inf loss), 2 for a bad config, argument or missing file (reported before
any work starts). Heavy imports happen inside the commands, so ``ceec-lab info``
stays quick.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def add_train_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train``, ``evaluate`` and ``predict`` on a ``ceec-lab`` subparser set."""
    train = subparsers.add_parser("train", help="train a model from a YAML config")
    train.add_argument("--config", required=True, type=Path, help="YAML file (see configs/)")
    train.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.num_epochs=2 model.name=unet"
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=train_command)

    evaluate = subparsers.add_parser("evaluate", help="loss and metrics of a checkpoint")
    evaluate.add_argument("--checkpoint", required=True, type=Path, help="a .pt file")
    evaluate.add_argument("--config", type=Path, help="default: the config in the checkpoint")
    evaluate.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.add_argument(
        "--protocol",
        choices=["whole-image", "tiles"],
        help="the paper's change-class P/R/F1/IoU/MCC on a LEVIR-CD style folder: whole images "
        "by sliding windows, or 256×256 tiles (see ceec_lab.train.protocol)",
    )
    evaluate.add_argument("--data", type=Path, help="--protocol: folder (default: data.path)")
    evaluate.add_argument("--split", help="--protocol: train, val or test (default: test, val)")
    evaluate.add_argument("--stride", type=int, default=64, help="--protocol whole-image step")
    evaluate.set_defaults(func=evaluate_command)

    predict = subparsers.add_parser("predict", help="masks and confidence maps for image pairs")
    predict.add_argument("--image1", required=True, type=Path, help="folder of first-date images")
    predict.add_argument("--image2", type=Path, help="folder of second-date images (same names)")
    predict.add_argument("--out", required=True, type=Path, help="writes masks/ and confidence/")
    predict.add_argument("--checkpoint", required=True, type=Path, help="a .pt file")
    predict.add_argument(
        "--window", type=int, help="sliding-window side (default: the config's predict.window)"
    )
    predict.add_argument(
        "--stride",
        type=int,
        help="sliding-window step (default: the config's predict.stride, else window/2; "
        "the paper: 64)",
    )
    predict.add_argument(
        "--batch-size", type=int, help="windows per forward pass (default: 8 on a GPU, 1 on a CPU)"
    )
    predict.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: automatic)")
    predict.set_defaults(func=predict_command)


def train_command(args: argparse.Namespace) -> int:
    """``ceec-lab train``: build everything from the config, then fit."""
    from ceec_lab.train import NonFiniteLossError, distributed
    from ceec_lab.train.config import load_config
    from ceec_lab.train.runs import run_training

    _log_to_console()
    try:
        config = load_config(args.config, args.overrides)
        history = run_training(config, resume=args.resume, progress=not args.quiet)
        if distributed.is_main_process():  # under torchrun, rank 0 reports
            last = history.epochs[-1] if history.epochs else {}
            print(f"trained {len(history.epochs)} epochs; wrote {config.train.out_dir}/")
            _print_metrics({k: v for k, v in last.items() if k != "epoch"})
    except NonFiniteLossError as error:
        return _fail(error, code=1)
    except (ValueError, FileNotFoundError) as error:
        return _fail(error)
    finally:
        distributed.cleanup()
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    """``ceec-lab evaluate``: a checkpoint's loss and metrics on the validation data."""
    from ceec_lab.files import load_torch
    from ceec_lab.train.config import ExperimentConfig, apply_overrides, load_config
    from ceec_lab.train.runs import run_evaluation

    _log_to_console()
    try:
        if args.config is not None:
            config = load_config(args.config, args.overrides)
        elif args.overrides:
            stored = load_torch(args.checkpoint).get("config") or {}
            config = ExperimentConfig.from_dict(apply_overrides(stored, args.overrides))
        else:
            config = None
        if args.protocol is not None:
            from ceec_lab.train.protocol import run_protocol

            print(
                run_protocol(
                    args.checkpoint,
                    args.protocol,
                    args.data,
                    args.split,
                    args.stride,
                    config,
                    progress=not args.quiet,
                )
            )
            return 0
        results = run_evaluation(args.checkpoint, config, progress=not args.quiet)
    except (ValueError, FileNotFoundError) as error:
        return _fail(error)
    print(f"evaluated {args.checkpoint}")
    _print_metrics(results)
    return 0


def predict_command(args: argparse.Namespace) -> int:
    """``ceec-lab predict``: sliding-window prediction on a folder of images (pairs)."""
    from ceec_lab.train.runs import run_prediction

    _log_to_console()
    try:
        written = run_prediction(
            args.checkpoint,
            args.image1,
            args.image2,
            args.out,
            window=args.window,
            stride=args.stride,
            batch_size=args.batch_size,
            device=args.device,
        )
    except (ValueError, FileNotFoundError) as error:
        return _fail(error)
    print(f"wrote {len(written)} masks to {args.out / 'masks'} and confidence maps beside them")
    return 0


def _fail(error: Exception, code: int = 2) -> int:
    print(f"error: {error}", file=sys.stderr)
    return code


def _print_metrics(values: dict) -> None:
    for key, value in values.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"  {key:<22} {shown}")


def _log_to_console() -> None:
    """Show the engine's messages (resume, early stop, no parameters) without decoration;
    under ``torchrun`` only rank 0 shows more than warnings."""
    main_rank = os.environ.get("RANK", "0") == "0"
    logging.basicConfig(level=logging.INFO if main_rank else logging.WARNING, format="%(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one of these commands on its own (the full CLI is :mod:`ceec_lab.cli`)."""
    parser = argparse.ArgumentParser(prog="ceec-lab", description=__doc__.splitlines()[0])
    add_train_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
