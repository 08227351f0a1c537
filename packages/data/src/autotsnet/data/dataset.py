"""Torch datasets: two-stream training clips and multi-view test views.

Damaged videos never raise out of ``__getitem__``:

* :class:`ClipDataset` in training mode replaces the item with another one drawn with a
  seeded RNG (``seed``, epoch, index, attempt) and records the failure; in evaluation mode
  (``train=False``) it returns zero clips with label :data:`IGNORE_LABEL` (-1).
* :class:`ViewDataset` returns ``ok=False``, the reason, and zero tensors of the normal
  shape (so batches still collate).

Both record every failure in a :class:`~autotsnet.data.failures.FailureLog` shared by
all DataLoader workers through small files; read ``dataset.failures`` (one record per
file) or ``dataset.failure_log.summary()`` (for a metrics JSON) in the main process.

Both datasets give float32 normalised clips by default. With ``output="uint8"`` they give
the same crops as uint8 (before normalisation) and leave the conversion to the consumer:
:func:`~autotsnet.data.normalize.normalize_batch` on each batch (after moving it to the
GPU) gives the float32 clips of the default mode, to rounding. Workers then do no float
work and collate and pass 4x fewer bytes (``tools/bench/data.py``).

Randomness of a training sample depends only on ``(seed, epoch, index)``. Pass
``(index, epoch)`` keys (what :func:`autotsnet.data.loader.make_loader` does), or call
:meth:`ClipDataset.set_epoch` when not using worker processes.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from autotsnet.data.datasets import VideoItem
from autotsnet.data.decode import VideoReader
from autotsnet.data.errors import DataError, VideoDecodeError
from autotsnet.data.failures import FailureLog
from autotsnet.data.normalize import KINETICS_MEAN, KINETICS_STD, normalize_
from autotsnet.data.sampling import ClipSampler, ShortVideo, StreamSampling
from autotsnet.data.transforms import TrainTransform, to_cthw
from autotsnet.data.views import TestViews

__all__ = ["IGNORE_LABEL", "ClipDataset", "ClipOutput", "ViewDataset"]

logger = logging.getLogger(__name__)

IGNORE_LABEL = -1
"""Label of a failed sample in evaluation mode (use as ``ignore_index``)."""

Clips = tuple[torch.Tensor, ...]

ClipOutput = Literal["float32", "uint8"]
"""What datasets return: normalised float32 clips, or uint8 clips for :func:`normalize_batch`."""


def _check_output(output: str) -> ClipOutput:
    if output == "float32":
        return "float32"
    if output == "uint8":
        return "uint8"
    raise ValueError(f"output must be 'float32' or 'uint8', got {output!r}")


def _take(clip: torch.Tensor, positions: np.ndarray) -> torch.Tensor:
    """Frames ``positions`` of a contiguous (3, U, H, W) clip (the clip itself if all, in order)."""
    if positions.size == clip.shape[1] and bool((positions == np.arange(positions.size)).all()):
        return clip
    return clip.index_select(1, torch.from_numpy(positions))


def _dtype(output: ClipOutput) -> torch.dtype:
    return torch.uint8 if output == "uint8" else torch.float32


def _key(key: int | tuple[int, int], default_epoch: int) -> tuple[int, int]:
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return int(key), default_epoch


class ClipDataset(Dataset[tuple[Clips, int]]):
    """One two-stream clip per video: ``(clips, label)``.

    ``clips[k]`` is float32 (3, T_k, crop, crop), normalised, for stream ``k`` (sparse
    first); uint8 with ``output="uint8"``. All streams come from one clip window and share
    one spatial crop.

    Args:
        items: The videos.
        samplings: Stream samplings (see :func:`autotsnet.data.sampling_from_genome`).
        transform: Spatial transform; default :class:`TrainTransform` ().
        seed: Seed of window, crop, flip and replacement choices.
        train: Random window and crop, replace damaged videos. When False: the centre
            window, short side ``transform.scale[0]``, centre crop, no replacement.
        target_fps: Frame rate the strides refer to (None: each video's own rate).
        short: Short-video policy, ``"pad"`` or ``"loop"``.
        max_retries: Replacements tried for one index before giving up with DataError.
        failure_log: Where failures go; default: a new temporary log.
        output: ``"float32"`` (normalised) or ``"uint8"`` (not normalised: apply
            ``normalize_batch(clips, transform.mean, transform.std)`` to each batch).
            Failed evaluation samples are zeros in either dtype.
    """

    accepts_epoch_keys = True

    def __init__(
        self,
        items: Sequence[VideoItem],
        samplings: Sequence[StreamSampling],
        transform: TrainTransform | None = None,
        *,
        seed: int,
        train: bool = True,
        target_fps: float | None = None,
        short: ShortVideo = "pad",
        max_retries: int = 32,
        failure_log: FailureLog | None = None,
        output: ClipOutput = "float32",
    ) -> None:
        if not items:
            raise DataError("ClipDataset: no videos")
        self.output = _check_output(output)
        self.items = list(items)
        self.sampler = ClipSampler(tuple(samplings), short)
        self.transform = transform or TrainTransform()
        self.seed = seed
        self.train = train
        self.target_fps = target_fps
        self.max_retries = max_retries
        self.failure_log = failure_log or FailureLog()
        self.epoch = 0
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for plain integer keys (in this process only)."""
        self.epoch = epoch

    @property
    def failures(self) -> list[dict[str, str]]:
        """One ``{path, reason}`` per damaged file seen so far, by any worker."""
        return self.failure_log.records()

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[Clips, int]:
        index, epoch = _key(key, self.epoch)
        if not self.train:
            return self._eval_item(index)
        current = index
        for attempt in range(self.max_retries + 1):
            rng = random.Random(f"{self.seed}:{epoch}:{index}:{attempt}")
            item = self.items[current]
            try:
                return self._load(item, rng), item.label
            except VideoDecodeError as exc:
                self._fail(current, exc)
                current = self._replacement(current, rng)
        raise DataError(
            f"gave up after {self.max_retries} damaged videos in a row (last: {item.path})"
        )

    def _eval_item(self, index: int) -> tuple[Clips, int]:
        item = self.items[index]
        try:
            return self._load(item, None), item.label
        except VideoDecodeError as exc:
            self._fail(index, exc)
            c, dtype = self.transform.crop, _dtype(self.output)
            zeros = tuple(
                torch.zeros(3, s.frames, c, c, dtype=dtype) for s in self.sampler.samplings
            )
            return zeros, IGNORE_LABEL

    def _fail(self, index: int, exc: VideoDecodeError) -> None:
        self._bad.add(index)
        logger.warning("skipping damaged video %s: %s", exc.path, exc.reason)
        self.failure_log.record(exc.path, exc.reason)

    def _replacement(self, current: int, rng: random.Random) -> int:
        n = len(self.items)
        if n == 1:
            return current
        for _ in range(8):
            cand = rng.randrange(n - 1)
            cand = cand + 1 if cand >= current else cand
            if cand not in self._bad:
                return cand
        return cand

    def _load(self, item: VideoItem, rng: random.Random | None) -> Clips:
        tf = self.transform
        with VideoReader(item.path, target_fps=self.target_fps) as reader:
            n = reader.num_frames
            if rng is None:
                start = self.sampler.test_starts(n, 1)[0]
            else:
                start = self.sampler.train_start(n, rng)
            union, positions = self.sampler.union(self.sampler.indices(start, n))
            h, w = reader.info.height, reader.info.width
            params = tf.sample(h, w, rng) if rng is not None else tf.center(h, w)
            frames = reader.read(union)
        # Only the crop's source region is resized (swscale resizing per frame is slower);
        # the union is cropped, flipped and transposed once, then each stream takes its frames.
        clip = tf.apply(frames, params)
        clips = tuple(_take(clip, p) for p in positions)
        if self.output == "uint8":
            return clips
        return tuple(tf.normalize(c) for c in clips)


class ViewDataset(Dataset[tuple[Clips, int, bool, str]]):
    """All test views of one video as one batch: ``(views, label, ok, reason)``.

    ``views[k]`` is float32 (V, 3, T_k, crop, crop) for stream ``k``, V = clips x crops,
    clip-major (uint8 with ``output="uint8"``). A damaged video gives ``ok=False``, its
    reason, and zero tensors.

    Args:
        items: The videos.
        samplings: Stream samplings (sparse first).
        views: The view protocol, e.g. ``TestViews.parse("10x3")``.
        target_fps: Frame rate the strides refer to (None: each video's own rate).
        short: Short-video policy.
        mean: Normalisation mean in [0, 1].
        std: Normalisation std in [0, 1].
        failure_log: Where failures go; default: a new temporary log.
        output: ``"float32"`` (normalised) or ``"uint8"`` (apply
            ``normalize_batch(views, mean, std)`` to each batch).
    """

    def __init__(
        self,
        items: Sequence[VideoItem],
        samplings: Sequence[StreamSampling],
        views: TestViews,
        *,
        target_fps: float | None = None,
        short: ShortVideo = "pad",
        mean: tuple[float, float, float] = KINETICS_MEAN,
        std: tuple[float, float, float] = KINETICS_STD,
        failure_log: FailureLog | None = None,
        output: ClipOutput = "float32",
    ) -> None:
        if not items:
            raise DataError("ViewDataset: no videos")
        self.output = _check_output(output)
        self.items = list(items)
        self.sampler = ClipSampler(tuple(samplings), short)
        self.views = views
        self.target_fps = target_fps
        self.mean, self.std = mean, std
        self.failure_log = failure_log or FailureLog()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def failures(self) -> list[dict[str, str]]:
        """One ``{path, reason}`` per damaged file seen so far, by any worker."""
        return self.failure_log.records()

    def __getitem__(self, index: int) -> tuple[Clips, int, bool, str]:
        item = self.items[index]
        try:
            return self._load(item.path), item.label, True, ""
        except VideoDecodeError as exc:
            logger.warning("cannot evaluate %s: %s", exc.path, exc.reason)
            self.failure_log.record(exc.path, exc.reason)
            v, c, dtype = self.views.num_views, self.views.crop, _dtype(self.output)
            zeros = tuple(
                torch.zeros(v, 3, s.frames, c, c, dtype=dtype) for s in self.sampler.samplings
            )
            return zeros, item.label, False, exc.reason

    def _load(self, path: Path) -> Clips:
        with VideoReader(path, target_fps=self.target_fps) as reader:
            n = reader.num_frames
            starts = self.sampler.test_starts(n, self.views.clips)
            per_clip = [self.sampler.indices(s, n) for s in starts]
            union, _ = self.sampler.union(tuple(i for clip in per_clip for i in clip))
            size = self.views.scaled_size(reader.info.height, reader.info.width)
            frames = reader.read(union, size=size)
        crops = [to_cthw(c) for c in self.views.crop_all(frames)]  # each (3, U, c, c) uint8
        out = []
        for k in range(len(self.sampler.samplings)):
            pos = [union.searchsorted(clip[k]) for clip in per_clip]
            views = torch.stack([_take(crop, p) for p in pos for crop in crops])
            if self.output == "float32":
                views = normalize_(views.to(torch.float32), self.mean, self.std)
            out.append(views)
        return tuple(out)
