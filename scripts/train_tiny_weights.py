"""Train the shipped "ceecnet-tiny-synthetic" weights (CPU, about 15 minutes on 2 cores).

    python scripts/train_tiny_weights.py [--epochs 12] [--n-train 512] [--style classic]
        [--out PATH]

CEECNet V1 with the "ceecnet-tiny" preset and GroupNorm, on synthetic pairs of
64×64 with nuisance drawn over the whole difficulty range, the reference's
augmentations (time swap, no-change pairs) and the multitask loss with the
paper's evolving depth. The shipped weights use the classic style; ``--style
realistic`` trains the start of ``benchmarks/realistic_pretraining.py``. The result,
with its training history and final validation metrics, is written atomically to
``ceec_lab/weights/`` and loaded by :func:`ceec_lab.models.pretrained.load_pretrained`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ceec_lab.data.synthetic import STYLES
from ceec_lab.experiments import ceecnet_datasets, train_ceecnet
from ceec_lab.files import save_torch
from ceec_lab.models.pretrained import PRETRAINED

MODEL_KWARGS = {"preset": "ceecnet-tiny", "norm": "group"}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "ceec_lab" / "weights"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--n-train", type=int, default=512)
    parser.add_argument("--n-val", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", choices=STYLES, default="classic")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT / PRETRAINED["ceecnet-tiny-synthetic"][0]
    )
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    train_set, val_set = ceecnet_datasets(
        args.n_train, args.n_val, args.size, args.seed, style=args.style
    )
    milestones = [round(args.epochs * 0.6), round(args.epochs * 0.85)]
    result = train_ceecnet(
        train_set, val_set, args.epochs, milestones, device="cpu", seed=args.seed, **MODEL_KWARGS
    )
    metrics = {k: round(v, 4) for k, v in result.metrics.items() if isinstance(v, float)}
    print(f"trained in {result.seconds / 60:.1f} min; validation: {metrics}")
    state = {k: v.to(torch.float32) for k, v in result.model.state_dict().items()}
    save_torch(
        {
            "model_name": "ceecnet_v1",
            "model_kwargs": MODEL_KWARGS,
            "state_dict": state,
            "metrics": metrics,
            "history": result.history.epochs,
            "data": {
                "n_train": args.n_train,
                "n_val": args.n_val,
                "size": args.size,
                "seed": args.seed,
                "style": args.style,
            },
            "epochs": args.epochs,
            "milestones": milestones,
        },
        args.out,
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
