"""Elastic twins of the static blocks in :mod:`autotsnet.models.blocks`.

Each block runs any configuration of its slot and copies that configuration's weights into the
static block the builder makes (``copy_to``), so ``Supernet.subnet(genome)`` equals the
supernet on that genome.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from autotsnet.models.blocks.fusion import TimeStridedConv
from autotsnet.models.blocks.glore import GloRe3D, glore_widths
from autotsnet.models.blocks.head import StreamHead
from autotsnet.models.blocks.mbconv import MBConv3D
from autotsnet.models.blocks.se import SqueezeExcite, round_width
from autotsnet.search.dynamic import (
    Columns,
    DynamicBatchNorm3d,
    DynamicDepthwise,
    DynamicPointwise,
    KernelMode,
)

__all__ = ["DynamicGloRe", "DynamicMBConv", "DynamicSE", "DynamicStreamHead", "DynamicTConv"]


def _act(name: str) -> nn.Module:
    if name == "swish":
        return nn.SiLU()
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"unknown activation {name!r}")


class DynamicSE(nn.Module):
    """Squeeze-excitation whose hidden width follows ``round_width(C, ratio)``."""

    def __init__(self, channels: int, ratio: float) -> None:
        super().__init__()
        self.ratio = ratio
        hidden = max(round_width(c, ratio) for c in range(1, channels + 1))
        self.fc1 = DynamicPointwise(channels, hidden, bias=True)
        self.fc2 = DynamicPointwise(hidden, channels, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rescale the channels of ``x``."""
        c = x.shape[1]
        h = round_width(c, self.ratio)
        s = F.adaptive_avg_pool3d(x, 1)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s, h)), c))
        return x * s

    def copy_to(self, se: SqueezeExcite) -> None:
        """Copy the active slice into a static SE."""
        self.fc1.copy_to(se.fc1)
        self.fc2.copy_to(se.fc2)


class DynamicMBConv(nn.Module):
    """Elastic MBConv3D (same dataflow as :class:`autotsnet.models.blocks.mbconv.MBConv3D`).

    Args:
        in_channels: Largest number of input columns (sparse features plus fusion segments).
        out_channels: Largest output width.
        inner_channels: Largest inner width.
        temporal_kernels: Allowed t.
        spatial_kernels: Allowed k.
        stride: Spatial stride (fixed per slot).
        se_ratio: SE ratio or 0.
        activation: "swish" or "relu".
        shortcut: Whether the slot may need a projection shortcut (first block of a group).
        kernel_mode: Depthwise weight sharing, see :class:`DynamicDepthwise`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        inner_channels: int,
        *,
        temporal_kernels: tuple[int, ...],
        spatial_kernels: tuple[int, ...],
        stride: int,
        se_ratio: float,
        activation: str,
        shortcut: bool,
        kernel_mode: KernelMode,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.conv_a = DynamicPointwise(in_channels, inner_channels)
        self.bn_a = DynamicBatchNorm3d(inner_channels)
        self.conv_b = DynamicDepthwise(
            inner_channels, temporal_kernels, spatial_kernels, stride=stride, mode=kernel_mode
        )
        self.bn_b = DynamicBatchNorm3d(inner_channels)
        self.se = DynamicSE(inner_channels, se_ratio) if se_ratio > 0 else None
        self.act_b = _act(activation)
        self.conv_c = DynamicPointwise(inner_channels, out_channels)
        self.bn_c = DynamicBatchNorm3d(out_channels)
        nn.init.zeros_(self.bn_c.weight)
        self.proj: DynamicPointwise | None = None
        self.proj_bn: DynamicBatchNorm3d | None = None
        if shortcut:
            self.proj = DynamicPointwise(in_channels, out_channels, stride=stride)
            self.proj_bn = DynamicBatchNorm3d(out_channels)

    def forward(
        self, x: torch.Tensor, *, out: int, inner: int, t: int, k: int, cols: Columns | None = None
    ) -> torch.Tensor:
        """Run the block with output width ``out``, inner width ``inner`` and kernel t x k x k.

        ``cols`` selects the weight columns matching ``x``'s channels (default: a prefix).
        """
        y = F.relu(self.bn_a(self.conv_a(x, inner, cols)))
        y = self.bn_b(self.conv_b(y, t, k))
        if self.se is not None:
            y = self.se(y)
        y = self.bn_c(self.conv_c(self.act_b(y), out))
        if x.shape[1] != out or self.stride != 1:
            if self.proj is None or self.proj_bn is None:
                raise ValueError("this supernet slot has no projection shortcut")
            short = self.proj_bn(self.proj(x, out, cols))
        else:
            short = x
        return F.relu(y + short)

    def copy_to(self, block: MBConv3D, cols: Columns | None = None) -> None:
        """Copy the configuration of the static ``block`` (input columns ``cols``)."""
        self.conv_a.copy_to(block.conv_a, cols)
        self.bn_a.copy_to(block.bn_a)
        self.conv_b.copy_to(block.conv_b)
        self.bn_b.copy_to(block.bn_b)
        if isinstance(block.se, SqueezeExcite):
            assert self.se is not None
            self.se.copy_to(block.se)
        self.conv_c.copy_to(block.conv_c)
        self.bn_c.copy_to(block.bn_c)
        if isinstance(block.shortcut, nn.Sequential):
            assert self.proj is not None and self.proj_bn is not None
            conv, bn = block.shortcut[0], block.shortcut[1]
            assert isinstance(conv, nn.Conv3d) and isinstance(bn, nn.BatchNorm3d)
            self.proj.copy_to(conv, cols)
            self.proj_bn.copy_to(bn)


class DynamicGloRe(nn.Module):
    """Elastic GloRe unit: state and node widths follow the active channel count."""

    def __init__(self, channels: int, state_ratio: float, node_ratio: float) -> None:
        super().__init__()
        self.state_ratio, self.node_ratio = state_ratio, node_ratio
        states, nodes = glore_widths(channels, state_ratio, node_ratio)
        self.conv_state = DynamicPointwise(channels, states, bias=True)
        self.conv_proj = DynamicPointwise(channels, nodes, bias=True)
        ref = GloRe3D(channels, state_ratio, node_ratio)
        assert ref.node_conv.bias is not None
        self.node_w = nn.Parameter(ref.node_conv.weight.detach().clone())
        self.node_b = nn.Parameter(ref.node_conv.bias.detach().clone())
        self.state_w = nn.Parameter(ref.state_conv.weight.detach().clone())
        self.conv_extend = DynamicPointwise(states, channels)
        self.blocker = DynamicBatchNorm3d(channels, eps=1e-4)
        nn.init.zeros_(self.blocker.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual global reasoning on ``(B, C, T, H, W)``."""
        b, c = x.shape[:2]
        s_n, n_n = glore_widths(c, self.state_ratio, self.node_ratio)
        s = self.conv_state(x, s_n).flatten(2)
        proj = self.conv_proj(x, n_n).flatten(2)
        v = torch.matmul(s, proj.transpose(1, 2)) / s.shape[-1]
        node = F.conv1d(v.transpose(1, 2), self.node_w[:n_n, :n_n], self.node_b[:n_n])
        h = v + node.transpose(1, 2)
        z = F.conv1d(F.relu(h), self.state_w[:s_n, :s_n])
        y = torch.matmul(z, proj).reshape(b, s_n, *x.shape[2:])
        out: torch.Tensor = x + self.blocker(self.conv_extend(y, c))
        return out

    def copy_to(self, unit: GloRe3D) -> None:
        """Copy the active slice into a static GloRe unit."""
        s_n, n_n = unit.states, unit.nodes
        self.conv_state.copy_to(unit.conv_state)
        self.conv_proj.copy_to(unit.conv_proj)
        with torch.no_grad():
            unit.node_conv.weight.copy_(self.node_w[:n_n, :n_n])
            assert unit.node_conv.bias is not None
            unit.node_conv.bias.copy_(self.node_b[:n_n])
            unit.state_conv.weight.copy_(self.state_w[:s_n, :s_n])
        self.conv_extend.copy_to(unit.conv_extend)
        self.blocker.copy_to(unit.blocker)


