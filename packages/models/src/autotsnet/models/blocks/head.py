"""X3D-style heads (SlowFast ``X3DHead``), extended to several streams.

Per stream (:class:`StreamHead`): 1x1x1 conv C_last -> D, BN, ReLU, global average pool.
Then (:class:`ClassifierHead`): concatenate the pooled vectors, Linear(sum D -> hidden, no
bias), [BatchNorm1d], ReLU, dropout, Linear(hidden -> classes). For one stream without the
optional BatchNorm1d this is exactly X3D's head, whose ``lin_5`` is a bias-free 1x1x1 conv
applied to the pooled features. The BatchNorm1d (``HeadGene.hidden_norm = "bn"``) keeps
every hidden unit positive on part of each batch: without it, the pooled features being
>= 0, an optimizer step can push a unit below zero for every clip for good.
"""

from __future__ import annotations

from typing import get_args

import torch
from torch import nn

from autotsnet.models.genome import HiddenNorm

__all__ = ["ClassifierHead", "StreamHead"]


class StreamHead(nn.Module):
    """1x1x1 conv, BN, ReLU and global average pooling of one stream.

    Args:
        in_channels: Channels of the stream's last features.
        out_channels: D, usually ``round(2.25 * in_channels)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool3d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, C, T, H, W)`` to ``(B, D)``."""
        out: torch.Tensor = self.pool(self.relu(self.bn(self.conv(x)))).flatten(1)
        return out


class ClassifierHead(nn.Module):
    """Concatenate pooled stream features, then a two-layer MLP to class logits.

    Args:
        in_features: Sum of the stream heads' D.
        hidden: Hidden width (X3D: 2048).
        num_classes: Number of classes.
        dropout: Dropout before the last layer.
        hidden_norm: ``"none"`` or ``"bn"`` (a BatchNorm1d between ``fc1`` and the ReLU).
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        num_classes: int,
        dropout: float,
        hidden_norm: str = "none",
    ) -> None:
        super().__init__()
        if hidden_norm not in get_args(HiddenNorm):
            raise ValueError(
                f"hidden_norm = {hidden_norm!r}: must be {' or '.join(get_args(HiddenNorm))}"
            )
        self.fc1 = nn.Linear(in_features, hidden, bias=False)
        self.bn: nn.Module = nn.BatchNorm1d(hidden) if hidden_norm == "bn" else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Map a list of ``(B, D_i)`` to logits ``(B, num_classes)``."""
        x = torch.cat(features, dim=1) if len(features) > 1 else features[0]
        out: torch.Tensor = self.fc2(self.dropout(self.relu(self.bn(self.fc1(x)))))
        return out
