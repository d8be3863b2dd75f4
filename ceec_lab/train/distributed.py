"""DistributedDataParallel helpers: the same ``fit`` on one process or on N.

Launch any training script with ``torchrun --nproc_per_node=N script.py``.
``torchrun`` starts N copies and tells each its place through environment
variables (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``). :class:`~ceec_lab.train.Trainer` reads them through
:func:`init_distributed`; then

* every process holds a full copy of the model, wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel`, which averages the
  gradients over the processes after each backward pass, so all copies take
  the same optimisation step and stay identical;
* each process reads a different shard of the data
  (:class:`~torch.utils.data.DistributedSampler`);
* only rank 0 prints and writes files.

The backend is NCCL on GPUs and gloo on CPUs.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler


def is_distributed() -> bool:
    """Whether a process group is running (more than one process takes part)."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's rank, 0 when not distributed."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """The number of processes, 1 when not distributed."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0, the process that prints and writes files."""
    return get_rank() == 0


def init_distributed(device: torch.device) -> torch.device:
    """Join the process group ``torchrun`` set up, if any, and pick this rank's device.

    Does nothing (and returns ``device``) when ``WORLD_SIZE`` is unset or 1.

    Args:
        device: the device asked for; on CUDA each rank gets ``cuda:LOCAL_RANK``.

    Returns:
        The device this process should use.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not is_distributed():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def cleanup() -> None:
    """Leave the process group (call once at the end of a ``torchrun`` script)."""
    if is_distributed():
        dist.destroy_process_group()


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Wrap ``model`` in DDP when distributed; return it unchanged otherwise."""
    if not is_distributed():
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def shard_loader(loader: DataLoader, seed: int = 0) -> DataLoader:
    """A copy of ``loader`` that reads only this rank's shard of the dataset.

    Shuffling is kept when the original loader shuffled. A loader that already
    uses a :class:`DistributedSampler` is returned as it is. Note that
    ``DistributedSampler`` repeats a few samples so every rank gets the same
    number of batches.
    """
    if not is_distributed() or isinstance(loader.sampler, DistributedSampler):
        return loader
    sampler = DistributedSampler(
        loader.dataset, shuffle=isinstance(loader.sampler, RandomSampler), seed=seed
    )
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Tell a :class:`DistributedSampler` the epoch, so each epoch shuffles differently."""
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)


def all_reduce_sum(value: Tensor) -> Tensor:
    """The sum of ``value`` over all processes (``value`` itself when not distributed)."""
    if not is_distributed():
        return value
    value = value.clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def all_reduce_mean(value: Tensor) -> Tensor:
    """The mean of ``value`` over all processes (``value`` itself when not distributed)."""
    return all_reduce_sum(value) / get_world_size()
