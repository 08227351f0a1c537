"""PyAV video decoding: seek to the nearest keyframe, decode forward only as far as needed.

Frames are addressed by index at a *target* frame rate (the source's own rate by default).
Index ``k`` stands for the timestamp ``start + k / target_fps``; the decoded frame whose
presentation time is nearest to it is returned. Only the frames that are asked for are
converted to RGB, and decoding stops at the last one.

Every failure (missing, empty or random-bytes file, no video stream, a decode error, a stream
that ends before the frames its container declares) raises :class:`VideoDecodeError` with a
short reason, never a raw PyAV exception.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import av
import numpy as np
import torch
from av.video.reformatter import VideoReformatter

from autotsnet.data.errors import VideoDecodeError

__all__ = [
    "Layout",
    "VideoInfo",
    "VideoReader",
    "count_decodable_frames",
    "decode_clip",
    "probe_video",
]

logger = logging.getLogger(__name__)

Layout = Literal["THWC", "CTHW"]

_FALLBACK_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream.

    Attributes:
        width: Frame width in pixels.
        height: Frame height in pixels.
        fps: Native frame rate.
        declared_frames: Frame count stored in the container (0 when it stores none).
        num_frames: ``declared_frames``, or an estimate from the duration when that is 0.
        duration: Stream duration in seconds (0.0 when unknown).
        start: Presentation time of the first frame, in seconds.
        codec: Codec name, e.g. ``h264``.
    """

    width: int
    height: int
    fps: float
    declared_frames: int
    num_frames: int
    duration: float
    start: float
    codec: str


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _open(path: Path) -> Any:
    if not path.exists():
        raise VideoDecodeError(path, "no such file")
    if path.is_dir():
        raise VideoDecodeError(path, "is a directory")
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, "empty file")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except Exception as exc:
        raise VideoDecodeError(path, f"cannot open: {_reason(exc)}") from None


