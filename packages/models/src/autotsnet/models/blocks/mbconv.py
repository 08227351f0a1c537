"""MBConv3D: the inverted-bottleneck block of X3D and Auto-TSNet (paper §3.4, Fig. 2c).

::

    x (B, C_in, T, H, W) ─┬─ 1x1x1 conv C_in->M, BN, ReLU
                          │  depthwise t x k x k conv, stride (1,s,s), BN
                          │  [SE] -> Swish
                          │  1x1x1 conv M->C_out, BN (gamma zero-initialised)
                          └─ shortcut: identity, or 1x1x1 conv stride (1,s,s) + BN
    out = ReLU(branch + shortcut)
"""

from __future__ import annotations

import torch
from torch import nn

from autotsnet.models.blocks.se import SqueezeExcite

__all__ = ["MBConv3D"]


def _activation(name: str) -> nn.Module:
    if name == "swish":
        return nn.SiLU()
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"unknown activation {name!r}")


class MBConv3D(nn.Module):
    """One inverted-bottleneck 3D block.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        inner_channels: M, the expanded (depthwise) width.
        temporal_kernel: t of the depthwise conv.
        spatial_kernel: k of the depthwise conv.
        stride: Spatial stride s (temporal stride is always 1).
        se_ratio: SE bottleneck ratio, or 0 for no SE.
        activation: "swish" or "relu", applied after the depthwise conv (and SE).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        inner_channels: int,
        *,
        temporal_kernel: int,
        spatial_kernel: int,
        stride: int,
        se_ratio: float,
        activation: str = "swish",
    ) -> None:
        super().__init__()
        t, k = temporal_kernel, spatial_kernel
        self.conv_a = nn.Conv3d(in_channels, inner_channels, 1, bias=False)
        self.bn_a = nn.BatchNorm3d(inner_channels)
        self.relu_a = nn.ReLU(inplace=True)
        self.conv_b = nn.Conv3d(
            inner_channels,
            inner_channels,
            (t, k, k),
            stride=(1, stride, stride),
            padding=(t // 2, k // 2, k // 2),
            groups=inner_channels,
            bias=False,
        )
        self.bn_b = nn.BatchNorm3d(inner_channels)
        self.se: nn.Module = (
            SqueezeExcite(inner_channels, se_ratio) if se_ratio > 0 else nn.Identity()
        )
        self.act_b = _activation(activation)
        self.conv_c = nn.Conv3d(inner_channels, out_channels, 1, bias=False)
        self.bn_c = nn.BatchNorm3d(out_channels)
        nn.init.zeros_(self.bn_c.weight)
        self.shortcut: nn.Module
        if in_channels != out_channels or stride != 1:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_channels, out_channels, 1, stride=(1, stride, stride), bias=False),
                nn.BatchNorm3d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()
        self.relu_out = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, C_in, T, H, W)`` to ``(B, C_out, T, ceil(H/s), ceil(W/s))``."""
        y = self.relu_a(self.bn_a(self.conv_a(x)))
        y = self.act_b(self.se(self.bn_b(self.conv_b(y))))
        y = self.bn_c(self.conv_c(y))
        out: torch.Tensor = self.relu_out(y + self.shortcut(x))
        return out
