"""DDP plumbing: process-group setup, reductions and a resumable DistributedSampler.

Processes are started by ``torchrun`` (or ``autotsnet train --nproc N``, which runs it);
the CLI reads ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` and passes a :class:`DistInfo`
down. The process group uses gloo on CPU and NCCL on CUDA, with torchrun's ``env://``
rendezvous (``MASTER_ADDR`` / ``MASTER_PORT``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler

__all__ = [
    "DistInfo",
    "ShardSampler",
    "all_reduce_sum",
    "barrier",
    "init_distributed",
    "resolve_device",
    "same_on_all_ranks",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a DDP job.

    Attributes:
        rank: Global rank.
        world_size: Number of processes.
        local_rank: Rank on this node (picks the GPU).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size or self.local_rank < 0:
            raise ValueError(f"invalid distributed setup {self}")

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> ``cuda:LOCAL_RANK`` when CUDA is available, else ``cpu``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        return torch.device("cuda", local_rank)
    return torch.device(device)


def init_distributed(info: DistInfo, device: torch.device) -> bool:
    """Join the process group (gloo on CPU, NCCL on CUDA) when needed.

    Returns:
        True when this call created the group (the caller destroys it).
    """
    if not info.distributed or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend, init_method="env://", rank=info.rank, world_size=info.world_size
    )
    return True


def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum of ``values`` over all processes (a copy; the input is not modified)."""
    out = values.detach().clone()
    if info.distributed:
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def same_on_all_ranks(module: torch.nn.Module, info: DistInfo) -> bool:
    """True when every process holds bit-identical parameters (DDP's invariant).

    BN running statistics are buffers and may differ between processes (each updates them
    from its own batch; DDP re-broadcasts rank 0's at the next forward), so they are not
    compared. Compares a position-weighted float64 checksum across processes (min == max).
    """
    tensors = [p.detach().double().reshape(-1) for p in module.parameters()]
    flat = torch.cat([t for t in tensors if t.numel()]) if tensors else torch.zeros(1)
    weights = torch.linspace(1.0, 2.0, flat.numel(), dtype=torch.float64, device=flat.device)
    check = torch.stack([flat.sum(), (flat * weights).sum()])
    if not info.distributed:
        return True
    low, high = check.clone(), check.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(torch.equal(low, high))


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op in a single process)."""
    if info.distributed:
        dist.barrier()


class _Length(Dataset[int]):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:  # pragma: no cover - only len() is used
        return index


class ShardSampler(DistributedSampler[int]):
    """``DistributedSampler`` (seeded by ``seed + epoch``) that can skip the start of an epoch.

    Resuming at batch ``b`` of an epoch calls :meth:`skip_next` with ``b * batch`` so the
    next pass yields exactly the indices an uninterrupted run would still have drawn. The
    skip applies to one pass only.

    Args:
        length: Dataset length.
        info: This process's rank and the world size.
        seed: Seed of the order.
        shuffle: Shuffle each epoch.
    """

    def __init__(self, length: int, info: DistInfo, *, seed: int, shuffle: bool = True) -> None:
        super().__init__(
            _Length(length),
            num_replicas=info.world_size,
            rank=info.rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=False,
        )
        self._skip = 0

    def skip_next(self, count: int) -> None:
        """Drop the first ``count`` indices of the next pass."""
        self._skip = count

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip, self._skip = self._skip, 0
        return iter(indices[skip:])

    def __len__(self) -> int:
        return int(self.num_samples)
