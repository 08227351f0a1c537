"""Two-stream clip sampling: one window, right strides, seeded starts, short videos."""

from __future__ import annotations

import random

import numpy as np
import pytest

from autotsnet.data import ClipSampler, StreamSampling, sampling_from_genome
from autotsnet.models.genome import GroupGene, InputSpec, StemGene, StreamGene

SPARSE, DENSE = StreamSampling(4, 16), StreamSampling(32, 2)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_both_streams_inside_one_window_with_right_strides(seed: int) -> None:
    sampler = ClipSampler((SPARSE, DENSE))
    assert sampler.window == 64
    n = 300
    start = sampler.train_start(n, random.Random(seed))
    assert 0 <= start <= n - 64
    sparse, dense = sampler.indices(start, n)
    assert sparse.tolist() == [start + 16 * i for i in range(4)]
    assert dense.tolist() == [start + 2 * j for j in range(32)]
    assert np.diff(sparse).tolist() == [16] * 3 and set(np.diff(dense).tolist()) == {2}
    lo, hi = start, start + sampler.window
    assert all(lo <= i < hi for i in np.concatenate([sparse, dense]))
    assert dense[::8].tolist() == sparse.tolist()  # sparse frame i is dense frame 8i


def test_train_start_is_seeded() -> None:
    sampler = ClipSampler((SPARSE, DENSE))
    a = [sampler.train_start(500, random.Random(s)) for s in range(20)]
    b = [sampler.train_start(500, random.Random(s)) for s in range(20)]
    assert a == b and len(set(a)) > 10


def test_union_decodes_each_frame_once() -> None:
    sampler = ClipSampler((SPARSE, DENSE))
    per = sampler.indices(10, 300)
    union, pos = sampler.union(per)
    assert len(union) == 32  # every sparse frame is also a dense frame
    for idx, p in zip(per, pos, strict=True):
        assert union[p].tolist() == idx.tolist()


def test_test_starts_are_uniform_and_cover_the_video() -> None:
    sampler = ClipSampler((SPARSE, DENSE))
    starts = sampler.test_starts(300, 10)
    assert starts[0] == 0 and starts[-1] == 300 - 64 and len(starts) == 10
    gaps = np.diff(starts)
    assert gaps.max() - gaps.min() <= 1
    assert sampler.test_starts(300, 1) == [(300 - 64) // 2]


@pytest.mark.parametrize(("short", "expected"), [("pad", [0, 4, 8, 9]), ("loop", [0, 4, 8, 2])])
def test_short_videos_pad_or_loop(short: str, expected: list[int]) -> None:
    sampler = ClipSampler((StreamSampling(4, 4),), short=short)  # type: ignore[arg-type]
    assert sampler.train_start(10, random.Random(0)) == 0
    assert sampler.indices(0, 10)[0].tolist() == expected


def test_sampling_from_genome_sparse_then_dense() -> None:
    g = GroupGene(
        temporal_kernel=3, spatial_kernel=3, width=8, expansion=2.25, depth=1, stride=2, stage=1
    )

    def stream(frames: int, stride: int) -> StreamGene:
        spec = InputSpec(frames=frames, temporal_stride=stride)
        return StreamGene(input=spec, stem=StemGene(width=8), groups=(g,))

    from autotsnet.models.genome import Genome

    two = Genome(sparse=stream(4, 16), dense=stream(32, 2))
    assert sampling_from_genome(two) == (SPARSE, DENSE)
    one = Genome(sparse=stream(8, 4))
    assert sampling_from_genome(one) == (StreamSampling(8, 4),)


def test_parse_and_validation() -> None:
    assert StreamSampling.parse("4x16") == SPARSE
    with pytest.raises(ValueError):
        StreamSampling.parse("4-16")
    with pytest.raises(ValueError):
        StreamSampling(0, 2)
