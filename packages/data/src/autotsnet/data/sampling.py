"""Two-stream clip sampling: sparse and dense frames from ONE clip window.

SlowFast convention (paper §3.1, §5.2): the window is ``max(frames * stride)`` source frames
long (at the target frame rate). Every stream starts at the window's first frame::

    window  |0 ............................................................ 63|
    sparse  x               x               x               x          4 x 16
    dense   x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x    32 x 2

so with 4x16 and 32x2 the sparse frame ``i`` is the dense frame ``8 i`` (what the
``time_strided_sample`` fusion relies on). Training draws the window start uniformly at
random; testing takes ``N`` windows spaced uniformly from the first to the last possible
start.

Videos shorter than the window: with ``short="pad"`` (default, as PySlowFast) indices past
the end repeat the last frame; with ``short="loop"`` they wrap around to the start.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

__all__ = [
    "ClipSampler",
    "ShortVideo",
    "StreamSampling",
    "sampling_from_genome",
]

ShortVideo = Literal["pad", "loop"]


@dataclass(frozen=True)
class StreamSampling:
    """How one stream samples frames from a clip window.

    Attributes:
        frames: Frames fed to the stream (T).
        stride: Distance between sampled frames, in frames at the target rate.
    """

    frames: int
    stride: int

    def __post_init__(self) -> None:
        if self.frames < 1 or self.stride < 1:
            raise ValueError(f"StreamSampling needs frames, stride >= 1, got {self}")

    @property
    def span(self) -> int:
        """Source frames covered: ``frames * stride``."""
        return self.frames * self.stride

    @classmethod
    def parse(cls, text: str) -> StreamSampling:
        """Parse ``"4x16"`` (frames x stride)."""
        try:
            frames, stride = (int(v) for v in text.lower().split("x"))
        except ValueError:
            raise ValueError(f"expected FRAMESxSTRIDE such as 4x16, got {text!r}") from None
        return cls(frames, stride)


class _InputLike(Protocol):
    @property
    def frames(self) -> int: ...
    @property
    def temporal_stride(self) -> int: ...


class _StreamLike(Protocol):
    @property
    def input(self) -> _InputLike: ...


class _GenomeLike(Protocol):
    @property
    def sparse(self) -> _StreamLike: ...
    @property
    def dense(self) -> _StreamLike | None: ...


def sampling_from_genome(genome: _GenomeLike) -> tuple[StreamSampling, ...]:
    """Stream samplings of a genome: sparse first, then dense when it has two streams.

    Args:
        genome: An :class:`autotsnet.models.genome.Genome` (any object with the same
            ``sparse.input.frames`` / ``temporal_stride`` shape; the data layer does not
            import the models layer).
    """
    streams = [genome.sparse] + ([genome.dense] if genome.dense is not None else [])
    return tuple(StreamSampling(s.input.frames, s.input.temporal_stride) for s in streams)


class ClipSampler:
    """Frame indices of every stream for clip windows of a video.

    Args:
        samplings: One :class:`StreamSampling` per stream (sparse first).
        short: What to do past the end of a short video: ``"pad"`` or ``"loop"``.
    """

    def __init__(self, samplings: tuple[StreamSampling, ...], short: ShortVideo = "pad") -> None:
        if not samplings:
            raise ValueError("need at least one stream sampling")
        if short not in ("pad", "loop"):
            raise ValueError(f"short must be 'pad' or 'loop', got {short!r}")
        self.samplings = tuple(samplings)
        self.short: ShortVideo = short
        self.window = max(s.span for s in self.samplings)

    def train_start(self, num_frames: int, rng: random.Random) -> int:
        """A uniformly random window start (0 when the video is shorter than the window)."""
        return rng.randint(0, max(num_frames - self.window, 0))

    def test_starts(self, num_frames: int, clips: int) -> list[int]:
        """``clips`` window starts spaced uniformly over the video (centred when 1)."""
        if clips < 1:
            raise ValueError(f"clips must be >= 1, got {clips}")
        delta = max(num_frames - self.window, 0)
        if clips == 1:
            return [delta // 2]
        return [round(delta * k / (clips - 1)) for k in range(clips)]

    def indices(self, start: int, num_frames: int) -> tuple[np.ndarray, ...]:
        """Frame indices of every stream for the window starting at ``start``.

        Returns:
            One int64 array of length ``frames`` per stream, inside ``[0, num_frames)``.
        """
        n = max(num_frames, 1)
        out = []
        for s in self.samplings:
            idx = start + s.stride * np.arange(s.frames, dtype=np.int64)
            idx = np.minimum(idx, n - 1) if self.short == "pad" else idx % n
            out.append(idx)
        return tuple(out)

    @staticmethod
    def union(per_stream: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Sorted unique indices of all streams, and each stream's positions in it.

        Decode ``union`` once, then ``frames[positions[k]]`` is stream ``k``'s clip.
        """
        union = np.unique(np.concatenate(per_stream))
        return union, tuple(np.searchsorted(union, idx) for idx in per_stream)
