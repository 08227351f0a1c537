"""``shrink``: a small twin of any genome for CPU training and fast tests (style guide).

The twin keeps every categorical choice (kernels, expansions, fusion ops, GloRe locations,
stages) and shrinks only sizes: widths to 8-32 channels, one block per group, 2 sparse
frames (alpha capped at 4 for the dense stream), a 32 px training crop (test crop and short
side in the genome's own ratio, 182/160 for X3D-S: 36 px) and a 32-wide head. Strides are
kept, except that the last downsampling groups are relaxed to stride 1 until the final
feature map is at least ``min_map`` pixels wide: with the full 32x total stride a 32 px crop
ends on a 1x1 map, and such twins did not learn the synthetic task in CPU budgets
(docs/training.md). Pass ``min_map=1`` to keep every stride.
"""

from __future__ import annotations

import dataclasses

from autotsnet.models.genome import Genome, HeadGene, InputSpec, StreamGene
from autotsnet.models.plan import spatial_sizes

__all__ = ["shrink", "shrink_width"]


def shrink_width(width: int, *, low: int = 8, high: int = 32) -> int:
    """Map a width to ``low..high`` in steps of 8 (``round(width / 32) * 8``), keeping order."""
    return min(high, max(low, 8 * round(width / 32)))


def _relax_strides(stream: StreamGene, crop: int, min_map: int) -> StreamGene:
    """Set the last strided groups to stride 1 until the final map is >= ``min_map``."""
    groups = list(stream.groups)
    while spatial_sizes(dataclasses.replace(stream, groups=tuple(groups)), crop)[-1] < min_map:
        strided = [i for i, g in enumerate(groups) if g.stride > 1]
        if not strided:
            break
        groups[strided[-1]] = dataclasses.replace(groups[strided[-1]], stride=1)
    return dataclasses.replace(stream, groups=tuple(groups))


def _shrink_stream(
    stream: StreamGene, frames: int, crop: int, widths: tuple[int, int], min_map: int
) -> StreamGene:
    low, high = widths
    groups = tuple(
        dataclasses.replace(g, width=shrink_width(g.width, low=low, high=high), depth=1)
        for g in stream.groups
    )
    spec = stream.input
    small = dataclasses.replace(
        stream,
        input=InputSpec(
            frames=frames,
            temporal_stride=spec.temporal_stride,
            train_crop=crop,
            test_crop=round(crop * spec.test_crop / spec.train_crop),
            test_short_side=round(crop * spec.test_short_side / spec.train_crop),
        ),
        stem=dataclasses.replace(
            stream.stem, width=shrink_width(stream.stem.width, low=low, high=high)
        ),
        groups=groups,
    )
    return _relax_strides(small, crop, min_map)


def shrink(
    genome: Genome,
    *,
    frames: int = 2,
    crop: int = 32,
    hidden: int = 32,
    widths: tuple[int, int] = (8, 32),
    min_map: int = 4,
) -> Genome:
    """Return a small twin of ``genome`` with the same choices and topology.

    Args:
        genome: Any valid genome.
        frames: Sparse-stream frames of the twin.
        crop: Training crop of the twin; the test crop and short side keep the genome's
            ratio to its training crop.
        hidden: Hidden width of the classifier.
        widths: (narrowest, widest) channel count of the twin's groups and stems.
        min_map: Smallest final feature map (pixels per side) at ``crop``; the last strided
            groups get stride 1 until it is reached (1 keeps every stride).
    """
    if widths[0] < 1 or widths[0] > widths[1]:
        raise ValueError(f"widths = {widths}: need 1 <= low <= high")
    alpha = min(genome.alpha, 4)
    dense = (
        None
        if genome.dense is None
        else _shrink_stream(genome.dense, frames * alpha, crop, widths, min_map)
    )
    return dataclasses.replace(
        genome,
        name=f"{genome.name}_tiny" if genome.name else "tiny",
        sparse=_shrink_stream(genome.sparse, frames, crop, widths, min_map),
        dense=dense,
        head=HeadGene(
            conv_expansion=genome.head.conv_expansion,
            hidden=hidden,
            dropout=genome.head.dropout,
            hidden_norm=genome.head.hidden_norm,
        ),
    )
