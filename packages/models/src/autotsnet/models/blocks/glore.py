"""GloRe: graph-based global reasoning unit for 3D features (Chen et al., CVPR 2019).

Port of facebookresearch/GloRe ``GloRe_Unit`` (spec §5.1) with configurable widths::

    X (B, C, T, H, W)
    ├─ S = conv_state(X)  (B, C', L)        1x1x1 conv with bias, C' = state_ratio * C
    ├─ B = conv_proj(X)   (B, N, L)         1x1x1 conv with bias, N  = node_ratio * C
    │  V = S @ B^T / L    (B, C', N)        project to the interaction space
    │  H = V + NodeConv(V)                  Conv1d over nodes (bias)
    │  Z = StateConv(ReLU(H))               Conv1d over states (no bias)
    │  Y = Z @ B          (B, C', L)        reverse projection
    └─ out = X + BN(conv_extend(Y))         BN gamma zero-initialised: starts as identity

V is divided by L = T*H*W (the reference unit's ``normalize=True``) so that its scale does not
depend on the input size: test views (e.g. 182 px) are larger than training crops (160 px),
and without it the BN after the unit sees activations ~(182/160)^2 larger at test time.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GloRe3D", "glore_widths"]


def glore_widths(channels: int, state_ratio: float, node_ratio: float) -> tuple[int, int]:
    """``(C', N)``: state and node widths of a unit on ``channels`` inputs (each >= 1)."""
    return max(1, round(state_ratio * channels)), max(1, round(node_ratio * channels))


class GloRe3D(nn.Module):
    """Global reasoning unit with a residual connection.

    Args:
        channels: C, input and output channels.
        state_ratio: C' / C (reference GloRe: 0.5).
        node_ratio: N / C (reference GloRe: 0.25).
    """

    def __init__(self, channels: int, state_ratio: float, node_ratio: float) -> None:
        super().__init__()
        states, nodes = glore_widths(channels, state_ratio, node_ratio)
        self.states, self.nodes = states, nodes
        self.conv_state = nn.Conv3d(channels, states, 1, bias=True)
        self.conv_proj = nn.Conv3d(channels, nodes, 1, bias=True)
        self.node_conv = nn.Conv1d(nodes, nodes, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.state_conv = nn.Conv1d(states, states, 1, bias=False)
        self.conv_extend = nn.Conv3d(states, channels, 1, bias=False)
        self.blocker = nn.BatchNorm3d(channels, eps=1e-4)
        nn.init.zeros_(self.blocker.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, C, T, H, W)`` to the same shape."""
        b = x.shape[0]
        s = self.conv_state(x).flatten(2)
        proj = self.conv_proj(x).flatten(2)
        v = torch.matmul(s, proj.transpose(1, 2)) / s.shape[-1]
        h = v + self.node_conv(v.transpose(1, 2)).transpose(1, 2)
        z = self.state_conv(self.relu(h))
        y = torch.matmul(z, proj).reshape(b, self.states, *x.shape[2:])
        out: torch.Tensor = x + self.blocker(self.conv_extend(y))
        return out
