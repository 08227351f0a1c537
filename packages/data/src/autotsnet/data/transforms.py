"""Train-time spatial transforms on uint8 video tensors (paper §5.2).

Short-side scale jitter in ``[182, 228]``, a random ``160`` crop, an optional horizontal flip,
then normalisation. The crop is drawn once per clip and shared by both streams: draw
:class:`CropParams` with :meth:`TrainTransform.sample`, apply them to the union of the frames
the streams need, then index each stream's frames.

For speed, :meth:`TrainTransform.spatial` maps the crop back to source pixels and resizes
only that region of the uint8 frames (a 256x340 frame is never scaled as a whole; this
measured faster than letting swscale scale whole frames while converting to RGB). For
frames that are already scaled, :meth:`TrainTransform.crop_scaled` only slices. All work
is on uint8 until the final float conversion; :meth:`TrainTransform.apply` stops before
it and gives the contiguous uint8 (3, T, crop, crop) clip (flip and channel transpose in
one copy), which :func:`~autotsnet.data.normalize.normalize_batch` can normalise later.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from autotsnet.data.normalize import KINETICS_MEAN, KINETICS_STD, normalize_

__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "CropParams",
    "TrainTransform",
    "normalize",
    "resize_region",
    "scaled_size",
    "to_cthw",
]


@dataclass(frozen=True)
class CropParams:
    """One draw of the random spatial transform, in coordinates of the scaled frame.

    Attributes:
        short_side: Short side the frame is scaled to.
        top: Crop top row in the scaled frame.
        left: Crop left column in the scaled frame.
        flip: Whether to flip horizontally.
    """

    short_side: int
    top: int
    left: int
    flip: bool


def scaled_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) after scaling the short side to ``short_side`` (aspect kept)."""
    f = short_side / min(height, width)
    return max(round(height * f), short_side), max(round(width * f), short_side)


def resize_region(
    frames: torch.Tensor, short_side: int, top: int, left: int, crop: int
) -> torch.Tensor:
    """Crop ``crop x crop`` at (top, left) of the frames scaled to ``short_side``.

    Only the matching source region is resized (bilinear, antialiased when shrinking).

    Args:
        frames: uint8 (T, H, W, 3).
        short_side: Short side of the (virtual) scaled frame.
        top: Crop row in the scaled frame.
        left: Crop column in the scaled frame.
        crop: Crop size.

    Returns:
        uint8 (T, 3, crop, crop), channels-last in memory.
    """
    _, h, w, _ = frames.shape
    f = short_side / min(h, w)
    y0, x0 = math.floor(top / f), math.floor(left / f)
    y1 = min(max(math.ceil((top + crop) / f), y0 + 1), h)
    x1 = min(max(math.ceil((left + crop) / f), x0 + 1), w)
    region = frames[:, y0:y1, x0:x1, :].permute(0, 3, 1, 2)
    if region.shape[-2:] == (crop, crop):
        return region
    shrink = region.shape[-1] > crop
    return F.interpolate(
        region, size=(crop, crop), mode="bilinear", align_corners=False, antialias=shrink
    )


