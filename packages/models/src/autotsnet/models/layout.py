"""Macro layouts: the Auto-TSNet Table 1 group structure and the X3D reference layout.

Table 1 of the paper is garbled by text extraction; the reconstruction used here is spec §1.1:
each stream has 11 block groups with depths ``1,2 | 1,4 | 1,3,3,4 | 1,3,3`` (X3D-S depths
3/5/11/7), a spatial stride of 2 at the first group of every stage, and per-group width
choices given as (min, max, step) ranges.
"""

from __future__ import annotations

from collections.abc import Sequence

from autotsnet.models.genome import GroupGene, InputSpec, StemGene, StreamGene

__all__ = [
    "DENSE_WIDTH_CHOICES",
    "GLORE_CANDIDATES",
    "SPARSE_WIDTH_CHOICES",
    "TABLE1_DEPTHS",
    "TABLE1_STAGES",
    "TABLE1_STRIDES",
    "X3D_DEPTHS",
    "table1_stream",
    "widths_range",
    "x3d_stream",
]

TABLE1_STAGES: tuple[int, ...] = (1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4)
TABLE1_DEPTHS: tuple[int, ...] = (1, 2, 1, 4, 1, 3, 3, 4, 1, 3, 3)
TABLE1_STRIDES: tuple[int, ...] = (2, 1, 2, 1, 2, 1, 1, 1, 2, 1, 1)


def widths_range(lo: int, hi: int, step: int) -> tuple[int, ...]:
    """All widths ``lo, lo+step, ..., hi`` of a Table 1 (min, max, step) range."""
    return tuple(range(lo, hi + 1, step))


_SPARSE_STAGE_RANGES = {1: (32, 48, 8), 2: (64, 88, 8), 3: (128, 176, 16), 4: (248, 344, 24)}
SPARSE_WIDTH_CHOICES: tuple[tuple[int, ...], ...] = tuple(
    widths_range(*_SPARSE_STAGE_RANGES[s]) for s in TABLE1_STAGES
)
"""Per-group output-width choices of the sparse stream (Table 1a)."""

DENSE_WIDTH_CHOICES: tuple[tuple[int, ...], ...] = (
    (8,),
    widths_range(8, 16, 8),
    *(widths_range(8, 24, 8),) * 2,
    *(widths_range(16, 32, 8),) * 4,
    *(widths_range(32, 56, 8),) * 3,
)
"""Per-group output-width choices of the dense stream (Table 1b)."""

GLORE_CANDIDATES: tuple[int, ...] = (2, 3, 5, 7, 8, 9)
"""Group indices after which a GloRe unit may be inserted: 2 per stage in stages 2-4.

[P] says it "uniformly pick[s] 6 locations at stage 2, 3, and 4 for each stream". Assumed
here: after both groups of stage 2, after groups 2 and 4 of stage 3 (its middle and end), and
after the first two groups of stage 4 (the last group feeds the head).
"""

X3D_DEPTHS: dict[str, tuple[int, ...]] = {
    "xs": (3, 5, 11, 7),
    "s": (3, 5, 11, 7),
    "m": (3, 5, 11, 7),
    "l": (5, 10, 25, 15),
}


def table1_stream(
    *,
    input: InputSpec,
    stem_width: int,
    widths: Sequence[int],
    expansions: Sequence[float],
    temporal_kernels: Sequence[int],
    spatial_kernels: Sequence[int],
    stem_temporal_kernel: int = 3,
    glore_after: Sequence[int] = (),
    depth_multiplier: int = 1,
) -> StreamGene:
    """Build an 11-group stream on the Table 1 macro layout.

    Args:
        input: Frames, temporal stride and crops of the stream.
        stem_width: Stem output channels (24 sparse, 8 dense in Table 1).
        widths: Output width of each of the 11 groups.
        expansions: Expansion of each group.
        temporal_kernels: t of each group.
        spatial_kernels: k of each group.
        stem_temporal_kernel: Depthwise temporal kernel of the stem.
        glore_after: Group indices followed by a GloRe unit.
        depth_multiplier: Multiplies every group's depth (Auto-TSNet-L doubles it).

    Returns:
        The stream gene.
    """
    groups = tuple(
        GroupGene(
            temporal_kernel=t,
            spatial_kernel=k,
            width=w,
            expansion=e,
            depth=d * depth_multiplier,
            stride=s,
            stage=st,
        )
        for t, k, w, e, d, s, st in zip(
            temporal_kernels,
            spatial_kernels,
            widths,
            expansions,
            TABLE1_DEPTHS,
            TABLE1_STRIDES,
            TABLE1_STAGES,
            strict=True,
        )
    )
    return StreamGene(
        input=input,
        stem=StemGene(width=stem_width, temporal_kernel=stem_temporal_kernel),
        groups=groups,
        glore_after=tuple(glore_after),
    )


def x3d_stream(
    *,
    input: InputSpec,
    depths: Sequence[int],
    widths: Sequence[int] = (24, 48, 96, 192),
    stem_width: int = 24,
    expansion: float = 2.25,
) -> StreamGene:
    """The X3D reference stream: one group per stage, 3x3x3 depthwise, stride 2 per stage.

    Matches SlowFast's ``X3D`` / pytorchvideo's ``create_x3d`` (spec §6.2): stem 24 with a
    depthwise 5x1x1 conv, stage widths 24/48/96/192, inner width ``int(2.25 * out)``, SE
    (ratio 1/16) on every other block, Swish.
    """
    groups = tuple(
        GroupGene(
            temporal_kernel=3,
            spatial_kernel=3,
            width=w,
            expansion=expansion,
            depth=d,
            stride=2,
            stage=i + 1,
        )
        for i, (w, d) in enumerate(zip(widths, depths, strict=True))
    )
    return StreamGene(
        input=input,
        stem=StemGene(width=stem_width, temporal_kernel=5),
        groups=groups,
    )
