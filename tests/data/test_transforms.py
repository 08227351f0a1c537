"""Train transforms: seeded determinism, shapes, flip switch, normalisation, shared crop."""

from __future__ import annotations

import random

import pytest
import torch

from autotsnet.data import ClipDataset, StreamSampling, TrainTransform, VideoItem
from autotsnet.data.synth import SynthInfo


def _frames(t: int = 6, h: int = 120, w: int = 160) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (t, h, w, 3), dtype=torch.uint8, generator=g)


def test_shape_dtype_and_determinism_under_seed() -> None:
    tf = TrainTransform(crop=64, scale=(72, 90))
    x = _frames()
    a, b = tf(x, random.Random(5)), tf(x, random.Random(5))
    assert a.shape == (3, 6, 64, 64) and a.dtype == torch.float32
    assert torch.equal(a, b)
    others = [tf(x, random.Random(s)) for s in range(6)]
    assert any(not torch.equal(a, o) for o in others)


def test_params_stay_in_range() -> None:
    tf = TrainTransform(crop=160, scale=(182, 228))
    rng = random.Random(0)
    flips = set()
    for _ in range(200):
        p = tf.sample(256, 340, rng)
        assert 182 <= p.short_side <= 228
        assert 0 <= p.top <= p.short_side - 160
        flips.add(p.flip)
    assert flips == {True, False}


def test_flip_can_be_switched_off() -> None:
    tf = TrainTransform(crop=32, scale=(32, 40), flip=False)
    rng = random.Random(0)
    assert not any(tf.sample(48, 64, rng).flip for _ in range(100))


def test_flip_mirrors_the_crop() -> None:
    tf = TrainTransform(crop=32, scale=(32, 32))
    x = _frames(2, 32, 32)
    p = tf.sample(32, 32, random.Random(0))
    from dataclasses import replace

    plain = tf.spatial(x, replace(p, flip=False))
    flipped = tf.spatial(x, replace(p, flip=True))
    assert torch.equal(plain.flip(-1), flipped)


def test_normalisation_values() -> None:
    tf = TrainTransform(crop=8, scale=(8, 8), flip=False, mean=(0.5, 0.5, 0.5), std=(0.5,) * 3)
    x = torch.full((1, 8, 8, 3), 255, dtype=torch.uint8)
    assert torch.allclose(tf(x, random.Random(0)), torch.ones(3, 1, 8, 8))


def test_from_input_spec_keeps_paper_ratio() -> None:
    from autotsnet.models.genome import InputSpec

    tf = TrainTransform.from_input_spec(InputSpec(frames=4, temporal_stride=16))
    assert (tf.crop, tf.scale) == (160, (182, 228))
    with pytest.raises(ValueError):
        TrainTransform(crop=200, scale=(182, 228))


def test_both_streams_share_window_and_crop(synth_root: SynthInfo) -> None:
    path = next((synth_root.out / "train" / "left").glob("*.mp4"))
    ds = ClipDataset(
        [VideoItem(path, 0)],
        [StreamSampling(2, 8), StreamSampling(8, 2)],
        TrainTransform(crop=24, scale=(28, 36)),
        seed=3,
    )
    for epoch in range(3):
        (sparse, dense), _label = ds[(0, epoch)]
        assert sparse.shape == (3, 2, 24, 24) and dense.shape == (3, 8, 24, 24)
        assert torch.equal(sparse, dense[:, ::4])  # same frames, same crop, same flip
    a, _ = ds[(0, 1)]
    b, _ = ds[(0, 1)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