class DynamicTConv(nn.Module):
    """Elastic SlowFast time-strided conv fusion (C_d -> 2 C_d, 5x1x1, stride alpha)."""

    def __init__(self, dense_channels: int, alpha: int, kernel: int = 5) -> None:
        super().__init__()
        ref = TimeStridedConv(dense_channels, alpha, kernel)
        self.weight = nn.Parameter(ref.conv.weight.detach().clone())
        self.stride = (alpha, 1, 1)
        self.padding = (kernel // 2, 0, 0)
        self.bn = DynamicBatchNorm3d(2 * dense_channels)

    def forward(self, dense: torch.Tensor) -> torch.Tensor:
        """The fused features ``(B, 2 C_d, T, H, W)`` (not yet concatenated)."""
        c = dense.shape[1]
        w = self.weight[: 2 * c, :c]
        return F.relu(self.bn(F.conv3d(dense, w, None, stride=self.stride, padding=self.padding)))

    def copy_to(self, fusion: TimeStridedConv) -> None:
        """Copy the active slice into a static fusion."""
        out, inp = fusion.conv.weight.shape[:2]
        with torch.no_grad():
            fusion.conv.weight.copy_(self.weight[:out, :inp])
        self.bn.copy_to(fusion.bn)


class DynamicStreamHead(nn.Module):
    """Elastic X3D stream head: 1x1x1 conv C -> round(e*C), BN, ReLU, global pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = DynamicPointwise(in_channels, out_channels)
        self.bn = DynamicBatchNorm3d(out_channels)

    def forward(self, x: torch.Tensor, out: int) -> torch.Tensor:
        """Map ``(B, C, T, H, W)`` to pooled ``(B, out)``."""
        y = F.relu(self.bn(self.conv(x, out)))
        return F.adaptive_avg_pool3d(y, 1).flatten(1)

    def copy_to(self, head: StreamHead) -> None:
        """Copy the active slice into a static head."""
        self.conv.copy_to(head.conv)
        self.bn.copy_to(head.bn)
