"""The process group when launched by torchrun: NCCL on GPUs, gloo on CPUs; one rank writes.

Outside torchrun (no ``WORLD_SIZE`` in the environment) everything here is a no-op, so ``train()``
can be called in-process, repeatedly. A group this module opened is closed again by :func:`close`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    opened: bool = False  # whether we opened the process group (and so must close it)

    @property
    def leader(self) -> bool:
        """Rank 0: the only one that writes outputs and prints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def open_ranks(use_cuda: bool) -> Ranks:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Ranks()
    opened = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
        opened = True
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    return Ranks(
        dist.get_rank(),
        dist.get_world_size(),
        int(os.environ.get("LOCAL_RANK", "0")),
        local_world,
        opened,
    )


def close(ranks: Ranks, finished: bool) -> None:
    """Close a group we opened; after a finished run, first wait for every rank (a failed rank
    skips the wait: the others may never reach it)."""
    if ranks.opened and dist.is_initialized():
        # Wait for rank 0 to finish writing: a rank that exits while another still holds gloo
        # connections to it makes that one abort ("terminate called without an active exception").
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def all_sum(ranks: Ranks, tensor: torch.Tensor) -> torch.Tensor:
    """The sum over ranks (a copy; the input is left alone)."""
    total = tensor.clone()
    if ranks.active:
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def from_leader(ranks: Ranks, value: Any) -> Any:
    """Rank 0's ``value`` on every rank (e.g. the timestamped output folder name)."""
    if not ranks.active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_buffers(ranks: Ranks, model: torch.nn.Module) -> None:
    """Give every rank rank 0's batch-norm statistics, so a sharded evaluation is one model's."""
    if ranks.active:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def barrier(ranks: Ranks) -> None:
    if ranks.active:
        dist.barrier()
