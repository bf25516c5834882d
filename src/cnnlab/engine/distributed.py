"""torchrun / DDP setup: one process per device, gloo on CPU, nccl on GPU. A plain `cnnlab train` is world 1.

Under torchrun the process group is made even with one process (`--nproc_per_node=1`), so that the collectives
take the same backend as on many devices: on a one-GPU machine that is the only way to exercise NCCL."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from cnnlab.errors import UsageError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def ddp(self) -> bool:
        """Launched by torchrun: a process group exists (also with one process)."""
        return dist.is_available() and dist.is_initialized()


def launched_by_torchrun() -> bool:
    """torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT for every process (env:// reads them); a
    WORLD_SIZE above 1 without the others is an error that `init_process_group` names."""
    env = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or all(k in os.environ for k in env)


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available here; use --device cpu or auto")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise UsageError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device("cpu")


def setup(device: str = "auto") -> Dist:
    if not launched_by_torchrun():
        return Dist(0, 1, pick_device(device))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), dev)


def all_reduce_sum(t: torch.Tensor, d: Dist) -> torch.Tensor:
    if d.ddp:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier(d: Dist) -> None:
    if d.ddp:
        dist.barrier()


def cleanup(d: Dist) -> None:
    if d.ddp:
        dist.destroy_process_group()
