"""X3D-style stem (spec §1.2; SlowFast ``X3DStem``).

::

    x (B, 3, T, H, W)
    └─ conv 1x3x3, stride (1, 2, 2), no bias          -> (B, C0, T, H/2, W/2)
       └─ depthwise conv t0x1x1, no bias -> BN -> ReLU
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["X3DStem"]


class X3DStem(nn.Module):
    """Spatial 1x3x3 conv followed by a depthwise temporal conv, BN and ReLU.

    Args:
        in_channels: Input channels (3 for RGB).
        width: Output channels C0.
        temporal_kernel: Temporal kernel t0 of the depthwise conv.
    """

    def __init__(self, in_channels: int, width: int, temporal_kernel: int) -> None:
        super().__init__()
        self.conv_xy = nn.Conv3d(
            in_channels, width, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False
        )
        self.conv_t = nn.Conv3d(
            width,
            width,
            (temporal_kernel, 1, 1),
            padding=(temporal_kernel // 2, 0, 0),
            groups=width,
            bias=False,
        )
        self.bn = nn.BatchNorm3d(width)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, 3, T, H, W)`` to ``(B, C0, T, ceil(H/2), ceil(W/2))``."""
        out: torch.Tensor = self.act(self.bn(self.conv_t(self.conv_xy(x))))
        return out
