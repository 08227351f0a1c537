"""Decode a video once and build all its test views, exactly as ``autotsnet eval`` does.

This follows :class:`autotsnet.data.ViewDataset` step by step (same sampler, same
``TestViews`` crops, same normalisation), so that an exported model fed by
:func:`decode_views` sees the tensors the PyTorch evaluation sees; a test asserts they are
equal. It exists because the data layer exposes that logic only through a torch
``Dataset`` whose damaged-video handling (zero tensors plus a failure log on disk) is meant
for evaluation runs, not for a long-running server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from autotsnet.data.decode import VideoReader
from autotsnet.data.sampling import ClipSampler, ShortVideo, StreamSampling
from autotsnet.data.transforms import normalize
from autotsnet.data.views import TestViews
from autotsnet.infer.errors import InferError
from autotsnet.infer.spec import ExportSpec

__all__ = ["ViewBuilder", "decode_views"]


def decode_views(
    path: str | Path,
    sampler: ClipSampler,
    views: TestViews,
    *,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    target_fps: float | None = None,
) -> tuple[torch.Tensor, ...]:
    """All views of one video, per stream: float32 ``(V, 3, T_k, crop, crop)``, clip-major.

    Raises:
        VideoDecodeError: If the video cannot be decoded.
    """
    with VideoReader(path, target_fps=target_fps) as reader:
        n = reader.num_frames
        starts = sampler.test_starts(n, views.clips)
        per_clip = [sampler.indices(s, n) for s in starts]
        union, _ = sampler.union(tuple(i for clip in per_clip for i in clip))
        size = views.scaled_size(reader.info.height, reader.info.width)
        frames = reader.read(union, size=size)
    crops = views.crop_all(frames)
    out = []
    for k in range(len(sampler.samplings)):
        pos = [torch.from_numpy(union.searchsorted(clip[k])) for clip in per_clip]
        batch = [normalize(crop[p], mean, std) for p in pos for crop in crops]
        out.append(torch.stack(batch))
    return tuple(out)


@dataclass(frozen=True)
class ViewBuilder:
    """The view protocol of an exported model, ready to turn a video into model inputs.

    Attributes:
        sampler: Clip sampler of the model's streams (sparse first).
        views: Clips x crops, short side and crop size.
        mean: Normalisation mean.
        std: Normalisation std.
        target_fps: Frame rate strides refer to.
    """

    sampler: ClipSampler
    views: TestViews
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    target_fps: float | None = None

    @classmethod
    def from_spec(cls, spec: ExportSpec, views: str | None = None) -> ViewBuilder:
        """Protocol of an export; ``views`` (``CLIPSxCROPS``) overrides its default.

        The crop is always the exported crop; the short side is the genome's test short side.
        """
        pre = spec.preprocess
        text = views or pre.views
        try:
            parsed = TestViews.parse(text, short_side=pre.short_side, center_crop=pre.crop)
        except ValueError as exc:
            raise InferError(f"--views: {exc}") from None
        tv = TestViews(
            clips=parsed.clips, crops=parsed.crops, short_side=pre.short_side, crop=pre.crop
        )
        samplings = [StreamSampling(s.frames or 1, s.temporal_stride or 1) for s in spec.inputs]
        short: ShortVideo = "loop" if pre.short_video == "loop" else "pad"
        return cls(ClipSampler(tuple(samplings), short), tv, pre.mean, pre.std, pre.target_fps)

    @classmethod
    def create(
        cls,
        samplings: Sequence[StreamSampling],
        views: TestViews,
        *,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        target_fps: float | None = None,
        short: ShortVideo = "pad",
    ) -> ViewBuilder:
        """A builder from explicit parts (e.g. a PyTorch checkpoint's genome)."""
        return cls(ClipSampler(tuple(samplings), short), views, mean, std, target_fps)

    @property
    def num_views(self) -> int:
        """Views per video."""
        return self.views.num_views

    def __call__(self, path: str | Path) -> tuple[torch.Tensor, ...]:
        """Decode ``path`` once and return every stream's views (see :func:`decode_views`)."""
        return decode_views(
            path, self.sampler, self.views, mean=self.mean, std=self.std, target_fps=self.target_fps
        )
