"""Epoch-end validation on centre clips: loss, top-1 and top-5, summed over DDP processes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from autotsnet.train.distributed import DistInfo, all_reduce_sum

__all__ = ["validate"]


@torch.no_grad()
def validate(
    net: nn.Module,
    batches: Iterable[tuple[list[torch.Tensor], torch.Tensor]],
    *,
    num_classes: int,
    autocast: Callable[[], AbstractContextManager[Any]],
    info: DistInfo,
    device: torch.device,
) -> dict[str, float]:
    """``val_loss``, ``val_top1`` and ``val_top5`` over this process's batches and all others'.

    Labels < 0 (``IGNORE_LABEL``: damaged videos) are left out. ``net`` is put in eval mode;
    the caller restores training mode. Every process must call this (it reduces).
    """
    net.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=device)
    k = min(5, num_classes)
    for clips, labels in batches:
        keep = labels >= 0
        if not bool(keep.any()):
            continue
        with autocast():
            logits = net(*clips).float()[keep]
        labels = labels[keep]
        top = logits.topk(k, dim=1).indices
        sums += torch.stack(
            [
                F.cross_entropy(logits, labels, reduction="sum").double(),
                (top[:, 0] == labels).sum().double(),
                (top == labels[:, None]).any(1).sum().double(),
                sums.new_tensor(float(labels.numel())),
            ]
        )
    total = all_reduce_sum(sums, info)
    n = max(float(total[3]), 1.0)
    return {
        "val_loss": float(total[0]) / n,
        "val_top1": float(total[1]) / n,
        "val_top5": float(total[2]) / n,
    }
