"""Pixel normalisation ``(rgb / 255 - mean) / std``, in workers or on the consumer side.

Datasets normalise in their DataLoader workers by default (float32 clips). With
``output="uint8"`` they ship uint8 clips instead (4x fewer bytes to crop, collate, pass
between processes and copy to the GPU) and the consumer normalises each batch after it
arrives with :func:`normalize_batch`, on the GPU in real training::

    loader = make_loader(ClipDataset(..., output="uint8"), 16, workers=8, shuffle=True,
                         seed=0, pin_memory=True)
    for clips, labels in loader:
        sparse, dense = normalize_batch(clips, device="cuda")

The channel axis is always dimension ``-4``: (3, T, H, W) clips, (B, 3, T, H, W) batches,
(B, V, 3, T, H, W) batches of test views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import torch

from autotsnet.data.errors import DataError

__all__ = ["KINETICS_MEAN", "KINETICS_STD", "normalize_", "normalize_batch"]

KINETICS_MEAN: tuple[float, float, float] = (0.45, 0.45, 0.45)
"""Per-channel RGB mean in [0, 1] (PySlowFast / X3D Kinetics default)."""
KINETICS_STD: tuple[float, float, float] = (0.225, 0.225, 0.225)
"""Per-channel RGB std in [0, 1] (PySlowFast / X3D Kinetics default)."""


def normalize_(
    x: torch.Tensor,
    mean: tuple[float, float, float] = KINETICS_MEAN,
    std: tuple[float, float, float] = KINETICS_STD,
) -> torch.Tensor:
    """In place: floating ``x`` holding 0-255 values -> ``(x / 255 - mean) / std``.

    The channel axis is dimension ``-4``. Workers and :func:`normalize_batch` both use this,
    so both give bit-identical results on the same device.
    """
    if len(set(mean)) == 1 and len(set(std)) == 1:
        return x.sub_(255.0 * mean[0]).mul_(1.0 / (255.0 * std[0]))
    shape = (len(mean), 1, 1, 1)
    m = torch.tensor([255.0 * v for v in mean], dtype=x.dtype, device=x.device)
    s = torch.tensor([1.0 / (255.0 * v) for v in std], dtype=x.dtype, device=x.device)
    return x.sub_(m.view(shape)).mul_(s.view(shape))


def _normalize_one(
    x: torch.Tensor,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    device: torch.device | str | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    if x.dtype != torch.uint8:
        raise DataError(
            f"normalize_batch expects uint8 clips (dataset output='uint8'), got {x.dtype}"
        )
    if x.dim() < 4 or x.shape[-4] != len(mean):
        raise DataError(
            f"normalize_batch expects (..., {len(mean)}, T, H, W) clips, got {tuple(x.shape)}"
        )
    if device is not None:
        # Copy the uint8 batch (4x fewer bytes than float32) before converting it.
        x = x.to(device, non_blocking=x.is_pinned())
    work = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    out = normalize_(x.to(work), mean, std)
    return out if work == dtype else out.to(dtype)


@overload
def normalize_batch(
    clips: torch.Tensor,
    mean: tuple[float, float, float] = ...,
    std: tuple[float, float, float] = ...,
    *,
    device: torch.device | str | None = ...,
    dtype: torch.dtype = ...,
) -> torch.Tensor: ...


@overload
def normalize_batch(
    clips: Sequence[torch.Tensor],
    mean: tuple[float, float, float] = ...,
    std: tuple[float, float, float] = ...,
    *,
    device: torch.device | str | None = ...,
    dtype: torch.dtype = ...,
) -> tuple[torch.Tensor, ...]: ...


def normalize_batch(
    clips: torch.Tensor | Sequence[torch.Tensor],
    mean: tuple[float, float, float] = KINETICS_MEAN,
    std: tuple[float, float, float] = KINETICS_STD,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Normalise uint8 clips on the consumer side: move, convert, ``(x / 255 - mean) / std``.

    Args:
        clips: One uint8 tensor with channels at dimension -4 ((3, T, H, W),
            (B, 3, T, H, W) or (B, V, 3, T, H, W)), or a sequence of them (one per stream,
            e.g. the ``clips`` of a ``ClipDataset(output="uint8")`` batch).
        mean: Per-channel mean in [0, 1] (use the dataset's: ``transform.mean``).
        std: Per-channel std in [0, 1].
        device: Where to normalise; the uint8 tensor is copied there first (non-blocking
            when it is pinned). None: where it already is.
        dtype: Floating output dtype; half types are computed in float32, then cast.

    Returns:
        The normalised tensor, or a tuple of them when a sequence was given.

    Raises:
        DataError: If a tensor is not uint8 or has no channel axis of ``len(mean)`` at -4.
    """
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating type, got {dtype}")
    if isinstance(clips, torch.Tensor):
        return _normalize_one(clips, mean, std, device, dtype)
    return tuple(_normalize_one(c, mean, std, device, dtype) for c in clips)
