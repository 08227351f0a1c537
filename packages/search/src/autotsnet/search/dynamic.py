"""Elastic (weight-sharing) layers for the supernet, after OFA's ``dynamic_op.py`` (spec §3).

Every layer stores the *largest* weight of its slot and runs a smaller configuration by
slicing: 1x1x1 convs take ``weight[:out, cols]`` where ``cols`` is either a channel prefix or an
index tensor (for concatenated fusion inputs, spec §3.2), batch norms slice their affine
parameters and running statistics (OFA ``DynamicBatchNorm2d``), and depthwise convs select a
``t x k x k`` kernel (see :class:`DynamicDepthwise`). Each layer can copy its active slice into
the matching static layer built by :mod:`autotsnet.models.builder` (``copy_to``).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Columns",
    "DynamicBatchNorm3d",
    "DynamicDepthwise",
    "DynamicPointwise",
    "KernelMode",
    "SharedBatchNorm1d",
    "bn_batch_stats_only",
    "select_columns",
]

KernelMode = Literal["crop", "separate"]
Columns = int | torch.Tensor
"""Input channels of an elastic layer: a prefix length, or an index tensor of columns."""


def select_columns(weight: torch.Tensor, cols: Columns) -> torch.Tensor:
    """Take input columns (dim 1) of a weight: a prefix or ``index_select``."""
    if isinstance(cols, int):
        return weight if cols == weight.shape[1] else weight[:, :cols]
    return weight.index_select(1, cols)


def _prefix(t: torch.Tensor, n: int) -> torch.Tensor:
    """``t[:n]``, or ``t`` itself when that is all of it (one autograd node less)."""
    return t if n == t.shape[0] else t[:n]


class _BNState:
    """Process-wide switch: BN uses batch statistics without touching running stats."""

    batch_stats_only = False


class bn_batch_stats_only:  # noqa: N801 - used as a context manager, reads like a function
    """Context manager: every :class:`DynamicBatchNorm3d` normalises with batch statistics and
    leaves its running statistics untouched (PARSEC's architecture evaluation, spec §3.2)."""

    def __enter__(self) -> None:
        self._prev = _BNState.batch_stats_only
        _BNState.batch_stats_only = True

    def __exit__(self, *exc: object) -> None:
        _BNState.batch_stats_only = self._prev


class SharedBatchNorm1d(nn.BatchNorm1d):
    """The classifier head's hidden BatchNorm1d (fixed width), which follows
    :class:`bn_batch_stats_only` like every :class:`DynamicBatchNorm3d`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``(B, hidden)``; batch statistics only inside ``bn_batch_stats_only``."""
        if _BNState.batch_stats_only:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        out: torch.Tensor = super().forward(x)
        return out


class DynamicBatchNorm3d(nn.BatchNorm3d):
    """BatchNorm3d over the first ``C`` channels of its largest configuration."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``(B, C, T, H, W)`` with the sliced parameters and statistics."""
        c = x.shape[1]
        assert self.running_mean is not None and self.running_var is not None
        weight, bias = _prefix(self.weight, c), _prefix(self.bias, c)
        if _BNState.batch_stats_only:
            return F.batch_norm(x, None, None, weight, bias, True, 0.0, self.eps)
        use_batch = self.training
        return F.batch_norm(
            x,
            _prefix(self.running_mean, c),
            _prefix(self.running_var, c),
            weight,
            bias,
            use_batch,
            self.momentum if self.momentum is not None else 0.1,
            self.eps,
        )

    def copy_to(self, bn: nn.BatchNorm3d) -> None:
        """Copy the first ``bn.num_features`` channels into a static BN."""
        c = bn.num_features
        assert self.running_mean is not None and self.running_var is not None
        assert bn.running_mean is not None and bn.running_var is not None
        with torch.no_grad():
            bn.weight.copy_(self.weight[:c])
            bn.bias.copy_(self.bias[:c])
            bn.running_mean.copy_(self.running_mean[:c])
            bn.running_var.copy_(self.running_var[:c])
        bn.eps, bn.momentum = self.eps, self.momentum


class DynamicPointwise(nn.Module):
    """1x1x1 Conv3d (optionally strided, optionally with bias) with elastic in/out widths.

    Args:
        in_channels: Largest number of input columns (all segments together).
        out_channels: Largest number of outputs.
        stride: Spatial stride.
        bias: Whether the conv has a bias.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, stride: int = 1, bias: bool = False
    ) -> None:
        super().__init__()
        ref = nn.Conv3d(in_channels, out_channels, 1, bias=bias)
        self.weight = nn.Parameter(ref.weight.detach().clone())
        self.bias = nn.Parameter(ref.bias.detach().clone()) if ref.bias is not None else None
        self.stride = (1, stride, stride)

    def forward(self, x: torch.Tensor, out: int, cols: Columns | None = None) -> torch.Tensor:
        """Apply ``weight[:out, cols]``; ``cols`` defaults to the prefix ``x.shape[1]``."""
        w = select_columns(_prefix(self.weight, out), x.shape[1] if cols is None else cols)
        b = None if self.bias is None else _prefix(self.bias, out)
        return F.conv3d(x, w, b, stride=self.stride)

    def copy_to(self, conv: nn.Conv3d | nn.Conv1d, cols: Columns | None = None) -> None:
        """Copy the slice matching ``conv``'s shape (columns ``cols``) into ``conv``."""
        out, inp = conv.weight.shape[:2]
        w = select_columns(self.weight[:out], inp if cols is None else cols)
        with torch.no_grad():
            conv.weight.copy_(w.reshape(conv.weight.shape))
            if conv.bias is not None:
                assert self.bias is not None
                conv.bias.copy_(self.bias[:out])


def _crop(start_len: int, size: int) -> slice:
    lo = start_len // 2 - size // 2
    return slice(lo, lo + size)


class DynamicDepthwise(nn.Module):
    """Depthwise ``t x k x k`` Conv3d with elastic channels and kernel.

    Two weight-sharing modes (spec §3.2):

    * ``"crop"`` (default, Once-for-All): one ``(M, 1, 5, 5, 5)`` weight; a smaller kernel is
      its centre crop. Kernels share weights, so training any of them trains the others.
    * ``"separate"``: one weight per ``(t, k)`` pair (``M x 306`` parameters in all, against
      ``M x 125``); no kernel interference, but each kernel only trains when it is sampled.

    Args:
        channels: Largest number of channels M.
        temporal_kernels: Allowed t.
        spatial_kernels: Allowed k.
        stride: Spatial stride.
        mode: ``"crop"`` or ``"separate"``.
    """

    def __init__(
        self,
        channels: int,
        temporal_kernels: tuple[int, ...],
        spatial_kernels: tuple[int, ...],
        *,
        stride: int,
        mode: KernelMode = "crop",
    ) -> None:
        super().__init__()
        self.mode: KernelMode = mode
        self.stride = (1, stride, stride)
        self.t_max, self.k_max = max(temporal_kernels), max(spatial_kernels)
        self.kernels = tuple((t, k) for t in temporal_kernels for k in spatial_kernels)
        self.weights = nn.ParameterDict()
        shapes = (
            {"max": (self.t_max, self.k_max)}
            if mode == "crop"
            else {f"t{t}k{k}": (t, k) for t, k in self.kernels}
        )
        for key, (t, k) in shapes.items():
            ref = nn.Conv3d(channels, channels, (t, k, k), groups=channels, bias=False)
            self.weights[key] = nn.Parameter(ref.weight.detach().clone())

    def kernel(self, channels: int, t: int, k: int) -> torch.Tensor:
        """The active ``(channels, 1, t, k, k)`` kernel."""
        if (t, k) not in self.kernels:
            raise ValueError(f"kernel {t}x{k}x{k} is not in this supernet ({self.kernels})")
        if self.mode == "separate":
            return _prefix(self.weights[f"t{t}k{k}"], channels)
        w = _prefix(self.weights["max"], channels)
        if (t, k) == (self.t_max, self.k_max):
            return w
        if k == self.k_max:
            return w[:, :, _crop(self.t_max, t)]
        return w[:, :, _crop(self.t_max, t), _crop(self.k_max, k), _crop(self.k_max, k)]

    def forward(self, x: torch.Tensor, t: int, k: int) -> torch.Tensor:
        """Depthwise conv of ``x`` with the active kernel, 'same' padding."""
        c = x.shape[1]
        return F.conv3d(
            x,
            self.kernel(c, t, k),
            None,
            stride=self.stride,
            padding=(t // 2, k // 2, k // 2),
            groups=c,
        )

    def copy_to(self, conv: nn.Conv3d) -> None:
        """Copy the active kernel into a static depthwise conv."""
        c = conv.weight.shape[0]
        t, k = conv.weight.shape[2], conv.weight.shape[3]
        with torch.no_grad():
            conv.weight.copy_(self.kernel(c, t, k))
