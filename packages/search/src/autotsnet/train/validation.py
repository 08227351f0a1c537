"""Epoch-end validation on centre clips: loss, top-1 and top-5, summed over DDP processes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from autotsnet.train.active_units import ActiveUnits
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
    hidden: nn.Module | None = None,
    hidden_width: int | None = None,
) -> dict[str, float]:
    """``val_loss``, ``val_top1`` and ``val_top5`` over this process's batches and all others'.

    Labels < 0 (``IGNORE_LABEL``: damaged videos) are left out. ``net`` is put in eval mode;
    the caller restores training mode. Every process must call this (it reduces).

    With ``hidden`` (a module whose output is the classifier head's hidden layer: the
    linear layer before its ReLU, or any module fed by the ReLU, such as the head's dropout)
    it also returns ``head_alive_units``: how many of its units are positive on at least one
    validation clip, and ``head_hidden_units`` (``hidden_width``, by default ``hidden``'s
    ``out_features``). A unit that is negative on every clip gets no gradient again (a dead
    ReLU); with none left the network gives every clip the same logits.
    """
    width = hidden_width
    if hidden is not None and width is None:
        if not isinstance(hidden, nn.Linear):
            raise ValueError("hidden_width is needed when hidden is not an nn.Linear")
        width = hidden.out_features
    net.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=device)
    k = min(5, num_classes)
    units = ActiveUnits(hidden) if hidden is not None else None
    with units if units is not None else nullcontext():
        _score(net, batches, sums, k, autocast)
    total = all_reduce_sum(sums, info)
    n = max(float(total[3]), 1.0)
    out = {
        "val_loss": float(total[0]) / n,
        "val_top1": float(total[1]) / n,
        "val_top5": float(total[2]) / n,
    }
    if width is not None and units is not None:
        seen = torch.zeros(width, device=device)
        if units.mask is not None:
            seen += units.mask.to(seen.dtype)
        out["head_alive_units"] = int((all_reduce_sum(seen, info) > 0).sum())
        out["head_hidden_units"] = width
    return out


def _score(
    net: nn.Module,
    batches: Iterable[tuple[list[torch.Tensor], torch.Tensor]],
    sums: torch.Tensor,
    k: int,
    autocast: Callable[[], AbstractContextManager[Any]],
) -> None:
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
