"""uint8 output mode and consumer-side normalize_batch: same clips as the float32 default."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from autotsnet.data import (
    IGNORE_LABEL,
    ClipDataset,
    DataError,
    StreamSampling,
    TestViews,
    TrainTransform,
    VideoItem,
    ViewDataset,
    make_loader,
    normalize_batch,
    open_dataset,
)
from autotsnet.data.synth import SynthInfo
from autotsnet.data.transforms import to_cthw

SAMPLINGS = (StreamSampling(2, 4), StreamSampling(4, 2))
MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
TOL = 1 / 255


def _items(synth_root: SynthInfo) -> list[VideoItem]:
    return open_dataset(synth_root.out, "train")[0]


def _unnormalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    m = torch.tensor(mean).view(3, 1, 1, 1)
    s = torch.tensor(std).view(3, 1, 1, 1)
    return (x * s + m) * 255


def test_normalize_batch_values() -> None:
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 3, 1, 1, 1).expand(2, 3, 2, 4, 4)
    out = normalize_batch(x, MEAN, STD)
    assert out.dtype == torch.float32 and out.shape == x.shape
    want = torch.tensor([(0 - 0.4) / 0.2, (0.2 - 0.5) / 0.25, (1.0 - 0.6) / 0.3])
    assert torch.allclose(out[0, :, 0, 0, 0], want, atol=1e-6)
    uniform = normalize_batch(
        torch.full((3, 1, 2, 2), 255, dtype=torch.uint8), (0.5,) * 3, (0.5,) * 3
    )
    assert torch.equal(uniform, torch.ones(3, 1, 2, 2))


def test_normalize_batch_structure_dtype_device() -> None:
    g = torch.Generator().manual_seed(0)
    views = torch.randint(0, 256, (2, 5, 3, 2, 4, 4), dtype=torch.uint8, generator=g)
    clips = [views[:, 0], views[:, 1, :, :1]]
    out = normalize_batch(clips, device="cpu")
    assert isinstance(out, tuple) and [o.shape for o in out] == [c.shape for c in clips]
    half = normalize_batch(views, dtype=torch.float16)
    assert half.dtype == torch.float16
    assert torch.allclose(half.float(), normalize_batch(views), atol=1e-2)
    assert normalize_batch(views, dtype=torch.float64).dtype == torch.float64
    with pytest.raises(DataError, match="uint8"):
        normalize_batch(views.float())
    with pytest.raises(DataError, match="T, H, W"):
        normalize_batch(views.transpose(-4, -3))
    with pytest.raises(ValueError, match="floating"):
        normalize_batch(views, dtype=torch.int32)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_normalize_batch_on_gpu_matches_cpu() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (2, 3, 4, 8, 8), dtype=torch.uint8, generator=g).pin_memory()
    out = normalize_batch(x, MEAN, STD, device="cuda")
    assert out.device.type == "cuda"
    assert torch.allclose(out.cpu(), normalize_batch(x, MEAN, STD), atol=1e-5)


def test_to_cthw_matches_permute_and_flip() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 256, (5, 9, 11, 3), dtype=torch.uint8, generator=g)
    tchw = x[:, 1:8, 2:10].permute(0, 3, 1, 2)  # strided, channels-last view
    assert torch.equal(to_cthw(tchw), tchw.permute(1, 0, 2, 3))
    assert torch.equal(to_cthw(tchw, flip=True), tchw.flip(-1).permute(1, 0, 2, 3))
    assert to_cthw(tchw).is_contiguous()


def test_apply_equals_spatial() -> None:
    tf = TrainTransform(crop=24, scale=(28, 36))
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 256, (4, 32, 48, 3), dtype=torch.uint8, generator=g)
    rng = random.Random(0)
    for _ in range(6):
        p = tf.sample(32, 48, rng)
        assert torch.equal(tf.apply(x, p), tf.spatial(x, p).permute(1, 0, 2, 3))


@pytest.mark.parametrize("train", [True, False])
def test_clip_dataset_uint8_matches_float(synth_root: SynthInfo, train: bool) -> None:
    items = _items(synth_root)[:4]
    tf = TrainTransform(crop=24, scale=(28, 36), mean=MEAN, std=STD)
    fl = ClipDataset(items, SAMPLINGS, tf, seed=5, train=train)
    u8 = ClipDataset(items, SAMPLINGS, tf, seed=5, train=train, output="uint8")
    for i in range(len(items)):
        (fa, fb), label_f = fl[(i, 1)]
        (ua, ub), label_u = u8[(i, 1)]
        assert label_f == label_u and ua.dtype == torch.uint8
        assert ua.shape == fa.shape == (3, 2, 24, 24) and ub.shape == fb.shape
        na, nb = normalize_batch((ua, ub), MEAN, STD)
        assert torch.allclose(na, fa, atol=TOL) and torch.allclose(nb, fb, atol=TOL)
        assert torch.equal(na, fa) and torch.equal(nb, fb)  # same arithmetic on the CPU
        assert torch.equal(_unnormalize(fb, MEAN, STD).round().to(torch.uint8), ub)
        assert torch.equal(ua, ub[:, ::2])  # shared window and crop


def test_uint8_mode_is_seeded_with_or_without_workers(synth_root: SynthInfo) -> None:
    items = _items(synth_root)
    tf = TrainTransform(crop=24, scale=(26, 30))

    def epochs(workers: int) -> list[list[torch.Tensor]]:
        ds = ClipDataset(items, SAMPLINGS, tf, seed=9, output="uint8")
        loader = make_loader(ds, 4, workers=workers, shuffle=True, seed=3)
        return [[clips[1] for clips, _ in loader] for _ in range(2)]

    a, b = epochs(0), epochs(2)
    assert a[0][0].dtype == torch.uint8
    for ea, eb in zip(a, b, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(ea, eb, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a[0], a[1], strict=True))  # new epoch
    with pytest.raises(ValueError, match="output"):
        ClipDataset(items, SAMPLINGS, tf, seed=0, output="float16")  # type: ignore[arg-type]


def test_float_epochs_equal_normalized_uint8(synth_root: SynthInfo) -> None:
    items = _items(synth_root)
    tf = TrainTransform(crop=24, scale=(26, 30))
    out = {}
    for output in ("uint8", "float32"):
        ds = ClipDataset(items, SAMPLINGS, tf, seed=9, output=output)
        out[output] = [clips for clips, _ in make_loader(ds, 4, workers=0, shuffle=True, seed=3)]
    for u, f in zip(out["uint8"], out["float32"], strict=True):
        assert u[0].dtype == torch.uint8 and f[0].dtype == torch.float32
        assert all(
            torch.allclose(n, x, atol=TOL) for n, x in zip(normalize_batch(u), f, strict=True)
        )


@pytest.mark.parametrize("text", ["2x1", "2x3"])
def test_view_dataset_uint8_matches_float(synth_root: SynthInfo, text: str) -> None:
    items = _items(synth_root)[:2]
    views = TestViews.parse(text, short_side=32, center_crop=28)
    fl = ViewDataset(items, SAMPLINGS, views, mean=MEAN, std=STD)
    u8 = ViewDataset(items, SAMPLINGS, views, mean=MEAN, std=STD, output="uint8")
    for i in range(len(items)):
        f_views, label_f, ok_f, _ = fl[i]
        u_views, label_u, ok_u, _ = u8[i]
        assert ok_f and ok_u and label_f == label_u
        for u, f in zip(u_views, f_views, strict=True):
            assert u.dtype == torch.uint8 and u.shape == f.shape
            assert torch.allclose(normalize_batch(u, MEAN, STD), f, atol=TOL)


def test_uint8_mode_failures_give_uint8_zeros(damaged: dict[str, Path]) -> None:
    item = [VideoItem(damaged["random"], 3)]
    ds = ClipDataset(item, SAMPLINGS, TrainTransform(24, (26, 30)), seed=0, train=False,
                     output="uint8")  # fmt: skip
    (sparse, _dense), label = ds[0]
    assert label == IGNORE_LABEL and sparse.dtype == torch.uint8 and not sparse.any()
    vds = ViewDataset(item, SAMPLINGS, TestViews(2, 3, 32, 32), output="uint8")
    (vs, _vd), _label, ok, reason = vds[0]
    assert not ok and reason and vs.dtype == torch.uint8 and vs.shape == (6, 3, 2, 32, 32)
