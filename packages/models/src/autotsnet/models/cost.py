"""Analytic FLOPs and parameter counts of a genome: no torch, no forward pass.

The convention is the one of X3D, SlowFast's ``get_model_stats`` and the Auto-TSNet paper:
FLOPs are **multiply-adds** (1 MAC = 1 FLOP) of convolutions, linear layers and matrix
products. Batch norm, activations, pooling, the SE rescale, residual additions and biases are
not counted. Parameters are everything ``sum(p.numel() for p in net.parameters())`` counts,
batch-norm affine weights included (running statistics are buffers, not parameters).

Every term mirrors one module of :mod:`autotsnet.models.builder` (spec §9)::

    stem        T*S^2*(27*C0) + T*S^2*C0*t0               (conv 1x3x3 s2, depthwise t0x1x1)
    MBConv3D    T*H_in^2*C_in*M                           (expand 1x1x1)
                + T*H_out^2*M*t*k^2                       (depthwise t x k x k, stride s)
                + 2*M*r                                   (SE FCs on pooled features)
                + T*H_out^2*M*C_out                       (project 1x1x1)
                + T*H_out^2*C_in*C_out                    (projection shortcut, if any)
    GloRe       L*C*(C'+N) + 2*C'*N*L + N^2*C' + C'^2*N + L*C'*C   (spec §5.2, L = T*H^2)
    T-conv      5*C_d*2*C_d*T_s*H^2                       (fusion, dense -> sparse)
    head conv   C_last*D*T*h^2                            (per stream)
    classifier  sum(D)*hidden + hidden*classes

Buckets of :attr:`CostReport.stream_flops`: ``sparse`` / ``dense`` hold a stream's stem, block
groups, GloRe units and its head conv (widened inputs caused by fused channels count in the
sparse stream, which runs those convs); ``fusion`` holds the lateral convs; ``head`` the shared
classifier MLP. The paper's ratio P (:attr:`CostReport.sparse_share`) is ``sparse / total``.

:func:`estimate` is pure integer arithmetic (well under a millisecond for a new two-stream
genome) and memoised per (genome, crop, frames, classes) and per stream, so the search loop
can call it for every sampled architecture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from autotsnet.models.genome import Genome, GloReGene, StreamGene
from autotsnet.models.plan import (
    conv_out,
    group_in_widths,
    head_width,
    spatial_sizes,
    stage_offsets,
)

__all__ = [
    "CostReport",
    "GroupCost",
    "estimate",
    "glore_widths",
    "se_width",
]

_FUSION_KERNEL = 5
"""Temporal kernel of the time-strided-conv fusion (SlowFast ``FuseFastToSlow``)."""


@dataclass(frozen=True, kw_only=True)
class GroupCost:
    """Cost of one block group (its MBConv3D blocks; a following GloRe unit is not included).

    Attributes:
        stream: "sparse" or "dense".
        index: Group index within the stream.
        stage: X3D stage (1-4) of the group.
        width: Output channels.
        depth: Number of blocks.
        flops: Multiply-adds of one view.
        params: Parameters, batch norm included.
    """

    stream: str
    index: int
    stage: int
    width: int
    depth: int
    flops: int
    params: int


@dataclass(frozen=True, kw_only=True)
class CostReport:
    """FLOPs and parameters of a network, in total and broken down.

    Attributes:
        params: All parameters, batch-norm affine weights included.
        flops: Multiply-adds of one view (conv + linear + matmul; 1 MAC = 1 FLOP).
        views: Test views per video (for :attr:`gflops_per_video`).
        crop: Square spatial input size.
        frames: Input frames per stream.
        stream_flops: ``sparse``, ``dense`` (two-stream only), ``fusion`` and ``head`` MACs;
            they sum to :attr:`flops`. See the module docstring for what goes where.
        stream_params: Parameters in the same buckets; they sum to :attr:`params`.
        groups: Per block group cost, sparse groups first.
        parts: MACs per builder module path (``sparse.stem``, ``sparse.groups.3``,
            ``sparse.attention.5``, ``fusions.1``, ``sparse_head``, ``classifier``), the
            finest breakdown; modules without MACs (identity, sampling fusions) are absent.
        part_params: Parameters per module path, same keys as :attr:`parts`.
    """

    params: int
    flops: int
    views: int
    crop: int
    frames: dict[str, int]
    stream_flops: dict[str, int]
    stream_params: dict[str, int]
    groups: tuple[GroupCost, ...]
    parts: dict[str, int] = field(default_factory=dict)
    part_params: dict[str, int] = field(default_factory=dict)

    @property
    def gflops_per_view(self) -> float:
        """GFLOPs (multiply-adds / 1e9) of one view."""
        return self.flops / 1e9

    @property
    def gflops_per_video(self) -> float:
        """GFLOPs of all :attr:`views` of a video."""
        return self.flops * self.views / 1e9

    @property
    def params_m(self) -> float:
        """Parameters in millions."""
        return self.params / 1e6

    @property
    def sparse_share(self) -> float:
        """The paper's ratio P: sparse-stream FLOPs over total FLOPs.

        The sparse stream counts its stem, groups (including the extra input channels that
        fusion concatenates), GloRe units and head conv; the total also holds the dense
        stream, the fusion convs and the shared classifier (so a single-stream network
        gives slightly less than 1).
        """
        return self.stream_flops["sparse"] / self.flops if self.flops else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (totals, per-stream buckets and per-group costs)."""
        return {
            "params": self.params,
            "params_m": self.params_m,
            "flops": self.flops,
            "gflops_per_view": self.gflops_per_view,
            "gflops_per_video": self.gflops_per_video,
            "views": self.views,
            "crop": self.crop,
            "frames": dict(self.frames),
            "sparse_share": self.sparse_share,
            "streams": {
                name: {"flops": flops, "params": self.stream_params[name]}
                for name, flops in self.stream_flops.items()
            },
            "groups": [
                {
                    "stream": g.stream,
                    "index": g.index,
                    "stage": g.stage,
                    "width": g.width,
                    "depth": g.depth,
                    "flops": g.flops,
                    "params": g.params,
                }
                for g in self.groups
            ],
            "parts": dict(self.parts),
        }


