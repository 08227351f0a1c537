"""Squeeze-and-excitation for 3D features (SlowFast ``operators.SE``)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SqueezeExcite", "round_width"]


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """Round ``width * multiplier`` to a multiple of ``divisor`` (SlowFast ``round_width``).

    The result is at least ``min_width`` and never more than 10% below the exact value.
    """
    scaled = width * multiplier
    out = max(min_width, int(scaled + divisor / 2) // divisor * divisor)
    if out < 0.9 * scaled:
        out += divisor
    return int(out)


class SqueezeExcite(nn.Module):
    """Global pool -> 1x1x1 conv (bias) -> ReLU -> 1x1x1 conv (bias) -> sigmoid -> scale.

    Args:
        channels: Channels of the input.
        ratio: Bottleneck ratio; the hidden width is ``round_width(channels, ratio)``.
    """

    def __init__(self, channels: int, ratio: float) -> None:
        super().__init__()
        hidden = round_width(channels, ratio)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Conv3d(channels, hidden, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv3d(hidden, channels, 1, bias=True)
        self.sig = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rescale the channels of ``(B, C, T, H, W)``."""
        w = self.sig(self.fc2(self.relu(self.fc1(self.pool(x)))))
        out: torch.Tensor = x * w
        return out
