"""Batches for the search: a weight split and an architecture (alpha) split.

PARSEC updates the shared weights on training batches and alpha on held-out batches (spec
§2.1). The search never touches the dataset's ``val`` split, which stays for evaluating the
trained result: it splits the *train* split deterministically, per class, by sorted path,
putting every ``round(1 / alpha_fraction)``-th video into the alpha part (FP-NAS: 50/50).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch.utils.data import DistributedSampler

from autotsnet.data import (
    ClipDataset,
    DataError,
    TrainTransform,
    VideoItem,
    make_loader,
    open_dataset,
    sampling_from_genome,
)
from autotsnet.models.genome import Genome
from autotsnet.search.supernet import Clips

__all__ = ["Batch", "SearchData", "TensorSearchData", "VideoSearchData", "split_items"]

Batch = tuple[Clips, torch.Tensor]


class SearchData(Protocol):
    """What the search reads: seeded, epoch-dependent batch streams."""

    num_classes: int
    class_names: tuple[str, ...]

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        """Training batches of ``epoch`` (the weight split), in a seeded order."""
        ...

    def val_batches(self, epoch: int) -> Iterator[Batch]:
        """Held-out batches of ``epoch`` (the alpha split), in a seeded order."""
        ...

    def __len__(self) -> int:
        """Training batches per epoch."""
        ...


@dataclass
class TensorSearchData:
    """In-memory data (tests, benchmarks, synthetic tasks).

    Attributes:
        train_clips: One tensor per stream, ``(N, 3, T, H, W)``.
        train_labels: ``(N,)``.
        val_clips: As ``train_clips``, for alpha.
        val_labels: ``(M,)``.
        batch_size: Samples per batch.
        seed: Seed of the per-epoch order.
        num_classes: Number of classes.
    """

    train_clips: tuple[torch.Tensor, ...]
    train_labels: torch.Tensor
    val_clips: tuple[torch.Tensor, ...]
    val_labels: torch.Tensor
    batch_size: int
    seed: int
    num_classes: int
    class_names: tuple[str, ...] = ()

    def _batches(
        self, clips: tuple[torch.Tensor, ...], labels: torch.Tensor, epoch: int, salt: int
    ) -> Iterator[Batch]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 7 + salt)
        order = torch.randperm(len(labels), generator=gen)
        for i in range(0, len(order) - self.batch_size + 1, self.batch_size):
            idx = order[i : i + self.batch_size]
            yield tuple(c[idx] for c in clips), labels[idx]

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        """Shuffled full batches of the training tensors."""
        return self._batches(self.train_clips, self.train_labels, epoch, 0)

    def val_batches(self, epoch: int) -> Iterator[Batch]:
        """Shuffled full batches of the alpha tensors."""
        return self._batches(self.val_clips, self.val_labels, epoch, 1)

    def __len__(self) -> int:
        return len(self.train_labels) // self.batch_size


def split_items(
    items: Sequence[VideoItem], alpha_fraction: float = 0.5
) -> tuple[list[VideoItem], list[VideoItem]]:
    """Deterministic per-class split of training videos into (weight part, alpha part)."""
    if not 0.0 < alpha_fraction < 1.0:
        raise ValueError(f"alpha_fraction = {alpha_fraction}: must be in (0, 1)")
    every = max(2, round(1.0 / alpha_fraction))
    by_class: dict[int, list[VideoItem]] = {}
    for it in items:
        by_class.setdefault(it.label, []).append(it)
    weights: list[VideoItem] = []
    alpha: list[VideoItem] = []
    for label in sorted(by_class):
        for j, it in enumerate(sorted(by_class[label], key=lambda v: str(v.path))):
            (alpha if j % every == every - 1 else weights).append(it)
    return weights, alpha


class VideoSearchData:
    """Decoded video batches from a dataset's train split (see the module docstring).

    Args:
        source: Dataset folder or list file (anything ``open_dataset`` reads).
        genome: Supplies frames, strides and crop of each stream.
        batch_size: Samples per batch.
        seed: Seed of orders and augmentation.
        workers: DataLoader worker processes.
        alpha_fraction: Share of each class held out for alpha.
        rank: This process's rank (DDP: each rank reads its own shard).
        world: Number of processes.
        alpha_batch_size: Samples per alpha batch (None: ``batch_size``); pass the search's
            ``alpha_batch_size`` so that no clip is decoded only to be dropped.
        flip: Random horizontal flips of the weight clips (``SearchConfig.flip``); off for
            direction-sensitive classes. Alpha clips are never flipped.

    Raises:
        DataError: If the dataset is missing, empty or too small for one batch per part.
    """

    def __init__(
        self,
        source: str | Path,
        genome: Genome,
        *,
        batch_size: int,
        seed: int,
        workers: int = 0,
        alpha_fraction: float = 0.5,
        rank: int = 0,
        world: int = 1,
        alpha_batch_size: int | None = None,
        flip: bool = True,
    ) -> None:
        items, class_map = open_dataset(source, "train")
        self.class_names = tuple(class_map.names)
        self.num_classes = len(self.class_names)
        if self.num_classes < 2:
            raise DataError(
                f"{source}: the search needs at least 2 classes, found {self.num_classes}"
            )
        w_items, a_items = split_items(items, alpha_fraction)
        a_batch = batch_size if alpha_batch_size is None else alpha_batch_size
        if len(w_items) < batch_size or len(a_items) < a_batch:
            raise DataError(
                f"{source}: too small for the search: {len(items)} training videos split into "
                f"{len(w_items)} (weights) + {len(a_items)} (alpha); the weight part needs at "
                f"least --batch-size ({batch_size}) videos and the alpha part at least "
                f"{a_batch} (the alpha batch)"
            )
        samplings = sampling_from_genome(genome)
        transform = TrainTransform.from_input_spec(genome.sparse.input, flip=flip)
        self.batch_size = batch_size
        self._train = self._loader(
            ClipDataset(w_items, samplings, transform, seed=seed, train=True),
            batch_size,
            workers,
            seed,
            rank,
            world,
        )
        self._val = self._loader(
            ClipDataset(a_items, samplings, transform, seed=seed + 1, train=False),
            a_batch,
            workers,
            seed + 1,
            rank,
            world,
        )

    @staticmethod
    def _loader(
        ds: ClipDataset, batch_size: int, workers: int, seed: int, rank: int, world: int
    ) -> torch.utils.data.DataLoader[object]:
        sampler: DistributedSampler[int] | None = None
        if world > 1:
            sampler = DistributedSampler(
                ds,
                world,
                rank,
                shuffle=True,
                seed=seed,
                drop_last=True,
            )
        return make_loader(
            ds,
            batch_size,
            workers=workers,
            shuffle=sampler is None,
            seed=seed,
            drop_last=True,
            sampler=sampler,
        )

    @staticmethod
    def _iter(loader: torch.utils.data.DataLoader[object], epoch: int) -> Iterator[Batch]:
        sampler = loader.sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        for clips, labels in loader:
            yield tuple(clips), labels

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        """Augmented training clips of the weight part."""
        return self._iter(self._train, epoch)

    def val_batches(self, epoch: int) -> Iterator[Batch]:
        """Centre clips of the alpha part."""
        return self._iter(self._val, epoch)

    def __len__(self) -> int:
        return len(self._train)
