"""Network building blocks, one concept per module."""

from autotsnet.models.blocks.fusion import build_fusion, fused_channels
from autotsnet.models.blocks.glore import GloRe3D
from autotsnet.models.blocks.head import ClassifierHead, StreamHead
from autotsnet.models.blocks.mbconv import MBConv3D
from autotsnet.models.blocks.se import SqueezeExcite, round_width
from autotsnet.models.blocks.stem import X3DStem

__all__ = [
    "ClassifierHead",
    "GloRe3D",
    "MBConv3D",
    "SqueezeExcite",
    "StreamHead",
    "X3DStem",
    "build_fusion",
    "fused_channels",
    "round_width",
]
