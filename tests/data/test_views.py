"""Multi-view testing: number and shape of views for 10x1 and 10x3."""

from __future__ import annotations

import pytest
import torch

from autotsnet.data import StreamSampling, TestViews, VideoItem, ViewDataset
from autotsnet.data.synth import SynthInfo


def test_parse_protocols() -> None:
    assert TestViews.parse("10x1") == TestViews(clips=10, crops=1, short_side=182, crop=160)
    assert TestViews.parse("10x3") == TestViews(clips=10, crops=3, short_side=182, crop=182)
    assert TestViews.parse("10x3").num_views == 30
    with pytest.raises(ValueError):
        TestViews.parse("ten")


def test_parse_from_input_spec() -> None:
    from autotsnet.models.genome import InputSpec

    spec = InputSpec(frames=4, temporal_stride=16, train_crop=56, test_crop=64, test_short_side=64)
    assert TestViews.parse("10x1", spec=spec) == TestViews(10, 1, 64, 56)
    assert TestViews.parse("10x3", spec=spec) == TestViews(10, 3, 64, 64)


def test_three_crops_cover_the_long_side() -> None:
    v = TestViews.parse("10x3")
    h, w = v.scaled_size(256, 340)
    assert (h, w) == (182, 242)
    assert v.crop_boxes(h, w) == [(0, 0), (0, 30), (0, 60)]
    assert v.crop_boxes(w, h) == [(0, 0), (30, 0), (60, 0)]  # portrait: top/center/bottom
    c = TestViews.parse("10x1")
    assert c.crop_boxes(h, w) == [(11, 41)]


@pytest.mark.parametrize(("text", "views"), [("10x1", 10), ("10x3", 30)])
def test_view_dataset_shapes(synth_root: SynthInfo, text: str, views: int) -> None:
    path = next((synth_root.out / "val" / "up").glob("*.mp4"))
    spec = TestViews.parse(text, short_side=32, center_crop=28)
    ds = ViewDataset([VideoItem(path, 2)], [StreamSampling(2, 4), StreamSampling(4, 2)], spec)
    (sparse, dense), label, ok, reason = ds[0]
    crop = 28 if text == "10x1" else 32
    assert ok and reason == "" and label == 2
    assert sparse.shape == (views, 3, 2, crop, crop)
    assert dense.shape == (views, 3, 4, crop, crop)
    assert sparse.dtype == torch.float32
    assert torch.equal(sparse, dense[:, :, ::2])  # shared windows and crops
    crops = spec.crops
    if crops == 3:  # clip-major: views 0-2 are one clip's left/center/right crops
        assert not torch.equal(sparse[0], sparse[2])
    assert not torch.equal(sparse[0], sparse[(spec.clips - 1) * crops])  # clips differ in time
