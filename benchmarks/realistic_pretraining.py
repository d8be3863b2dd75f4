"""Does pre-training on realistic synthetic pairs transfer better to LEVIR-CD? (notebook 07)

    python scripts/train_tiny_weights.py --style realistic --out runs/ceecnet_tiny_realistic.pt
    python benchmarks/realistic_pretraining.py --start ceecnet-tiny-synthetic --name classic
    python benchmarks/realistic_pretraining.py --start runs/ceecnet_tiny_realistic.pt \\
        --name realistic

For one pre-trained tiny CEECNet (``--start``: shipped weights by name, or a
checkpoint), scores it as it is (zero-shot) and fine-tuned, by leave-some-out over
the LEVIR-CD sample pairs (:func:`ceec_lab.transfer.leave_some_out`), with the
recipe and folds of the shipped real-imagery weights (``scripts/train_levir_weights.py``).
Writes ``benchmarks/results/transfer_from_<name>.json`` atomically, then prints every
such file side by side. Both starts come from ``scripts/train_tiny_weights.py`` with
the same settings but ``--style``; one thread each, so two starts can run at once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import ceec_lab as cl  # first: it makes idle CPU threads sleep before torch loads
from ceec_lab.experiments import markdown_table
from ceec_lab.files import save_json
from ceec_lab.train.runs import load_model
from ceec_lab.transfer import (
    add_leave_some_out_arguments,
    leave_some_out,
    recipe_of,
    samples_root,
)

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ["precision", "recall", "f1", "iou", "mcc", "time (s)"]


def main() -> None:
    import torch  # after ceec_lab, which sets how idle CPU threads wait

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="ceecnet-tiny-synthetic", help="weights or checkpoint")
    parser.add_argument("--name", required=True, help="names the result file")
    add_leave_some_out_arguments(parser)
    args = parser.parse_args()

    root = samples_root(parser, args.root)
    print(cl.configure_cpu_threads(1))  # small tensors: one thread is fastest (RESULTS.md)
    start, config = load_model(args.start)
    recipe = recipe_of(args)
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result = leave_some_out(
        root, recipe, args.folds, ["zero-shot", "fine-tuned"], seed=args.seed, start=start
    )
    record = {
        "start": args.start,
        "pre-training data": {
            "size": config.data.size,
            "n_train": config.data.n_train,
            "style": config.data.style,
        },
        "recipe": recipe.to_dict(),
        "folds": result.folds,
        "seed": args.seed,
        "rows": result.rows,
        "machine": {
            "date": began,
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "load average (1, 5, 15 min) at the end": list(os.getloadavg()),
        },
    }
    save_json(record, RESULTS / f"transfer_from_{args.name}.json")
    for path in sorted(RESULTS.glob("transfer_from_*.json")):
        stored = json.loads(path.read_text())
        print(f"\n{path.name}: start {stored['start']}, {stored['pre-training data']}")
        print(markdown_table(stored["rows"], COLUMNS))


if __name__ == "__main__":
    main()