def _stream_info(path: Path, container: Any) -> tuple[Any, VideoInfo]:
    if not container.streams.video:
        raise VideoDecodeError(path, "no video stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width <= 0 or height <= 0:
        raise VideoDecodeError(path, "video stream has no frame size (damaged header?)")
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if not math.isfinite(fps) or fps <= 0:
        logger.debug("%s: unknown frame rate, assuming %s", path, _FALLBACK_FPS)
        fps = _FALLBACK_FPS
    tb = stream.time_base or Fraction(1, 1)
    start = float(stream.start_time * tb) if stream.start_time is not None else 0.0
    if stream.duration is not None:
        duration = float(stream.duration * tb)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    declared = int(stream.frames or 0)
    num = declared if declared > 0 else max(round(duration * fps), 0)
    info = VideoInfo(
        width=width,
        height=height,
        fps=fps,
        declared_frames=declared,
        num_frames=num,
        duration=duration,
        start=start,
        codec=str(ctx.name),
    )
    return stream, info


def probe_video(path: str | Path) -> VideoInfo:
    """Read a video's stream metadata without decoding frames.

    Raises:
        VideoDecodeError: If the file cannot be opened or has no video stream.
    """
    p = Path(path)
    container = _open(p)
    try:
        return _stream_info(p, container)[1]
    finally:
        container.close()


class VideoReader:
    """Random access to frames of one video file by index at a target frame rate.

    Args:
        path: The video file.
        target_fps: Frame rate that indices refer to; None means the video's own rate.
        threads: Decoder threads; 0 decodes in the calling thread (best inside DataLoader
            workers), >0 enables FFmpeg's automatic (frame/slice) threading.

    Raises:
        VideoDecodeError: If the file cannot be opened or has no video stream.
    """

    def __init__(
        self, path: str | Path, *, target_fps: float | None = None, threads: int = 0
    ) -> None:
        self.path = Path(path)
        if target_fps is not None and target_fps <= 0:
            raise ValueError(f"target_fps must be positive, got {target_fps}")
        self._container = _open(self.path)
        try:
            self._stream, self.info = _stream_info(self.path, self._container)
        except BaseException:
            self._container.close()
            raise
        if threads > 0:
            self._stream.thread_type = "AUTO"
            self._stream.thread_count = threads
        self.target_fps = float(target_fps) if target_fps is not None else self.info.fps
        self._fresh = True
        self._reformatter = VideoReformatter()

    # ------------------------------------------------------------------ metadata
    @property
    def num_frames(self) -> int:
        """Number of frame indices at the target frame rate (at least 1)."""
        native = self.info.num_frames
        if self.target_fps == self.info.fps:
            return max(native, 1)
        return max(math.floor(native * self.target_fps / self.info.fps + 1e-6), 1)

    # ------------------------------------------------------------------ decoding
    def read(
        self,
        indices: Sequence[int] | np.ndarray,
        *,
        layout: Layout = "THWC",
        size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Decode the frames at ``indices`` (any order, repeats allowed).

        Args:
            indices: Frame indices at the target frame rate, each >= 0.
            layout: ``"THWC"`` gives (T, H, W, 3), ``"CTHW"`` gives (3, T, H, W).
            size: Optional (height, width) to scale frames to during RGB conversion.

        Returns:
            uint8 tensor of the frames in the order of ``indices``.

        Raises:
            VideoDecodeError: On a decode error or a stream that ends before the frames
                its container declares.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            raise ValueError("indices must not be empty")
        if int(idx.min()) < 0:
            raise ValueError("frame indices must be >= 0")
        uniq = np.unique(idx)
        frames = self._decode_sorted([int(k) for k in uniq], size)
        if uniq.size != idx.size or not np.array_equal(uniq, idx):
            frames = frames[np.searchsorted(uniq, idx)]
        out = torch.from_numpy(frames)
        if layout == "CTHW":
            out = out.permute(3, 0, 1, 2).contiguous()
        elif layout != "THWC":
            raise ValueError(f"layout must be 'THWC' or 'CTHW', got {layout!r}")
        return out

    def _decode_sorted(self, targets: list[int], size: tuple[int, int] | None) -> np.ndarray:
        try:
            try:
                return self._decode_pass(targets, size, allow_seek=True)
            except _SeekedPastTargetError:
                logger.debug("%s: seek landed after the first target; decoding from start", self)
                return self._decode_pass(targets, size, allow_seek=False)
        except VideoDecodeError:
            raise
        except Exception as exc:
            raise VideoDecodeError(self.path, f"decode error: {_reason(exc)}") from None

    def _decode_pass(
        self, targets: list[int], size: tuple[int, int] | None, *, allow_seek: bool
    ) -> np.ndarray:
        info = self.info
        h, w = size if size is not None else (info.height, info.width)
        times = [info.start + k / self.target_fps for k in targets]
        half = 0.5 / info.fps
        seeked = self._seek(times[0] - half if allow_seek else None)
        out = np.empty((len(targets), h, w, 3), dtype=np.uint8)
        p, last, last_t = 0, None, info.start
        for n_dec, frame in enumerate(self._container.decode(self._stream)):
            t = float(frame.time) if frame.time is not None else info.start + n_dec / info.fps
            if n_dec == 0 and seeked and t > times[0] + half:
                raise _SeekedPastTargetError
            arr = None
            while p < len(targets) and times[p] < t + half:
                if arr is None:
                    arr = self._rgb(frame, h, w)
                out[p] = arr
                p += 1
            last, last_t = frame, t
            if p == len(targets):
                return out
        if last is None:
            raise VideoDecodeError(self.path, "no frames could be decoded")
        reached = round((last_t - info.start) * info.fps) + 1
        if info.declared_frames > 0 and reached < info.declared_frames - 1:
            raise VideoDecodeError(
                self.path,
                f"stream ends at frame {reached} of {info.declared_frames} declared (truncated)",
            )
        out[p:] = self._rgb(last, h, w)  # pad with the last frame (estimated frame counts)
        return out

    def _seek(self, time_s: float | None) -> bool:
        """Seek to the keyframe at or before ``time_s``; return True when a seek happened."""
        if time_s is None or time_s <= self.info.start:
            if not self._fresh:
                self._container.seek(0)
            self._fresh = False
            return False
        self._fresh = False
        tb = self._stream.time_base or Fraction(1, 1)
        self._container.seek(
            math.floor(time_s / tb), stream=self._stream, backward=True, any_frame=False
        )
        return True

    def _rgb(self, frame: Any, h: int, w: int) -> np.ndarray:
        # One reformatter per reader keeps swscale's context (and its scaling filters)
        # across frames; a frame's own to_ndarray(width=, height=) rebuilds it every time.
        rgb = self._reformatter.reformat(frame, width=w, height=h, format="rgb24")
        out: np.ndarray = rgb.to_ndarray()
        return out

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the container."""
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r})"


class _SeekedPastTargetError(Exception):
    """The keyframe seek landed after the first wanted frame."""


def decode_clip(
    path: str | Path,
    indices: Sequence[int] | np.ndarray,
    *,
    target_fps: float | None = None,
    layout: Layout = "THWC",
    size: tuple[int, int] | None = None,
    threads: int = 0,
) -> torch.Tensor:
    """Open ``path``, decode the frames at ``indices`` and close it.

    Args:
        path: The video file.
        indices: Frame indices at ``target_fps`` (the native rate when None).
        target_fps: Frame rate that indices refer to.
        layout: ``"THWC"`` -> (T, H, W, 3) or ``"CTHW"`` -> (3, T, H, W).
        size: Optional (height, width) to scale frames to.
        threads: Decoder threads (0 = none).

    Returns:
        uint8 tensor of the requested frames.

    Raises:
        VideoDecodeError: If the file cannot be decoded.
    """
    with VideoReader(path, target_fps=target_fps, threads=threads) as reader:
        return reader.read(indices, layout=layout, size=size)


def count_decodable_frames(path: str | Path) -> tuple[int, VideoInfo]:
    """Decode every frame of ``path`` (without RGB conversion) and count them.

    Returns:
        The number of frames decoded and the stream metadata.

    Raises:
        VideoDecodeError: If the file cannot be opened or a decode error occurs; the reason
            says at which frame.
    """
    p = Path(path)
    container = _open(p)
    try:
        _, info = _stream_info(p, container)
        n = 0
        try:
            for _ in container.decode(video=0):
                n += 1
        except Exception as exc:
            raise VideoDecodeError(p, f"decode error after frame {n}: {_reason(exc)}") from None
        return n, info
    finally:
        container.close()
