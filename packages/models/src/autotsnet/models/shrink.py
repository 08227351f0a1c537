"""``shrink``: a tiny twin of any genome for fast tests (style guide: tiny-model tests).

The twin keeps every categorical choice (kernels, expansions, strides, fusion ops, GloRe
locations, stages) and shrinks only sizes: widths to 4-16 channels, one block per group, 2
sparse frames (alpha capped at 4 for the dense stream), 32 px crops and a 32-wide head.
"""

from __future__ import annotations

import dataclasses

from autotsnet.models.genome import Genome, HeadGene, InputSpec, StreamGene

__all__ = ["shrink", "shrink_width"]


def shrink_width(width: int) -> int:
    """Map a width to 4..16 in steps of 4, keeping the order of widths."""
    return min(16, max(4, 4 * round(width / 32)))


def _shrink_stream(stream: StreamGene, frames: int, crop: int) -> StreamGene:
    groups = tuple(
        dataclasses.replace(g, width=shrink_width(g.width), depth=1) for g in stream.groups
    )
    return dataclasses.replace(
        stream,
        input=InputSpec(
            frames=frames,
            temporal_stride=stream.input.temporal_stride,
            train_crop=crop,
            test_crop=crop,
            test_short_side=crop,
        ),
        stem=dataclasses.replace(stream.stem, width=shrink_width(stream.stem.width)),
        groups=groups,
    )


def shrink(genome: Genome, *, frames: int = 2, crop: int = 32, hidden: int = 32) -> Genome:
    """Return a tiny twin of ``genome`` with the same choices and topology.

    Args:
        genome: Any valid genome.
        frames: Sparse-stream frames of the twin.
        crop: Spatial crop (train and test) of the twin.
        hidden: Hidden width of the classifier.
    """
    alpha = min(genome.alpha, 4)
    dense = None if genome.dense is None else _shrink_stream(genome.dense, frames * alpha, crop)
    return dataclasses.replace(
        genome,
        name=f"{genome.name}_tiny" if genome.name else "tiny",
        sparse=_shrink_stream(genome.sparse, frames, crop),
        dense=dense,
        head=HeadGene(
            conv_expansion=genome.head.conv_expansion, hidden=hidden, dropout=genome.head.dropout
        ),
    )
