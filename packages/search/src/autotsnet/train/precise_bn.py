"""Precise BN: recompute BatchNorm running statistics over many batches (X3D recipe).

Running averages with momentum lag behind the weights; at an epoch end PySlowFast/X3D
replace them by the plain average over 200 training batches (fvcore ``update_bn_stats``).
Only the BN layers run in training mode here, so dropout does not fire and no global RNG is
consumed. Under DDP the per-process averages are averaged across processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn

from autotsnet.train.distributed import DistInfo, all_reduce_sum

__all__ = ["recalibrate_bn"]

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@torch.no_grad()
def recalibrate_bn(
    model: nn.Module,
    batches: Iterable[Any],
    *,
    num_batches: int,
    forward: Callable[[Any], None],
    autocast: Callable[[], AbstractContextManager[Any]],
    info: DistInfo,
) -> int:
    """Replace every BN layer's running mean/var by its average over ``num_batches``.

    Args:
        model: The network (unwrapped or DDP-wrapped).
        batches: Training batches (only the first ``num_batches`` are used).
        num_batches: Batches to average over.
        forward: Runs the model on one batch.
        autocast: Mixed-precision context factory.
        info: Distributed setup (statistics are averaged across processes).

    Returns:
        Batches actually used (0 when the model has no BN layer).
    """
    bns = [m for m in model.modules() if isinstance(m, _BN) and m.track_running_stats]
    if not bns or num_batches < 1:
        return 0
    was_training = model.training
    model.eval()
    saved_momentum = [bn.momentum for bn in bns]
    saved_stats = [{k: v.clone() for k, v in bn.state_dict().items()} for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average = exact mean over the batches
        bn.train()
    used = 0
    try:
        with autocast():
            for batch in batches:
                if used >= num_batches:
                    break
                forward(batch)
                used += 1
    finally:
        for bn, momentum in zip(bns, saved_momentum, strict=True):
            bn.momentum = momentum
        model.train(was_training)
    if used == 0:
        for bn, stats in zip(bns, saved_stats, strict=True):
            bn.load_state_dict(stats)
        return 0
    if info.distributed:
        for bn in bns:
            for buf in (bn.running_mean, bn.running_var):
                assert buf is not None
                buf.copy_(all_reduce_sum(buf, info) / info.world_size)
    return used
