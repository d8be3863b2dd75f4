"""Train the shipped "ceecnet-tiny-levir-samples" weights: the synthetic tiny CEECNet
fine-tuned on the LEVIR-CD sample pairs (CPU, one thread).

    python scripts/train_levir_weights.py [--root DIR] [--folds 4] [--epochs 4]
        [--steps-per-epoch 40] [--batch-size 8] [--crop 128] [--seed 0] [--with-scratch]
        [--out PATH]

1. **Leave-some-out first**: the recipe is scored on the real pairs by k-fold
   cross-validation (:func:`ceec_lab.transfer.leave_some_out`): each fold's pairs
   are predicted by a model fine-tuned on the other folds only, next to
   differencing + Otsu and the synthetic weights as they are (zero-shot); with
   ``--with-scratch``, also the same network trained from scratch. These are the
   numbers to quote for real pairs the weights never saw.
2. **Then the weights**: the same recipe on all the pairs, written atomically to
   ``ceec_lab/weights/`` in half precision, with a ``.json`` beside it holding the
   recipe, the pairs and the leave-some-out table.

The starting point is ``"ceecnet-tiny-synthetic"`` (``scripts/train_tiny_weights.py``).
The network works at half resolution inside the model
(:class:`~ceec_lab.models.rescaled.Rescaled`); callers give images in [0, 1] at
their own resolution, sides multiples of 64.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ceec_lab as cl  # first: it makes idle CPU threads sleep before torch loads
from ceec_lab.experiments import markdown_table
from ceec_lab.files import save_json, save_torch
from ceec_lab.models.pretrained import PRETRAINED
from ceec_lab.transfer import (
    METHODS,
    TINY_KWARGS,
    add_leave_some_out_arguments,
    fine_tune,
    leave_some_out,
    real_pairs,
    recipe_of,
    samples_root,
    tiny_ceecnet,
)

NAME = "ceecnet-tiny-levir-samples"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "ceec_lab" / "weights" / PRETRAINED[NAME][0]
COLUMNS = ["precision", "recall", "f1", "iou", "mcc", "time (s)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_leave_some_out_arguments(parser)
    parser.add_argument(
        "--with-scratch",
        action="store_true",
        help="also score the network trained from scratch (doubles the leave-some-out time)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    root = samples_root(parser, args.root)
    print(cl.configure_cpu_threads(1))  # small tensors: one thread is fastest (RESULTS.md)
    recipe = recipe_of(args)

    methods = [m for m in METHODS if args.with_scratch or m != "from scratch"]
    result = leave_some_out(root, recipe, args.folds, methods, seed=args.seed)
    print(f"leave-some-out over {args.folds} folds:")
    print(markdown_table(result.rows, COLUMNS))

    pairs = real_pairs(root, recipe, args.seed)
    run = fine_tune(tiny_ceecnet(pretrained=True), pairs, recipe, args.seed, progress=True)
    state = {k: v.half() for k, v in run.model.state_dict().items()}
    record = {
        "model_name": "ceecnet_v1",
        "model_kwargs": {**TINY_KWARGS, "input_scale": recipe.scale},
        "start": "ceecnet-tiny-synthetic",
        "recipe": recipe.to_dict(),
        "data": {"kind": "folder", "path": Path(root).name, "batch_size": recipe.batch_size},
        "pairs": pairs.names,
        "leave_some_out": {"folds": result.folds, "rows": result.rows},
        "seconds": round(run.seconds, 1),
    }
    save_torch({**record, "state_dict": state}, args.out)
    save_json(record, args.out.with_suffix(".json"))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) and its .json")


if __name__ == "__main__":
    main()
