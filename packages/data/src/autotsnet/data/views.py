"""Multi-view testing: N temporal clips x spatial crops (paper §5.2, X3D protocol).

* ``10x1`` ("10-Center"): 10 uniformly spaced clips, short side 182, one 160 center crop.
* ``10x3`` ("10-LeftCenterRight"): 10 clips, short side 182, three 182 crops covering the
  long side (left/top, center, right/bottom).

Views are ordered clip-major: view ``k * crops + j`` is clip ``k``, crop ``j``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import torch

from autotsnet.data.transforms import scaled_size

__all__ = ["TestViews"]

_VIEW_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


class _InputSpecLike(Protocol):
    @property
    def train_crop(self) -> int: ...
    @property
    def test_crop(self) -> int: ...
    @property
    def test_short_side(self) -> int: ...


@dataclass(frozen=True)
class TestViews:
    """The test views of one video.

    Attributes:
        clips: Temporal clips, uniformly spaced.
        crops: Spatial crops per clip, spread along the long side.
        short_side: Short side frames are scaled to.
        crop: Square crop size.
    """

    __test__ = False  # not a pytest test class

    clips: int = 10
    crops: int = 3
    short_side: int = 182
    crop: int = 182

    def __post_init__(self) -> None:
        if self.clips < 1 or self.crops < 1:
            raise ValueError(f"views need clips, crops >= 1, got {self.clips}x{self.crops}")
        if not 1 <= self.crop <= self.short_side:
            raise ValueError(f"need 1 <= crop <= short_side, got {self.crop}, {self.short_side}")

    @classmethod
    def parse(
        cls, text: str, *, short_side: int = 182, center_crop: int = 160, spec: object = None
    ) -> TestViews:
        """Parse ``"CLIPSxCROPS"``.

        One crop means a ``center_crop`` center crop ("10-Center"); more crops are
        ``short_side`` squares along the long side ("10-LeftCenterRight").

        Args:
            text: e.g. ``"10x1"`` or ``"10x3"``.
            short_side: Short side before cropping.
            center_crop: Crop size of the single-crop protocol.
            spec: Optional genome InputSpec; overrides ``short_side`` (``test_short_side``),
                ``center_crop`` (``train_crop``) and the multi-crop size (``test_crop``).
        """
        m = _VIEW_RE.match(text)
        if m is None:
            raise ValueError(f"views must look like 10x1 or 10x3, got {text!r}")
        clips, crops = int(m.group(1)), int(m.group(2))
        multi = short_side
        if spec is not None:
            s: _InputSpecLike = spec  # type: ignore[assignment]
            short_side, center_crop, multi = s.test_short_side, s.train_crop, s.test_crop
        crop = min(center_crop, short_side) if crops == 1 else multi
        return cls(clips=clips, crops=crops, short_side=short_side, crop=crop)

    @property
    def num_views(self) -> int:
        """``clips * crops``."""
        return self.clips * self.crops

    def __str__(self) -> str:
        return f"{self.clips}x{self.crops}"

    def scaled_size(self, height: int, width: int) -> tuple[int, int]:
        """Frame size after scaling the short side to :attr:`short_side`."""
        return scaled_size(height, width, self.short_side)

    def crop_boxes(self, height: int, width: int) -> list[tuple[int, int]]:
        """(top, left) of each crop in a frame already scaled to :meth:`scaled_size`."""
        long_is_w = width >= height
        long_len, short_len = (width, height) if long_is_w else (height, width)
        if self.crop > short_len:
            raise ValueError(f"crop {self.crop} larger than frame {height}x{width}")
        across = (short_len - self.crop) // 2
        room = long_len - self.crop
        if self.crops == 1:
            along = [room // 2]
        else:
            along = [round(room * j / (self.crops - 1)) for j in range(self.crops)]
        return [(across, a) if long_is_w else (a, across) for a in along]

    def crop_all(self, frames: torch.Tensor) -> list[torch.Tensor]:
        """Every crop of scaled frames: uint8 (T, H, W, 3) -> list of uint8 (T, 3, c, c)."""
        _, h, w, _ = frames.shape
        c = self.crop
        chw = frames.permute(0, 3, 1, 2)
        return [chw[:, :, y : y + c, x : x + c] for y, x in self.crop_boxes(h, w)]
