"""TS-Fusion: lateral connections from the dense into the sparse stream (SlowFast §3.3).

Sparse features are ``(B, C_s, T, H, W)``, dense features ``(B, C_d, alpha*T, H, W)``. Each op
turns the dense features into ``T`` frames and concatenates them to the sparse channels:

=========================  ===========================================  ==============
op                         tensor op                                    extra channels
=========================  ===========================================  ==============
``none``                   nothing                                      0
``time_to_channel``        pack the alpha frames of each step into C    alpha * C_d
``time_strided_sample``    ``x_d[:, :, ::alpha]``                       C_d
``time_strided_conv``      Conv3d 5x1x1 stride alpha -> BN -> ReLU      2 * C_d
=========================  ===========================================  ==============
"""

from __future__ import annotations

import torch
from torch import nn

from autotsnet.models.plan import fused_width

__all__ = [
    "NoFusion",
    "TimeStridedConv",
    "TimeStridedSample",
    "TimeToChannel",
    "build_fusion",
    "fused_channels",
]


def fused_channels(op: str, dense_channels: int, alpha: int) -> int:
    """Channels that fusion ``op`` concatenates to the sparse stream."""
    return fused_width(op, dense_channels, alpha)


class NoFusion(nn.Module):
    """Pass the sparse features through unchanged."""

    def forward(self, sparse: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        """Return ``sparse``."""
        return sparse


class TimeToChannel(nn.Module):
    """Fold every group of ``alpha`` dense frames into channels (layout ``(c, j)``)."""

    def __init__(self, alpha: int) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, sparse: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        """Concatenate ``(B, alpha*C_d, T, H, W)`` to ``sparse``."""
        b, c, t, h, w = dense.shape
        steps = t // self.alpha
        folded = dense.reshape(b, c, steps, self.alpha, h, w).permute(0, 1, 3, 2, 4, 5)
        return torch.cat([sparse, folded.reshape(b, c * self.alpha, steps, h, w)], dim=1)


class TimeStridedSample(nn.Module):
    """Take every ``alpha``-th dense frame (dense frame ``alpha*i`` aligns with sparse ``i``)."""

    def __init__(self, alpha: int) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, sparse: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        """Concatenate ``dense[:, :, ::alpha]`` to ``sparse``."""
        return torch.cat([sparse, dense[:, :, :: self.alpha]], dim=1)


class TimeStridedConv(nn.Module):
    """SlowFast ``FuseFastToSlow``: Conv3d C_d->2C_d, kernel 5x1x1, stride alpha, BN, ReLU."""

    def __init__(self, dense_channels: int, alpha: int, kernel: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            dense_channels,
            2 * dense_channels,
            (kernel, 1, 1),
            stride=(alpha, 1, 1),
            padding=(kernel // 2, 0, 0),
            bias=False,
        )
        self.bn = nn.BatchNorm3d(2 * dense_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, sparse: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        """Concatenate the strided-conv features to ``sparse``."""
        return torch.cat([sparse, self.relu(self.bn(self.conv(dense)))], dim=1)


def build_fusion(op: str, *, dense_channels: int, alpha: int) -> nn.Module:
    """Build the module for fusion ``op``."""
    if op == "none":
        return NoFusion()
    if op == "time_to_channel":
        return TimeToChannel(alpha)
    if op == "time_strided_sample":
        return TimeStridedSample(alpha)
    if op == "time_strided_conv":
        return TimeStridedConv(dense_channels, alpha)
    raise ValueError(f"unknown fusion op {op!r}")
