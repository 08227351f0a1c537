"""The sparse-frames experiment trains step-1 genomes that differ only in their input."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from autotsnet.models.cost import estimate


def test_sparse_frames_genomes(load_tool: Callable[[str], ModuleType]) -> None:
    genomes = load_tool("tools/experiments/sparse_frames.py").genomes()
    two, four = genomes["sparse_2_frames"], genomes["sparse_4_frames"]
    assert two.dense is None and four.dense is None
    assert (two.sparse.input.frames, two.sparse.input.temporal_stride) == (2, 8)
    assert (four.sparse.input.frames, four.sparse.input.temporal_stride) == (4, 8)
    assert two.sparse.groups == four.sparse.groups
    assert estimate(four, num_classes=4).flops > estimate(two, num_classes=4).flops
