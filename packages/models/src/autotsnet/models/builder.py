"""Pure builders: genome -> ``nn.Module``.

``build_model`` calls ``build_stream`` (stem, groups, GloRe units), ``build_group`` (MBConv3D
blocks) and the fusion and head builders. Modules receive built submodules or primitive
arguments, never a genome, so they stay reusable and exportable. Builders keep no state and are
deterministic under a given torch seed.

A two-stream model's forward takes ``(sparse_clip, dense_clip)``, each ``(B, 3, T, H, W)``; a
single-stream model's takes one clip. Both return logits ``(B, num_classes)``.
"""

from __future__ import annotations

import torch
from torch import nn

from autotsnet.models.blocks.fusion import build_fusion
from autotsnet.models.blocks.glore import GloRe3D
from autotsnet.models.blocks.head import ClassifierHead, StreamHead
from autotsnet.models.blocks.mbconv import MBConv3D
from autotsnet.models.blocks.stem import X3DStem
from autotsnet.models.genome import Genome, GloReGene, GroupGene, StreamGene
from autotsnet.models.plan import group_in_widths, head_width, stage_offsets

__all__ = [
    "SingleStreamNet",
    "Stream",
    "TwoStreamNet",
    "VideoNet",
    "build_group",
    "build_model",
    "build_stream",
    "stage_offsets",
]


class Stream(nn.Module):
    """A stem followed by block groups, each optionally followed by a GloRe unit.

    Args:
        stem: The stem module.
        groups: One module per group.
        attention: One module per group (``nn.Identity`` where there is no GloRe unit).
    """

    def __init__(self, stem: nn.Module, groups: list[nn.Module], attention: list[nn.Module]):
        super().__init__()
        if len(groups) != len(attention):
            raise ValueError("groups and attention must have the same length")
        self.stem = stem
        self.groups = nn.ModuleList(groups)
        self.attention = nn.ModuleList(attention)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the whole stream (used by single-stream models)."""
        x = self.stem(x)
        for group, attn in zip(self.groups, self.attention, strict=True):
            x = attn(group(x))
        return x


class VideoNet(nn.Module):
    """Base class of the built networks; ``num_streams`` says how many clips forward takes."""

    num_streams: int = 1


class SingleStreamNet(VideoNet):
    """One stream and a classifier head (e.g. X3D)."""

    num_streams = 1

    def __init__(self, stream: Stream, head: StreamHead, classifier: ClassifierHead) -> None:
        super().__init__()
        self.sparse = stream
        self.sparse_head = head
        self.classifier = classifier

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Map ``(B, 3, T, H, W)`` to logits ``(B, num_classes)``."""
        out: torch.Tensor = self.classifier([self.sparse_head(self.sparse(clip))])
        return out


class TwoStreamNet(VideoNet):
    """Sparse and dense streams with dense->sparse fusion after each group but the last."""

    num_streams = 2

    def __init__(
        self,
        sparse: Stream,
        dense: Stream,
        fusions: list[nn.Module],
        heads: tuple[StreamHead, StreamHead],
        classifier: ClassifierHead,
    ) -> None:
        super().__init__()
        if len(fusions) != len(sparse.groups) - 1:
            raise ValueError("need one fusion module per group boundary")
        self.sparse = sparse
        self.dense = dense
        self.fusions = nn.ModuleList(fusions)
        self.sparse_head, self.dense_head = heads
        self.classifier = classifier

    def forward(self, sparse: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        """Map ``(B, 3, T_s, H, W)`` and ``(B, 3, T_d, H, W)`` to logits ``(B, classes)``."""
        xs = self.sparse.stem(sparse)
        xd = self.dense.stem(dense)
        n = len(self.sparse.groups)
        for i in range(n):
            xs = self.sparse.attention[i](self.sparse.groups[i](xs))
            xd = self.dense.attention[i](self.dense.groups[i](xd))
            if i < n - 1:
                xs = self.fusions[i](xs, xd)
        out: torch.Tensor = self.classifier([self.sparse_head(xs), self.dense_head(xd)])
        return out


def build_group(
    *,
    in_channels: int,
    gene: GroupGene,
    se_ratio: float,
    activation: str,
    stage_offset: int = 0,
) -> nn.Sequential:
    """Build ``gene.depth`` MBConv3D blocks; the first one carries the stride.

    Args:
        in_channels: Input channels of the first block.
        gene: The group's choices.
        se_ratio: SE ratio, applied to blocks with an even index within the stage.
        activation: Activation after the depthwise conv.
        stage_offset: Index within the stage of the group's first block.
    """
    blocks: list[nn.Module] = []
    for j in range(gene.depth):
        blocks.append(
            MBConv3D(
                in_channels if j == 0 else gene.width,
                gene.width,
                gene.inner,
                temporal_kernel=gene.temporal_kernel,
                spatial_kernel=gene.spatial_kernel,
                stride=gene.stride if j == 0 else 1,
                se_ratio=se_ratio if (stage_offset + j) % 2 == 0 else 0.0,
                activation=activation,
            )
        )
    return nn.Sequential(*blocks)


def build_stream(
    *, stream: StreamGene, in_widths: tuple[int, ...], glore: GloReGene, in_channels: int = 3
) -> Stream:
    """Build one stream.

    Args:
        stream: The stream's genes.
        in_widths: Input channels of each group (see ``plan.group_in_widths``).
        glore: GloRe width ratios.
        in_channels: Input channels of the clip.
    """
    stem = X3DStem(in_channels, stream.stem.width, stream.stem.temporal_kernel)
    offsets = stage_offsets(stream)
    groups: list[nn.Module] = []
    attention: list[nn.Module] = []
    for i, g in enumerate(stream.groups):
        groups.append(
            build_group(
                in_channels=in_widths[i],
                gene=g,
                se_ratio=stream.se_ratio,
                activation=stream.activation,
                stage_offset=offsets[i],
            )
        )
        attention.append(
            GloRe3D(g.width, glore.state_ratio, glore.node_ratio)
            if i in stream.glore_after
            else nn.Identity()
        )
    return Stream(stem, groups, attention)


def build_model(genome: Genome, *, num_classes: int = 400) -> VideoNet:
    """Build the network a genome describes.

    Args:
        genome: The architecture.
        num_classes: Classifier outputs.

    Returns:
        A :class:`TwoStreamNet` (forward ``(sparse, dense)``) or a :class:`SingleStreamNet`
        (forward ``(clip)``).
    """
    if num_classes < 1:
        raise ValueError(f"num_classes = {num_classes}: must be a positive integer")
    in_widths = group_in_widths(genome)
    streams = {
        name: build_stream(stream=s, in_widths=in_widths[name], glore=genome.glore)
        for name, s in genome.streams.items()
    }
    heads = {
        name: StreamHead(s.out_width, head_width(genome, s)) for name, s in genome.streams.items()
    }
    hidden_in = sum(head_width(genome, s) for s in genome.streams.values())
    classifier = ClassifierHead(
        hidden_in, genome.head.hidden, num_classes, genome.head.dropout, genome.head.hidden_norm
    )
    if genome.dense is None:
        return SingleStreamNet(streams["sparse"], heads["sparse"], classifier)
    fusions = [
        build_fusion(op, dense_channels=genome.dense.groups[i].width, alpha=genome.alpha)
        for i, op in enumerate(genome.fusion)
    ]
    return TwoStreamNet(
        streams["sparse"], streams["dense"], fusions, (heads["sparse"], heads["dense"]), classifier
    )