# ------------------------------------------------------------------ widths shared with blocks
def se_width(channels: int, ratio: float, min_width: int = 8, divisor: int = 8) -> int:
    """SE hidden width: ``round_width(channels, ratio)`` of SlowFast (see ``blocks.se``)."""
    scaled = channels * ratio
    out = max(min_width, int(scaled + divisor / 2) // divisor * divisor)
    if out < 0.9 * scaled:
        out += divisor
    return int(out)


def glore_widths(channels: int, state_ratio: float, node_ratio: float) -> tuple[int, int]:
    """``(C', N)`` of a GloRe unit on ``channels`` inputs (same rule as ``blocks.glore``)."""
    return max(1, round(state_ratio * channels)), max(1, round(node_ratio * channels))


# ------------------------------------------------------------------ per-component terms
def _stem(stream: StreamGene, frames: int, crop: int) -> tuple[int, int]:
    c0, t0 = stream.stem.width, stream.stem.temporal_kernel
    pos = frames * conv_out(crop, 3, 2) ** 2
    flops = pos * 27 * c0 + pos * c0 * t0
    params = 27 * c0 + t0 * c0 + 2 * c0
    return flops, params


def _block(
    c_in: int, c_out: int, m: int, tk2: int, frames: int, h_in: int, h_out: int, se: int, s: int
) -> tuple[int, int]:
    """MACs and params of one MBConv3D block.

    ``tk2`` = t*k*k, ``se`` = SE width (0 = no SE), ``s`` = spatial stride.
    """
    pos_in = frames * h_in * h_in
    pos_out = frames * h_out * h_out
    flops = pos_in * c_in * m + pos_out * m * (tk2 + c_out) + 2 * m * se
    params = c_in * m + m * tk2 + m * c_out + 4 * m + 2 * c_out
    if se:
        params += 2 * m * se + se + m
    if c_in != c_out or s != 1:
        flops += pos_out * c_in * c_out
        params += c_in * c_out + 2 * c_out
    return flops, params


def _glore(channels: int, positions: int, glore: GloReGene) -> tuple[int, int]:
    c, (s, n) = channels, glore_widths(channels, glore.state_ratio, glore.node_ratio)
    flops = positions * (c * s + c * n + 2 * s * n + s * c) + n * n * s + s * s * n
    params = c * s + s + c * n + n + n * n + n + s * s + s * c + 2 * c
    return flops, params


@lru_cache(maxsize=1024)
def _se_width(channels: int, ratio: float) -> int:
    return se_width(channels, ratio) if ratio > 0 else 0


@lru_cache(maxsize=8192)
def _stream(
    name: str, stream: StreamGene, in_widths: tuple[int, ...], frames: int, crop: int, gl: GloReGene
) -> tuple[tuple[GroupCost, ...], tuple[tuple[str, int, int], ...]]:
    """Groups and ``(part, MACs, params)`` of one stream; cached, since a progressive search
    keeps one stream fixed while it samples the other."""
    parts = [(f"{name}.stem", *_stem(stream, frames, crop))]
    sizes = spatial_sizes(stream, crop)
    offsets = stage_offsets(stream)
    groups: list[GroupCost] = []
    for i, g in enumerate(stream.groups):
        m, tk2 = g.inner, g.temporal_kernel * g.spatial_kernel**2
        se = _se_width(m, stream.se_ratio)
        h = sizes[i + 1]
        first_se = se if offsets[i] % 2 == 0 else 0
        c_in, c_out = in_widths[i], g.width
        flops, params = _block(c_in, c_out, m, tk2, frames, sizes[i], h, first_se, g.stride)
        if g.depth > 1:
            # Blocks 1.. are identical except for SE on even indices within the stage.
            rest = g.depth - 1
            with_se = (rest + offsets[i] % 2) // 2 if se else 0
            for count, blk_se in ((with_se, se), (rest - with_se, 0)):
                if count:
                    f, p = _block(c_out, c_out, m, tk2, frames, h, h, blk_se, 1)
                    flops, params = flops + count * f, params + count * p
        parts.append((f"{name}.groups.{i}", flops, params))
        groups.append(
            GroupCost(
                stream=name,
                index=i,
                stage=g.stage,
                width=g.width,
                depth=g.depth,
                flops=flops,
                params=params,
            )
        )
        if i in stream.glore_after:
            parts.append((f"{name}.attention.{i}", *_glore(g.width, frames * h * h, gl)))
    return tuple(groups), tuple(parts)


def _stream_frames(genome: Genome, frames: int | None) -> dict[str, int]:
    if frames is None:
        return {name: s.input.frames for name, s in genome.streams.items()}
    if frames < 1:
        raise ValueError(f"frames = {frames}: must be a positive integer")
    out = {"sparse": frames}
    if genome.dense is not None:
        out["dense"] = frames * genome.alpha
    return out


@lru_cache(maxsize=8192)
def _estimate(genome: Genome, crop: int, frames: int | None, num_classes: int) -> CostReport:
    stream_frames = _stream_frames(genome, frames)
    in_widths = group_in_widths(genome)
    buckets = [*genome.streams, "fusion", "head"]
    flops, params = dict.fromkeys(buckets, 0), dict.fromkeys(buckets, 0)
    parts: dict[str, int] = {}
    part_params: dict[str, int] = {}

    def add(bucket: str, key: str, macs: int, n_params: int) -> None:
        parts[key], part_params[key] = macs, n_params
        flops[bucket] += macs
        params[bucket] += n_params

    groups: list[GroupCost] = []
    for name, stream in genome.streams.items():
        g, p = _stream(name, stream, in_widths[name], stream_frames[name], crop, genome.glore)
        groups += g
        for key, macs, n_params in p:
            add(name, key, macs, n_params)
    if genome.dense is not None:
        sizes = spatial_sizes(genome.dense, crop)
        t_out = conv_out(stream_frames["dense"], _FUSION_KERNEL, genome.alpha)
        for i, op in enumerate(genome.fusion):
            if op == "time_strided_conv":
                cd = genome.dense.groups[i].width
                w = _FUSION_KERNEL * cd * 2 * cd
                add("fusion", f"fusions.{i}", w * t_out * sizes[i + 1] ** 2, w + 4 * cd)
    d_total = 0
    for name, stream in genome.streams.items():
        d = head_width(genome, stream)
        d_total += d
        h = spatial_sizes(stream, crop)[-1]
        c = stream.out_width
        add(name, f"{name}_head", c * d * stream_frames[name] * h * h, c * d + 2 * d)
    hidden = genome.head.hidden
    cls_macs = d_total * hidden + hidden * num_classes
    # the optional hidden BatchNorm1d folds into fc1 (no MACs, as every BN here); 2 params/unit
    bn_params = 2 * hidden if genome.head.hidden_norm == "bn" else 0
    add("head", "classifier", cls_macs, cls_macs + num_classes + bn_params)
    return CostReport(
        params=sum(params.values()),
        flops=sum(flops.values()),
        views=1,
        crop=crop,
        frames=stream_frames,
        stream_flops=flops,
        stream_params=params,
        groups=tuple(groups),
        parts=parts,
        part_params=part_params,
    )


def estimate(
    genome: Genome,
    *,
    crop: int | None = None,
    frames: int | None = None,
    views: int = 1,
    num_classes: int = 400,
) -> CostReport:
    """Analytic cost of ``genome``, equal to what :func:`autotsnet.models.trace.measure` traces.

    Args:
        genome: The architecture.
        crop: Square input size; defaults to ``genome.sparse.input.train_crop``.
        frames: Sparse-stream frames (the dense stream gets ``frames * alpha``); defaults to
            each stream's ``input.frames``.
        views: Views per video, for :attr:`CostReport.gflops_per_video`.
        num_classes: Classifier outputs.

    Returns:
        The cost report. FLOPs are multiply-adds of one view.

    Raises:
        ValueError: If ``crop``, ``frames``, ``views`` or ``num_classes`` is not positive.
    """
    crop = genome.sparse.input.train_crop if crop is None else crop
    for label, value in (("crop", crop), ("views", views), ("num_classes", num_classes)):
        if value < 1:
            raise ValueError(f"{label} = {value}: must be a positive integer")
    base = _estimate(genome, crop, frames, num_classes)
    return CostReport(
        params=base.params,
        flops=base.flops,
        views=views,
        crop=base.crop,
        frames=dict(base.frames),
        stream_flops=dict(base.stream_flops),
        stream_params=dict(base.stream_params),
        groups=base.groups,
        parts=dict(base.parts),
        part_params=dict(base.part_params),
    )
