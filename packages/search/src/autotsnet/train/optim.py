"""SGD with momentum, no weight decay on BN or bias, and a per-step warmup + cosine schedule.

The schedule (X3D / PySlowFast ``cosine`` with linear warmup, applied per step)::

    lr(s) = lr * (w0 + (1 - w0) * s / W)                                  s <  W
    lr(s) = lr * (m + (1 - m) * (1 + cos(pi * (s - W) / (S - W))) / 2)    s >= W

with ``W`` warmup steps, ``S`` total steps, ``w0 = warmup_start`` and ``m = min_lr``.
"""

from __future__ import annotations

import math
from functools import partial

from torch import nn
from torch.optim import SGD, AdamW, Optimizer
from torch.optim.lr_scheduler import LambdaLR

from autotsnet.train.config import TrainConfig

__all__ = ["build_optimizer", "build_scheduler", "lr_factor", "param_groups"]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Two groups: conv/linear weights with ``weight_decay``; BN/bias/1-d params without.

    Every parameter with fewer than 2 dimensions (BN/LayerNorm scale and shift, biases)
    goes to the no-decay group, as in X3D (``BN.WEIGHT_DECAY = 0``).
    """
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for _, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(model: nn.Module, config: TrainConfig) -> Optimizer:
    """SGD with momentum (or AdamW, ``config.optimizer``) over :func:`param_groups`."""
    if config.optimizer == "adamw":
        return AdamW(param_groups(model, config.weight_decay), lr=config.lr)
    return SGD(
        param_groups(model, config.weight_decay),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov and config.momentum > 0,
    )


def lr_factor(step: int, *, total: int, warmup: int, warmup_start: float, min_lr: float) -> float:
    """Multiplier of the peak lr at optimizer step ``step`` (see the module docstring)."""
    if warmup > 0 and step < warmup:
        return warmup_start + (1.0 - warmup_start) * step / warmup
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    return min_lr + (1.0 - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: Optimizer, config: TrainConfig, steps_per_epoch: int) -> LambdaLR:
    """Per-step warmup + cosine; call ``scheduler.step()`` after every optimizer step."""
    total = config.epochs * steps_per_epoch
    warmup = min(round(config.warmup * steps_per_epoch), total)
    fn = partial(
        lr_factor,
        total=total,
        warmup=warmup,
        warmup_start=config.warmup_start,
        min_lr=config.min_lr,
    )
    return LambdaLR(optimizer, fn)
