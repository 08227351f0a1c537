"""make_loader: seeded order and augmentation that do not depend on the number of workers."""

from __future__ import annotations

import torch

from autotsnet.data import (
    ClipDataset,
    EpochSampler,
    StreamSampling,
    TrainTransform,
    make_loader,
    open_dataset,
)
from autotsnet.data.synth import SynthInfo


def _epochs(synth_root: SynthInfo, workers: int) -> list[list[torch.Tensor]]:
    items, _ = open_dataset(synth_root.out, "train")
    ds = ClipDataset(
        items, (StreamSampling(2, 4), StreamSampling(4, 2)), TrainTransform(24, (26, 30)), seed=9
    )
    loader = make_loader(ds, 4, workers=workers, shuffle=True, seed=3)
    assert isinstance(loader.sampler, EpochSampler)
    if workers:
        assert loader.persistent_workers
    return [[clips[0] for clips, _ in loader] for _ in range(2)]


def test_same_batches_with_or_without_workers(synth_root: SynthInfo) -> None:
    a = _epochs(synth_root, workers=0)
    b = _epochs(synth_root, workers=2)
    for ea, eb in zip(a, b, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(ea, eb, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a[0], a[1], strict=True))  # new epoch


def test_epoch_sampler_order() -> None:
    s = EpochSampler(10, shuffle=True, seed=1)
    first, second = list(s), list(s)
    assert sorted(i for i, _ in first) == list(range(10))
    assert {e for _, e in first} == {0} and {e for _, e in second} == {1}
    assert [i for i, _ in first] != [i for i, _ in second]
    s.set_epoch(0)
    assert list(s) == first
    plain = EpochSampler(5, shuffle=False, seed=0, epoch_keys=False)
    assert list(plain) == [0, 1, 2, 3, 4]
