"""The depthwise Conv3d -> Conv2d taps rewrite is exact."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autotsnet.infer.rewrite import DepthwiseConv3dAs2d, is_rewritable, rewrite_depthwise
from autotsnet.models.blocks.mbconv import MBConv3D


@pytest.mark.parametrize(
    ("t", "k", "s", "frames", "size"),
    [(3, 5, 1, 4, 9), (1, 3, 2, 2, 8), (5, 3, 2, 8, 7), (3, 3, 1, 1, 5), (1, 5, 1, 3, 6)],
)
def test_matches_conv3d(t: int, k: int, s: int, frames: int, size: int) -> None:
    gen = torch.Generator().manual_seed(t * 100 + k * 10 + s)
    conv = nn.Conv3d(6, 6, (t, k, k), (1, s, s), (t // 2, k // 2, k // 2), groups=6, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
    x = torch.randn(3, 6, frames, size, size, generator=gen)
    alt = DepthwiseConv3dAs2d(conv, frames)
    with torch.no_grad():
        torch.testing.assert_close(alt(x), conv(x), atol=1e-5, rtol=1e-5)


def test_only_depthwise_same_padding_convs_are_rewritten() -> None:
    assert not is_rewritable(nn.Conv3d(4, 8, 3, padding=1))  # not depthwise
    assert not is_rewritable(nn.Conv3d(4, 4, 3, padding=1, groups=4, bias=True))
    assert not is_rewritable(nn.Conv3d(4, 4, (3, 3, 3), stride=(2, 1, 1), padding=1, groups=4))
    assert not is_rewritable(nn.Conv3d(4, 4, (3, 1, 1), padding=(1, 0, 0), groups=4, bias=False))
    assert is_rewritable(nn.Conv3d(4, 4, (3, 5, 5), padding=(1, 2, 2), groups=4, bias=False))


def test_rewrite_model_copy() -> None:
    block = MBConv3D(4, 4, 8, temporal_kernel=3, spatial_kernel=5, stride=1, se_ratio=0.25).eval()
    with torch.no_grad():
        block.bn_c.weight.fill_(1.0)  # zero-initialised: make the branch count
    x = torch.randn(2, 4, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    out = rewrite_depthwise(block, (x,))
    assert isinstance(out.conv_b, DepthwiseConv3dAs2d) and isinstance(block.conv_b, nn.Conv3d)
    with torch.no_grad():
        torch.testing.assert_close(out(x), block(x), atol=1e-5, rtol=1e-5)