def to_cthw(frames: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """uint8 (T, 3, H, W) with any strides -> contiguous (3, T, H, W), mirrored if ``flip``.

    One strided copy (numpy copies channels-last uint8 about twice as fast as torch and
    takes the mirror as a negative stride, so the flip costs no extra pass).
    """
    if frames.device.type != "cpu":
        return (frames.flip(-1) if flip else frames).permute(1, 0, 2, 3).contiguous()
    a = frames.numpy()
    if flip:
        a = a[..., ::-1]
    return torch.from_numpy(np.ascontiguousarray(a.transpose(1, 0, 2, 3)))


def normalize(
    frames: torch.Tensor,
    mean: tuple[float, float, float] = KINETICS_MEAN,
    std: tuple[float, float, float] = KINETICS_STD,
) -> torch.Tensor:
    """uint8 (T, 3, H, W) -> float32 (3, T, H, W), ``(x / 255 - mean) / std``."""
    # uint8 transpose first (1-byte copies), then a contiguous float conversion.
    return normalize_(to_cthw(frames).to(torch.float32), mean, std)


class _InputSpecLike(Protocol):
    @property
    def train_crop(self) -> int: ...


class TrainTransform:
    """Random short-side scale, random square crop, optional flip, normalisation.

    Args:
        crop: Square crop size (paper: 160).
        scale: Inclusive range of the short side before cropping (paper: 182-228).
        flip: Random horizontal flip; switch it off for direction-sensitive labels (SSv2).
        mean: Per-channel mean in [0, 1].
        std: Per-channel std in [0, 1].
    """

    def __init__(
        self,
        crop: int = 160,
        scale: tuple[int, int] = (182, 228),
        flip: bool = True,
        mean: tuple[float, float, float] = KINETICS_MEAN,
        std: tuple[float, float, float] = KINETICS_STD,
    ) -> None:
        lo, hi = scale
        if crop < 1 or lo < crop or hi < lo:
            raise ValueError(f"need 1 <= crop <= scale[0] <= scale[1], got {crop=} {scale=}")
        self.crop = crop
        self.scale = (int(lo), int(hi))
        self.flip = flip
        self.mean = mean
        self.std = std

    @classmethod
    def from_input_spec(cls, spec: _InputSpecLike, *, flip: bool = True) -> TrainTransform:
        """Transform for a genome's InputSpec: its train crop with the paper's jitter ratio.

        The jitter range keeps the paper's ratio: ``crop * 182/160`` to ``crop * 228/160``.
        """
        c = spec.train_crop
        return cls(crop=c, scale=(round(c * 182 / 160), round(c * 228 / 160)), flip=flip)

    def sample(self, height: int, width: int, rng: random.Random) -> CropParams:
        """Draw scale, crop position and flip for a frame of ``height x width``."""
        s = rng.randint(*self.scale)
        sh, sw = scaled_size(height, width, s)
        top = rng.randint(0, sh - self.crop)
        left = rng.randint(0, sw - self.crop)
        flip = self.flip and rng.random() < 0.5
        return CropParams(short_side=s, top=top, left=left, flip=flip)

    def center(self, height: int, width: int) -> CropParams:
        """Deterministic evaluation view: short side ``scale[0]``, center crop, no flip."""
        s = self.scale[0]
        sh, sw = scaled_size(height, width, s)
        return CropParams(s, (sh - self.crop) // 2, (sw - self.crop) // 2, False)

    def apply(self, frames: torch.Tensor, params: CropParams) -> torch.Tensor:
        """Scale, crop and flip: uint8 (T, H, W, 3) -> contiguous uint8 (3, T, crop, crop).

        The result equals ``spatial(frames, params).permute(1, 0, 2, 3)``, made contiguous
        with the flip folded into that one copy.
        """
        out = resize_region(frames, params.short_side, params.top, params.left, self.crop)
        return to_cthw(out, params.flip)

    def normalize(self, clip: torch.Tensor) -> torch.Tensor:
        """uint8 (3, T, H, W) (or batched, channels at -4) -> normalised float32."""
        return normalize_(clip.to(torch.float32), self.mean, self.std)

    def spatial(self, frames: torch.Tensor, params: CropParams) -> torch.Tensor:
        """Apply scale, crop and flip: uint8 (T, H, W, 3) -> uint8 (T, 3, crop, crop)."""
        out = resize_region(frames, params.short_side, params.top, params.left, self.crop)
        return out.flip(-1) if params.flip else out

    def crop_scaled(self, frames: torch.Tensor, params: CropParams) -> torch.Tensor:
        """Crop and flip frames already scaled to ``params.short_side`` (e.g. by the decoder).

        uint8 (T, H', W', 3) -> uint8 (T, 3, crop, crop) view (flip copies).
        """
        c = self.crop
        out = frames[:, params.top : params.top + c, params.left : params.left + c, :]
        out = out.permute(0, 3, 1, 2)
        return out.flip(-1) if params.flip else out

    def finish(self, frames: torch.Tensor) -> torch.Tensor:
        """Normalise uint8 (T, 3, H, W) to float32 (3, T, H, W)."""
        return normalize(frames, self.mean, self.std)

    def __call__(self, frames: torch.Tensor, rng: random.Random) -> torch.Tensor:
        """Transform one clip: uint8 (T, H, W, 3) -> float32 (3, T, crop, crop)."""
        _, h, w, _ = frames.shape
        return self.normalize(self.apply(frames, self.sample(h, w, rng)))

    def __repr__(self) -> str:
        return f"TrainTransform(crop={self.crop}, scale={self.scale}, flip={self.flip})"
