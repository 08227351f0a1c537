"""Export-time rewrite: depthwise ``t x k x k`` Conv3d as ``t`` depthwise Conv2d.

ONNX Runtime's CPU provider has fast NCHWc kernels for 2-D depthwise convolutions but runs a
grouped 3-D convolution as one small GEMM per channel, which made the depthwise convs of
MBConv3D blocks dominate auto_tsnet_s's ONNX Runtime time (without the rewrite ONNX Runtime
is slower than eager PyTorch; see tools/bench/infer.py). The rewrite is exact::

    x (B, C, T, H, W) ─ pad T by t//2 ─┬─ x[:, :, 0:T]   -> (B, C*T, H, W) ─ dwconv2d(tap 0) ─┐
                                       ├─ x[:, :, 1:T+1] -> (B, C*T, H, W) ─ dwconv2d(tap 1) ─┤
                                       └─ ...                                                 ┘
    sum -> (B, C, T, H', W')

Folding frames into channels is a free reshape of a contiguous tensor; each 2-D kernel is
the 3-D kernel's temporal tap ``w[:, :, i]`` repeated for every frame, so the frame count T
must be known: :func:`rewrite_depthwise` records it with one forward pass. The export's
parity check compares the rewritten graph against the untouched PyTorch model.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DepthwiseConv3dAs2d", "is_rewritable", "rewrite_depthwise"]

logger = logging.getLogger(__name__)


def is_rewritable(conv: nn.Module) -> bool:
    """True for a bias-free depthwise Conv3d with temporal stride 1 and 'same' padding."""
    if not isinstance(conv, nn.Conv3d) or conv.bias is not None:
        return False
    t, kh, kw = conv.kernel_size
    return (
        conv.groups == conv.in_channels == conv.out_channels
        and conv.stride[0] == 1
        and conv.stride[1] == conv.stride[2]
        and kh == kw
        and kh > 1
        and conv.dilation == (1, 1, 1)
        and conv.padding == (t // 2, kh // 2, kw // 2)
        and t % 2 == 1
        and conv.padding_mode == "zeros"
    )


class DepthwiseConv3dAs2d(nn.Module):
    """A depthwise Conv3d computed as one depthwise Conv2d per temporal tap.

    Args:
        conv: The depthwise Conv3d (see :func:`is_rewritable`).
        frames: T, the frame count of the inputs it will see.
    """

    def __init__(self, conv: nn.Conv3d, frames: int) -> None:
        super().__init__()
        if not is_rewritable(conv):
            raise ValueError(f"cannot rewrite {conv}")
        w = conv.weight.detach()
        self.taps, k, _ = conv.kernel_size
        self.frames = frames
        self.channels = conv.in_channels
        self.stride = conv.stride[1]
        self.pad = k // 2
        # weight[i] is (C*T, 1, k, k): tap i of channel c, repeated for each of the T frames.
        self.weight = nn.Parameter(
            torch.stack([w[:, :, i].repeat_interleave(frames, dim=0) for i in range(self.taps)]),
            requires_grad=False,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, C, T, H, W)`` to ``(B, C, T, ceil(H/s), ceil(W/s))``."""
        h, w = x.shape[-2], x.shape[-1]
        ct = self.channels * self.frames
        p = self.taps // 2
        if p:
            x = F.pad(x, (0, 0, 0, 0, p, p))
        out: torch.Tensor | None = None
        for i in range(self.taps):
            xi = x[:, :, i : i + self.frames] if p else x
            y = F.conv2d(
                xi.reshape(-1, ct, h, w),
                self.weight[i],
                stride=self.stride,
                padding=self.pad,
                groups=ct,
            )
            out = y if out is None else out + y
        assert out is not None
        return out.reshape(-1, self.channels, self.frames, out.shape[-2], out.shape[-1])

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, frames={self.frames}, taps={self.taps}, "
            f"stride={self.stride}"
        )


def rewrite_depthwise(model: nn.Module, example_inputs: Sequence[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` with every rewritable depthwise Conv3d replaced.

    One forward pass on ``example_inputs`` records the frame count each conv sees.

    Args:
        model: The network, in eval mode.
        example_inputs: Inputs of the shapes the export will use.

    Returns:
        The rewritten copy (``model`` is left untouched).
    """
    out = copy.deepcopy(model).eval()
    frames: dict[str, int] = {}
    hooks = []
    for name, mod in out.named_modules():
        if is_rewritable(mod):

            def record(m: nn.Module, args: tuple[torch.Tensor, ...], name: str = name) -> None:
                frames[name] = int(args[0].shape[2])

            hooks.append(mod.register_forward_pre_hook(record))
    try:
        with torch.no_grad():
            out(*example_inputs)
    finally:
        for h in hooks:
            h.remove()
    for name, t in frames.items():
        parent_name, _, attr = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        conv = getattr(parent, attr)
        setattr(parent, attr, DepthwiseConv3dAs2d(conv, t))
    logger.debug("rewrote %d depthwise Conv3d as Conv2d", len(frames))
    return out
