"""Channel and size bookkeeping shared by the builder, the cost estimator and the supernet.

Torch-free, so the analytic cost model can use it in microseconds.
"""

from __future__ import annotations

from autotsnet.models.genome import Genome, StreamGene

__all__ = [
    "conv_out",
    "fused_width",
    "group_in_widths",
    "head_width",
    "spatial_sizes",
    "stage_offsets",
]


def fused_width(op: str, dense_channels: int, alpha: int) -> int:
    """Channels that fusion ``op`` concatenates to the sparse stream.

    ``none``: 0; ``time_to_channel``: alpha*C_d; ``time_strided_sample``: C_d;
    ``time_strided_conv``: 2*C_d.
    """
    table = {
        "none": 0,
        "time_to_channel": alpha * dense_channels,
        "time_strided_sample": dense_channels,
        "time_strided_conv": 2 * dense_channels,
    }
    if op not in table:
        raise ValueError(f"unknown fusion op {op!r}")
    return table[op]


def group_in_widths(genome: Genome) -> dict[str, tuple[int, ...]]:
    """Input channels of each group's first block, per stream.

    The sparse stream's group ``i+1`` also receives the channels fused after group ``i``.
    """
    out: dict[str, tuple[int, ...]] = {}
    for name, stream in genome.streams.items():
        widths = [stream.stem.width]
        for i, g in enumerate(stream.groups[:-1]):
            extra = 0
            if name == "sparse" and genome.dense is not None:
                extra = fused_width(genome.fusion[i], genome.dense.groups[i].width, genome.alpha)
            widths.append(g.width + extra)
        out[name] = tuple(widths)
    return out


def conv_out(size: int, kernel: int, stride: int) -> int:
    """Output size of a 'same'-padded conv: ``floor((size + 2*(k//2) - k) / s) + 1``."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def spatial_sizes(stream: StreamGene, crop: int) -> tuple[int, ...]:
    """Spatial size after the stem and after each group, for a square ``crop`` input."""
    size = conv_out(crop, 3, 2)
    sizes = [size]
    for g in stream.groups:
        size = conv_out(size, g.spatial_kernel, g.stride)
        sizes.append(size)
    return tuple(sizes)


def head_width(genome: Genome, stream: StreamGene) -> int:
    """Channels of a stream's head conv: ``round(conv_expansion * C_last)``."""
    return round(genome.head.conv_expansion * stream.out_width)


def stage_offsets(stream: StreamGene) -> tuple[int, ...]:
    """Index of each group's first block within its stage (SE goes on even indices)."""
    offsets: list[int] = []
    stage, count = -1, 0
    for g in stream.groups:
        if g.stage != stage:
            stage, count = g.stage, 0
        offsets.append(count)
        count += g.depth
    return tuple(offsets)
