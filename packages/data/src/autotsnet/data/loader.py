"""DataLoader setup: workers, persistent workers, pinned memory, seeded order and augmentation.

Persistent workers keep their own copy of the dataset, so an epoch counter set on the
dataset in the main process never reaches them. :class:`EpochSampler` therefore yields
``(index, epoch)`` keys to datasets that accept them (``accepts_epoch_keys = True``, e.g.
:class:`~autotsnet.data.dataset.ClipDataset`): the epoch advances each time the loader is
iterated, and every sample's randomness is a function of ``(seed, epoch, index)`` only,
whatever worker loads it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["EpochSampler", "make_loader"]


class EpochSampler(Sampler[Any]):
    """Seeded (optionally shuffled) order that counts epochs.

    Args:
        length: Dataset length (ignored when ``inner`` is given).
        shuffle: Shuffle with ``Random(f"{seed}:{epoch}")`` each epoch.
        seed: Seed of the order.
        inner: Optional sampler to take indices from (e.g. a DistributedSampler); its
            ``set_epoch`` is called with the epoch before each pass.
        epoch_keys: Yield ``(index, epoch)`` instead of ``index``.
    """

    def __init__(
        self,
        length: int,
        *,
        shuffle: bool,
        seed: int,
        inner: Sampler[int] | None = None,
        epoch_keys: bool = True,
    ) -> None:
        self.length = length
        self.shuffle = shuffle
        self.seed = seed
        self.inner = inner
        self.epoch_keys = epoch_keys
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use ``epoch`` (e.g. when resuming)."""
        self.epoch = epoch

    def __len__(self) -> int:
        if self.inner is not None and isinstance(self.inner, Sized):
            return len(self.inner)
        return self.length

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        self.epoch += 1
        if self.inner is not None:
            set_epoch = getattr(self.inner, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(epoch)
            order = list(self.inner)
        else:
            order = list(range(self.length))
            if self.shuffle:
                random.Random(f"{self.seed}:{epoch}").shuffle(order)
        for i in order:
            yield (i, epoch) if self.epoch_keys else i


def _worker_init(worker_id: int) -> None:
    # One intra-op thread per worker: the workers already use every core.
    torch.set_num_threads(1)


def make_loader(
    dataset: Dataset[Any],
    batch_size: int,
    *,
    workers: int,
    shuffle: bool,
    seed: int,
    pin_memory: bool = False,
    drop_last: bool = False,
    sampler: Sampler[int] | None = None,
    prefetch_factor: int = 2,
) -> DataLoader[Any]:
    """A DataLoader with workers, persistent workers and a seeded order.

    Args:
        dataset: A map-style dataset (``ClipDataset`` / ``ViewDataset`` or any other).
        batch_size: Samples per batch.
        workers: Worker processes (0 loads in the calling process).
        shuffle: Shuffle each epoch (seeded); must be False when ``sampler`` is given.
        seed: Seed of the order and of the loader's generator.
        pin_memory: Pin batches for faster host-to-GPU copies.
        drop_last: Drop the last incomplete batch.
        sampler: Optional index sampler (e.g. ``DistributedSampler``).
        prefetch_factor: Batches each worker loads ahead.

    Returns:
        The DataLoader; its ``sampler`` is an :class:`EpochSampler`.
    """
    if sampler is not None and shuffle:
        raise ValueError("shuffle must be False when a sampler is given")
    epoch_keys = bool(getattr(dataset, "accepts_epoch_keys", False))
    length = len(dataset)  # type: ignore[arg-type]
    order = EpochSampler(length, shuffle=shuffle, seed=seed, inner=sampler, epoch_keys=epoch_keys)
    generator = torch.Generator()
    generator.manual_seed(seed)
    extra: dict[str, Any] = {}
    if workers > 0:
        extra = {
            "persistent_workers": True,
            "prefetch_factor": prefetch_factor,
            "worker_init_fn": _worker_init,
        }
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=order,
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=drop_last,
        generator=generator,
        **extra,
    )
