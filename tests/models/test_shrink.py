"""``shrink``: sizes shrink, choices stay, and the final map keeps a few pixels."""

from __future__ import annotations

import pytest
import torch

from autotsnet.models import build_model, shrink, zoo
from autotsnet.models.plan import spatial_sizes


@pytest.mark.parametrize("name", ["auto_tsnet_s", "x3d_s", "manual_tsnet_85"])
def test_twin_keeps_choices_and_ends_on_a_4x4_map(name: str) -> None:
    genome = zoo.get(name)
    twin = shrink(genome)
    for big, small in zip(genome.streams.values(), twin.streams.values(), strict=True):
        assert [g.temporal_kernel for g in big.groups] == [g.temporal_kernel for g in small.groups]
        assert [g.expansion for g in big.groups] == [g.expansion for g in small.groups]
        assert all(8 <= g.width <= 32 and g.depth == 1 for g in small.groups)
        assert spatial_sizes(small, small.input.train_crop)[-1] == 4
        # only the last strided groups were relaxed, the early ones kept their stride
        pairs = zip(big.groups, small.groups, strict=True)
        relaxed = [i for i, (a, b) in enumerate(pairs) if a.stride != b.stride]
        kept = [i for i, g in enumerate(small.groups) if g.stride > 1]
        assert relaxed and max(kept) < min(relaxed)
        # test crop keeps the genome's ratio to its training crop (182/160 -> 36/32)
        assert small.input.test_crop == round(32 * big.input.test_crop / big.input.train_crop)
    assert twin.fusion == genome.fusion
    assert twin.sparse.glore_after == genome.sparse.glore_after
    clips = [torch.randn(2, 3, s.input.frames, 32, 32) for s in twin.streams.values()]
    assert build_model(twin, num_classes=3).eval()(*clips).shape == (2, 3)


def test_min_map_1_keeps_every_stride() -> None:
    genome = zoo.get("auto_tsnet_s")
    twin = shrink(genome, widths=(4, 16), min_map=1)
    assert [g.stride for g in twin.sparse.groups] == [g.stride for g in genome.sparse.groups]
    assert spatial_sizes(twin.sparse, 32)[-1] == 1
    assert all(4 <= g.width <= 16 for g in twin.sparse.groups)


def test_bad_widths() -> None:
    with pytest.raises(ValueError, match="widths"):
        shrink(zoo.get("x3d_s"), widths=(16, 8))
