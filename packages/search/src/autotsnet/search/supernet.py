"""The weight-sharing supernet: one set of weights for every genome of a search space.

Built from the space's *largest* genome (every group at its widest width and expansion, GloRe at
every candidate location, two streams). Any genome of the space runs on it by slicing
(:mod:`autotsnet.search.dynamic`): widths and expansions by channel prefixes with dynamic BN,
depthwise kernels by centre crop (default) or per-kernel weights, fusion inputs by column
segments (spec §3.2): the first block of sparse group ``i + 1`` stores one weight column
segment for the sparse features and one per fusion op, so step 1 (sparse alone) and step 2
(with fusion) share the sparse weights exactly.

``Supernet.subnet(genome)`` builds the static network with :func:`build_model` and copies the
inherited weights in; its outputs equal ``Supernet(clips, genome)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from autotsnet.models.blocks.fusion import TimeStridedConv
from autotsnet.models.blocks.glore import GloRe3D
from autotsnet.models.blocks.mbconv import MBConv3D
from autotsnet.models.blocks.stem import X3DStem
from autotsnet.models.builder import (
    SingleStreamNet,
    Stream,
    TwoStreamNet,
    VideoNet,
    build_model,
    stage_offsets,
)
from autotsnet.models.genome import (
    FUSION_OPS,
    SPATIAL_KERNELS,
    TEMPORAL_KERNELS,
    Genome,
    StreamGene,
)
from autotsnet.models.plan import fused_width, head_width
from autotsnet.search.dynamic import KernelMode, SharedBatchNorm1d
from autotsnet.search.dynamic_blocks import (
    DynamicGloRe,
    DynamicMBConv,
    DynamicStreamHead,
    DynamicTConv,
)

__all__ = ["Clips", "Supernet", "SupernetError", "recalibrate_bn"]

_CACHE = 4096
"""Genomes remembered by the per-genome caches of :class:`Supernet` before they are reset."""

Clips = torch.Tensor | Sequence[torch.Tensor]
"""One clip tensor (single stream) or ``(sparse, dense)``."""


class SupernetError(ValueError):
    """A genome that the supernet cannot run (outside its space); one line naming the field."""


class _DynStream(nn.Module):
    def __init__(
        self,
        gene: StreamGene,
        first_in: list[int],
        kernel_mode: KernelMode,
        glore: tuple[float, float],
    ) -> None:
        super().__init__()
        self.stem = X3DStem(3, gene.stem.width, gene.stem.temporal_kernel)
        offsets = stage_offsets(gene)
        groups = []
        for i, g in enumerate(gene.groups):
            blocks = [
                DynamicMBConv(
                    first_in[i] if j == 0 else g.width,
                    g.width,
                    g.inner,
                    temporal_kernels=TEMPORAL_KERNELS,
                    spatial_kernels=SPATIAL_KERNELS,
                    stride=g.stride if j == 0 else 1,
                    se_ratio=gene.se_ratio if (offsets[i] + j) % 2 == 0 else 0.0,
                    activation=gene.activation,
                    shortcut=j == 0,
                    kernel_mode=kernel_mode,
                )
                for j in range(g.depth)
            ]
            groups.append(nn.ModuleList(blocks))
        self.groups = nn.ModuleList(groups)
        self.glore = nn.ModuleDict(
            {str(i): DynamicGloRe(gene.groups[i].width, *glore) for i in gene.glore_after}
        )

    def run_group(
        self, i: int, x: torch.Tensor, gene: StreamGene, cols: torch.Tensor | None
    ) -> torch.Tensor:
        g = gene.groups[i]
        blocks = self.groups[i]
        assert isinstance(blocks, nn.ModuleList)
        for j, block in enumerate(blocks):
            x = block(
                x,
                out=g.width,
                inner=g.inner,
                t=g.temporal_kernel,
                k=g.spatial_kernel,
                cols=cols if j == 0 else None,
            )
        if i in gene.glore_after:
            x = self.glore[str(i)](x)
        out: torch.Tensor = x
        return out

    def copy_to(self, stream: Stream, gene: StreamGene, cols: list[torch.Tensor | None]) -> None:
        stream.stem.load_state_dict(self.stem.state_dict())
        for i, static_group in enumerate(stream.groups):
            assert isinstance(static_group, nn.Sequential)
            dyn = self.groups[i]
            assert isinstance(dyn, nn.ModuleList)
            for j, block in enumerate(static_group):
                dyn_block = dyn[j]
                assert isinstance(dyn_block, DynamicMBConv) and isinstance(block, MBConv3D)
                dyn_block.copy_to(block, cols[i] if j == 0 else None)
            attn = stream.attention[i]
            if isinstance(attn, GloRe3D):
                unit = self.glore[str(i)]
                assert isinstance(unit, DynamicGloRe)
                unit.copy_to(attn)


class Supernet(nn.Module):
    """Shared weights for every genome that fits inside ``max_genome``.

    Args:
        max_genome: The largest genome of the space: same layout (depths, strides, stems,
            frames ratio, head, GloRe ratios) as every genome it runs, each group at its
            largest width and expansion, ``glore_after`` listing every candidate location.
            May be single-stream.
        num_classes: Classifier outputs.
        kernel_mode: ``"crop"`` (OFA centre crop of one 5x5x5 kernel) or ``"separate"``
            (one depthwise weight per (t, k)).
    """

    def __init__(
        self, max_genome: Genome, *, num_classes: int, kernel_mode: KernelMode = "crop"
    ) -> None:
        super().__init__()
        self.max_genome = max_genome
        self.num_classes = num_classes
        self.kernel_mode: KernelMode = kernel_mode
        self.alpha = max_genome.alpha
        sp, de = max_genome.sparse, max_genome.dense
        glore = (max_genome.glore.state_ratio, max_genome.glore.node_ratio)
        # column segments of the sparse first blocks: [sparse | t2c | sample | tconv]
        self._segments: list[dict[str, int]] = [{}]
        sparse_in = [sp.stem.width]
        for i, g in enumerate(sp.groups[:-1]):
            seg, off = {}, g.width
            for op in FUSION_OPS:
                seg[op] = off
                if de is not None:
                    off += fused_width(op, de.groups[i].width, self.alpha)
            self._segments.append(seg)
            sparse_in.append(off)
        self.sparse = _DynStream(sp, sparse_in, kernel_mode, glore)
        self.sparse_head = DynamicStreamHead(sp.out_width, head_width(max_genome, sp))
        self._head_max = [head_width(max_genome, sp)]
        self.dense: _DynStream | None = None
        self.dense_head: DynamicStreamHead | None = None
        self.fusions = nn.ModuleList()
        if de is not None:
            dense_in = [de.stem.width, *(g.width for g in de.groups[:-1])]
            self.dense = _DynStream(de, dense_in, kernel_mode, glore)
            self.dense_head = DynamicStreamHead(de.out_width, head_width(max_genome, de))
            self._head_max.append(head_width(max_genome, de))
            self.fusions.extend(DynamicTConv(g.width, self.alpha) for g in de.groups[:-1])
        self.fc1 = nn.Linear(sum(self._head_max), max_genome.head.hidden, bias=False)
        # the hidden width is fixed in the space: its optional BatchNorm1d needs no slicing
        self.head_bn: nn.Module = (
            SharedBatchNorm1d(max_genome.head.hidden)
            if max_genome.head.hidden_norm == "bn"
            else nn.Identity()
        )
        self.dropout = nn.Dropout(max_genome.head.dropout)
        self.fc2 = nn.Linear(max_genome.head.hidden, num_classes)
        self.dropout_generator: torch.Generator | None = None
        """When set, training-mode dropout draws its mask from this generator (resumable)."""
        self._checked: set[Genome] = set()
        self._cols: dict[tuple[Genome, str, torch.device], list[torch.Tensor | None]] = {}
        self._moded: list[nn.Module] | None = None

    # ------------------------------------------------------------------ modes
    @contextlib.contextmanager
    def evaluation(self) -> Iterator[None]:
        """Eval mode for the duration of the block, then back to the previous mode.

        Equivalent to ``eval()`` followed by ``train(previous)``, but only switches the
        modules whose forward reads ``training`` (the supernet itself, batch norms, dropout)
        instead of walking all of them twice: a measurable cost per PARSEC evaluation on
        small networks.
        """
        if self._moded is None:
            kinds = (nn.modules.batchnorm._BatchNorm, nn.Dropout)
            self._moded = [self, *(m for m in self.modules() if isinstance(m, kinds))]
        saved = [m.training for m in self._moded]
        for m in self._moded:
            m.training = False
        try:
            yield
        finally:
            for m, was in zip(self._moded, saved, strict=True):
                m.training = was

    # ------------------------------------------------------------------ checks
    def check(self, genome: Genome) -> None:
        """Raise :class:`SupernetError` if ``genome`` is outside this supernet.

        Genomes that passed are remembered (genomes are immutable), so a search checks each
        sampled architecture once.
        """
        if genome in self._checked:
            return
        self._check(genome)
        if len(self._checked) >= _CACHE:
            self._checked.clear()
        self._checked.add(genome)

    def _check(self, genome: Genome) -> None:
        mg = self.max_genome
        if genome.head != mg.head:
            raise SupernetError(f"head = {genome.head}: the supernet was built with {mg.head}")
        if genome.glore != mg.glore:
            raise SupernetError(f"glore = {genome.glore}: the supernet was built with {mg.glore}")
        for name, stream in genome.streams.items():
            ref = mg.streams.get(name)
            if ref is None:
                raise SupernetError(f"{name}: the supernet has no {name} stream")
            self._check_stream(name, stream, ref)
        if genome.dense is not None and genome.alpha != self.alpha:
            raise SupernetError(f"dense.input.frames: alpha {genome.alpha} != {self.alpha}")

    @staticmethod
    def _check_stream(name: str, s: StreamGene, ref: StreamGene) -> None:
        if s.stem != ref.stem or s.se_ratio != ref.se_ratio or s.activation != ref.activation:
            raise SupernetError(f"{name}.stem/se_ratio/activation differ from the supernet's")
        if len(s.groups) != len(ref.groups):
            raise SupernetError(
                f"{name}.groups: {len(s.groups)} groups, supernet has {len(ref.groups)}"
            )
        for i, (g, r) in enumerate(zip(s.groups, ref.groups, strict=True)):
            path = f"{name}.groups[{i}]"
            if (g.depth, g.stride, g.stage) != (r.depth, r.stride, r.stage):
                raise SupernetError(f"{path}: depth/stride/stage differ from the supernet's")
            if g.width > r.width:
                raise SupernetError(f"{path}.width = {g.width}: above the supernet's {r.width}")
            if g.inner > r.inner:
                raise SupernetError(f"{path}.expansion = {g.expansion}: inner width too large")
        extra = sorted(set(s.glore_after) - set(ref.glore_after))
        if extra:
            raise SupernetError(f"{name}.glore_after: {extra} are not GloRe candidates")

    # ------------------------------------------------------------------ forward
    def _fusion_cols(
        self, i: int, width: int, op: str, fused: int, device: torch.device
    ) -> torch.Tensor | None:
        if op == "none":
            return None
        base = torch.arange(width, device=device)
        seg = self._segments[i + 1][op] + torch.arange(fused, device=device)
        return torch.cat([base, seg])

    def _fuse(self, i: int, op: str, xs: torch.Tensor, xd: torch.Tensor) -> torch.Tensor:
        if op == "none":
            return xs
        if op == "time_to_channel":
            b, c, t, h, w = xd.shape
            steps = t // self.alpha
            f = xd.reshape(b, c, steps, self.alpha, h, w).permute(0, 1, 3, 2, 4, 5)
            f = f.reshape(b, c * self.alpha, steps, h, w)
        elif op == "time_strided_sample":
            f = xd[:, :, :: self.alpha]
        else:
            f = self.fusions[i](xd)
        return torch.cat([xs, f], dim=1)

    def forward(self, clips: Clips, genome: Genome) -> torch.Tensor:
        """Logits of ``genome`` on ``clips`` (a tensor, or ``(sparse, dense)``)."""
        self.check(genome)
        if isinstance(clips, torch.Tensor):
            clips = (clips,)
        xs = self.sparse.stem(clips[0])
        sp, de = genome.sparse, genome.dense
        n = len(sp.groups)
        if de is None:
            for i in range(n):
                xs = self.sparse.run_group(i, xs, sp, None)
            feats = [self.sparse_head(xs, head_width(genome, sp))]
        else:
            assert self.dense is not None and self.dense_head is not None
            if len(clips) < 2:
                raise SupernetError("a two-stream genome needs (sparse, dense) clips")
            xd = self.dense.stem(clips[1])
            cols = self._sparse_cols(genome, xs.device)
            for i in range(n):
                xs = self.sparse.run_group(i, xs, sp, cols[i])
                xd = self.dense.run_group(i, xd, de, None)
                if i < n - 1:
                    xs = self._fuse(i, genome.fusion[i], xs, xd)
            feats = [
                self.sparse_head(xs, head_width(genome, sp)),
                self.dense_head(xd, head_width(genome, de)),
            ]
        x = torch.cat(feats, dim=1) if len(feats) > 1 else feats[0]
        w = self.fc1.weight.index_select(1, self._head_cols(genome, x.device))
        h = torch.relu(self.head_bn(nn.functional.linear(x, w)))
        p = self.dropout.p
        if self.training and p > 0 and self.dropout_generator is not None:
            keep = torch.full(h.shape, 1.0 - p).bernoulli_(generator=self.dropout_generator)
            h = h * keep.to(h.device) / (1.0 - p)
        else:
            h = self.dropout(h)
        out: torch.Tensor = self.fc2(h)
        return out

    def _head_cols(self, genome: Genome, device: torch.device) -> torch.Tensor:
        key = (genome, "head", device)
        cached = self._cols.get(key)
        if cached is None:
            parts = [
                off + torch.arange(head_width(genome, s), device=device)
                for off, s in zip((0, self._head_max[0]), genome.streams.values(), strict=False)
            ]
            cached = self._remember(key, [torch.cat(parts)])
        out = cached[0]
        assert out is not None
        return out

    def _remember(
        self, key: tuple[Genome, str, torch.device], value: list[torch.Tensor | None]
    ) -> list[torch.Tensor | None]:
        if len(self._cols) >= _CACHE:
            self._cols.clear()
        self._cols[key] = value
        return value

    def _sparse_cols(self, genome: Genome, device: torch.device) -> list[torch.Tensor | None]:
        """Input columns of each sparse group's first block (None: a channel prefix)."""
        key = (genome, "sparse", device)
        cached = self._cols.get(key)
        if cached is not None:
            return cached
        n = len(genome.sparse.groups)
        cols: list[torch.Tensor | None] = [None] * n
        if genome.dense is not None:
            for i in range(n - 1):
                op = genome.fusion[i]
                width = genome.sparse.groups[i].width
                fused = fused_width(op, genome.dense.groups[i].width, genome.alpha)
                cols[i + 1] = self._fusion_cols(i, width, op, fused, device)
        return self._remember(key, cols)

    # ------------------------------------------------------------------ subnet
    def subnet(self, genome: Genome) -> VideoNet:
        """A static network for ``genome`` (built by :func:`build_model`) with inherited weights.

        Raises:
            SupernetError: If the genome is outside the supernet.
        """
        self.check(genome)
        net = build_model(genome, num_classes=self.num_classes)
        dev = self.fc2.weight.device
        n = len(genome.sparse.groups)
        sparse_cols = self._sparse_cols(genome, dev)
        if genome.dense is not None:
            assert isinstance(net, TwoStreamNet) and self.dense is not None
            assert self.dense_head is not None
            for i in range(n - 1):
                op = genome.fusion[i]
                if op == "time_strided_conv":
                    dyn_f, static_f = self.fusions[i], net.fusions[i]
                    assert isinstance(dyn_f, DynamicTConv)
                    assert isinstance(static_f, TimeStridedConv)
                    dyn_f.copy_to(static_f)
            self.dense.copy_to(net.dense, genome.dense, [None] * n)
            self.dense_head.copy_to(net.dense_head)
        assert isinstance(net, TwoStreamNet | SingleStreamNet)
        self.sparse.copy_to(net.sparse, genome.sparse, sparse_cols)
        self.sparse_head.copy_to(net.sparse_head)
        with torch.no_grad():
            net.classifier.fc1.weight.copy_(
                self.fc1.weight.index_select(1, self._head_cols(genome, dev))
            )
            net.classifier.fc2.load_state_dict(self.fc2.state_dict())
            net.classifier.bn.load_state_dict(self.head_bn.state_dict())
        return net.to(dev)


def recalibrate_bn(model: nn.Module, batches: Iterable[Clips], *, max_batches: int = 50) -> int:
    """Re-estimate every BatchNorm's running statistics of a fixed network (OFA
    ``set_running_statistics``): reset, then a cumulative average over ``batches``.

    Args:
        model: A static network (e.g. from :meth:`Supernet.subnet`); called as ``model(*clips)``.
        batches: Inputs (a clip tensor or a tuple of stream clips per batch).
        max_batches: Stop after this many batches.

    Returns:
        The number of batches used.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.training) for m in bns]
    was_training = model.training
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    used = 0
    with torch.no_grad():
        for clips in batches:
            if used >= max_batches:
                break
            model(*((clips,) if isinstance(clips, torch.Tensor) else clips))
            used += 1
    for m, (momentum, training) in zip(bns, saved, strict=True):
        m.momentum = momentum
        m.train(training)
    model.train(was_training)
    return used
