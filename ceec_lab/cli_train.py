"""``ceec-lab train|evaluate|predict``: the training engine from the command line.

::

    ceec-lab train --config configs/unet.yaml train.num_epochs=2 data.n_train=32
    ceec-lab train --config configs/unet.yaml --resume          # continue from last.pt
    ceec-lab evaluate --checkpoint runs/unet/best.pt [--config FILE] [KEY=VALUE ...]
    ceec-lab predict --image1 A/ --image2 B/ --out pred/ --checkpoint runs/fc_ef/best.pt
    ceec-lab predict --image1 A/ --image2 B/ --out pred/ --checkpoint ceecnet-tiny-synthetic

``--checkpoint`` takes a trainer checkpoint, a shipped weights file or a shipped
name; the model is built from what the file records.

The same ``train`` runs on several GPUs with
``torchrun --nproc_per_node=N -m ceec_lab.cli train --config ...``.

Each command returns an exit code: 0 on success, 1 when training diverged
(NaN/inf loss), 2 for a bad config, argument or file (reported before any output
is written, with a message naming the key or file), 130 when training was
interrupted with Ctrl-C (the message names the last checkpoint and the command
that resumes). No command silently replaces earlier results: ``train`` needs
``--resume`` or ``--overwrite`` for an ``out_dir`` that holds a run, ``predict``
needs ``--overwrite`` for a non-empty ``--out``. Heavy imports happen inside the
commands, so ``ceec-lab info`` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ceec_lab.train.trainer import TrainingInterrupted

CHECKPOINT_HELP = "a .pt file (trainer checkpoint or shipped weights) or a shipped name"
INTERRUPTED = 130  # the shell's code for a process ended by Ctrl-C (128 + SIGINT)


def add_train_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train``, ``evaluate`` and ``predict`` on a ``ceec-lab`` subparser set."""
    defaults = {"formatter_class": HelpFormatter}
    train = subparsers.add_parser("train", help="train a model from a YAML config", **defaults)
    train.add_argument("--config", required=True, type=Path, help="YAML file (see configs/)")
    train.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.num_epochs=2 model.name=unet"
    )
    existing = train.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    existing.add_argument(
        "--overwrite", action="store_true", help="start over in an OUT_DIR that holds a run"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=train_command)

    evaluate = subparsers.add_parser(
        "evaluate", help="loss and metrics of a checkpoint", **defaults
    )
    evaluate.add_argument("--checkpoint", required=True, help=CHECKPOINT_HELP)
    evaluate.add_argument("--config", type=Path, help="YAML file; none: the checkpoint's config")
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

    predict = subparsers.add_parser(
        "predict", help="masks and confidence maps for image pairs", **defaults
    )
    predict.add_argument("--image1", required=True, type=Path, help="folder of first-date images")
    predict.add_argument("--image2", type=Path, help="folder of second-date images (same names)")
    predict.add_argument("--out", required=True, type=Path, help="writes masks/ and confidence/")
    predict.add_argument("--checkpoint", required=True, help=CHECKPOINT_HELP)
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
    predict.add_argument(
        "--overwrite",
        action="store_true",
        help="replace masks/ and confidence/ in a non-empty --out",
    )
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(func=predict_command)


def train_command(args: argparse.Namespace) -> int:
    """``ceec-lab train``: build everything from the config, then fit."""
    from ceec_lab.train import NonFiniteLossError, distributed
    from ceec_lab.train.config import load_config
    from ceec_lab.train.runs import run_training
    from ceec_lab.train.trainer import TrainingInterrupted

    _log_to_console()
    try:
        config = load_config(args.config, args.overrides)
        history = run_training(
            config, resume=args.resume, progress=not args.quiet, overwrite=args.overwrite
        )
        if distributed.is_main_process():  # under torchrun, rank 0 reports
            last = history.epochs[-1] if history.epochs else {}
            print(f"trained {len(history.epochs)} epochs; wrote {config.train.out_dir}/")
            _print_metrics({k: v for k, v in last.items() if k != "epoch"})
    except NonFiniteLossError as error:
        return _fail(error, code=1)
    except TrainingInterrupted as error:
        return _fail(_interrupted_message(error, args), code=INTERRUPTED)
    except KeyboardInterrupt:  # while the data were being checked, before any epoch
        return _fail("interrupted before training started", code=INTERRUPTED)
    except (ValueError, OSError) as error:
        return _fail(error)
    finally:
        distributed.cleanup()
    return 0


def _interrupted_message(error: TrainingInterrupted, args: argparse.Namespace) -> str:
    """One line: where the run stopped and the command that continues it."""
    command = ["ceec-lab", "train", "--config", str(args.config), *args.overrides]
    if error.checkpoint is None:
        return f"{error}; start again with: {shlex.join([*command, '--overwrite'])}"
    return f"{error}; continue with: {shlex.join([*command, '--resume'])}"


def evaluate_command(args: argparse.Namespace) -> int:
    """``ceec-lab evaluate``: a checkpoint's loss and metrics on the validation data."""
    from ceec_lab.train.checkpoints import read_checkpoint
    from ceec_lab.train.config import ExperimentConfig, apply_overrides, load_config
    from ceec_lab.train.runs import evaluation_data, run_evaluation

    _log_to_console()
    try:
        if args.config is not None:
            config = load_config(args.config, args.overrides)
        else:  # what the checkpoint records, with the overrides on top
            stored = read_checkpoint(args.checkpoint).config.to_dict()
            config = ExperimentConfig.from_dict(apply_overrides(stored, args.overrides))
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
        print(f"scoring {args.checkpoint} on {evaluation_data(config.data)}", flush=True)
        results = run_evaluation(args.checkpoint, config, progress=not args.quiet)
    except (ValueError, OSError) as error:
        return _fail(error)
    print(f"evaluated {args.checkpoint}: loss and metrics over every pixel of those samples")
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
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except (ValueError, OSError) as error:
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


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every default in ``--help``, except ``None``: an option without a fixed default
    says in its own help where its value comes from."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one of these commands on its own (the full CLI is :mod:`ceec_lab.cli`)."""
    parser = argparse.ArgumentParser(
        prog="ceec-lab",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    add_train_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
