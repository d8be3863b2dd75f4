"""The same ``fit`` under ``torchrun`` with 2 CPU processes (gloo backend)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from ceec_lab.train import distributed as dist

WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset, default_collate

    from ceec_lab.train import Checkpoint, Trainer, distributed


    class Net(nn.Module):
        task, output = "change", "logits"

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(6, 2, 3, padding=1)

        def forward(self, x1, x2):
            return self.conv(torch.cat([x1, x2], 1))


    def as_dicts(items):
        x1, x2, mask = default_collate(items)
        return {"image1": x1, "image2": x2, "mask": mask}


    def loader(n, seed, shuffle):
        g = torch.Generator().manual_seed(seed)
        x1, x2 = torch.rand(n, 3, 8, 8, generator=g), torch.rand(n, 3, 8, 8, generator=g)
        mask = ((x1 - x2).abs().mean(1) > 0.3).long()
        data = TensorDataset(x1, x2, mask)
        return DataLoader(data, batch_size=2, shuffle=shuffle, collate_fn=as_dicts)


    out = Path(sys.argv[1])
    rank = int(__import__("os").environ["RANK"])
    torch.manual_seed(100 + rank)  # different initial weights: DDP must sync them
    model = Net()
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), device="cpu", lr=0.05, progress=False,
        callbacks=[Checkpoint(out / "checkpoints")],
    )
    history = trainer.fit(loader(8, 0, True), loader(6, 1, False), num_epochs=2)
    torch.save(
        {"model": model.state_dict(), "epochs": history.epochs, "steps": len(history.steps),
         "world_size": distributed.get_world_size()},
        out / f"rank{rank}.pt",
    )
    distributed.cleanup()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_end_with_identical_weights(tmp_path: Path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
        "--master_addr=127.0.0.1", f"--master_port={free_port()}", str(script), str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert [r["steps"] for r in ranks] == [4, 4]  # 8 samples / (2 ranks × batch 2) × 2 epochs
    for key, value in ranks[0]["model"].items():
        torch.testing.assert_close(ranks[1]["model"][key], value, rtol=0, atol=0)
    assert ranks[0]["epochs"] == ranks[1]["epochs"]  # losses and metrics are synced
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["best.pt", "last.pt"]


def test_helpers_outside_torchrun():
    assert not dist.is_distributed()
    assert (dist.get_rank(), dist.get_world_size(), dist.is_main_process()) == (0, 1, True)
    value = torch.tensor(2.0)
    assert dist.all_reduce_sum(value) is value
    assert dist.all_reduce_mean(value).item() == 2.0
    cpu = torch.device("cpu")
    assert dist.init_distributed(cpu) == cpu
