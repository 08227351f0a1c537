"""Seeded random weights that exercise the whole graph (for latency work and parity checks).

A freshly built network is a poor parity target: the last BN of every MBConv3D block and
of every GloRe unit starts with gamma = 0, so every residual branch outputs zero and an
export could get those branches wrong without changing the logits. :func:`randomize`
gives every parameter a seeded value, calibrates the BN running statistics on random clips
(as precise-BN does on data), floors their variances, and scales the classifier so the
logits have unit standard deviation. The result is deterministic for a seed and never
touches the global RNG.

Conditioning matters, because the parity check compares fp32 runtimes at 1e-4: with every
BN gamma in [0.5, 1], the 22 residual blocks of full-size auto_tsnet_s amplify rounding
noise so much that PyTorch fp32 itself drifted from fp64 by about 1e-4. So the BNs
the model zero-initialises (residual-branch outputs) get gamma in [0.1, 0.3], and those of
GloRe units (whose branch is cubic in its input) [0.05, 0.1]; the branches still carry
10-30% of the signal, far more than any export bug could hide in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from autotsnet.models.blocks.glore import GloRe3D

__all__ = ["randomize"]

_VAR_FLOOR = 1e-3
_VAR_REL_FLOOR = 0.05


def _gamma_range(bn: _BatchNorm, cubic: bool) -> tuple[float, float]:
    if cubic:
        return 0.05, 0.1
    if bn.weight is not None and bool(torch.all(bn.weight == 0)):
        return 0.1, 0.3  # zero-initialised by the model: a residual branch's output
    return 0.5, 1.0


def _fan_in(weight: torch.Tensor) -> int:
    return max(1, weight[0].numel()) if weight.dim() > 1 else max(1, weight.numel())


@torch.no_grad()
def randomize(
    model: nn.Module,
    make_inputs: Callable[[torch.Generator], Sequence[torch.Tensor]],
    *,
    seed: int = 0,
    calibration_steps: int = 2,
) -> nn.Module:
    """Give ``model`` seeded random weights with calibrated BN statistics, in place.

    Args:
        model: The network.
        make_inputs: Draws one batch of model inputs from a generator.
        seed: Seed of weights and calibration inputs.
        calibration_steps: Train-mode forward passes that set the BN statistics.

    Returns:
        ``model``, in eval mode.
    """
    gen = torch.Generator().manual_seed(seed)
    last_linear: nn.Linear | None = None
    cubic = {id(m.blocker) for m in model.modules() if isinstance(m, GloRe3D)}
    for mod in model.modules():
        if isinstance(mod, _BatchNorm):
            if mod.weight is not None and mod.bias is not None:
                low, high = _gamma_range(mod, id(mod) in cubic)
                mod.weight.copy_(low + (high - low) * torch.rand(mod.weight.shape, generator=gen))
                mod.bias.copy_(0.1 * low / 0.5 * torch.randn(mod.bias.shape, generator=gen))
            continue
        if isinstance(mod, nn.Linear):
            last_linear = mod
        weight = getattr(mod, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.dim() > 1:
            bound = 1.0 / math.sqrt(_fan_in(weight))
            weight.copy_((torch.rand(weight.shape, generator=gen) * 2 - 1) * bound)
            bias = getattr(mod, "bias", None)
            if isinstance(bias, torch.Tensor):
                bias.copy_((torch.rand(bias.shape, generator=gen) * 2 - 1) * bound)
    _calibrate_bn(model, make_inputs, gen, calibration_steps)
    if last_linear is not None:
        logits = model(*make_inputs(gen))
        scale = 1.0 / max(float(logits.std()), 1e-6)
        last_linear.weight.mul_(scale)
        if last_linear.bias is not None:
            last_linear.bias.mul_(scale)
    return model.eval()


def _calibrate_bn(
    model: nn.Module,
    make_inputs: Callable[[torch.Generator], Sequence[torch.Tensor]],
    gen: torch.Generator,
    steps: int,
) -> None:
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
    model.train()
    for mod in model.modules():
        if isinstance(mod, nn.modules.dropout._DropoutNd):
            mod.eval()  # dropout would draw from the global RNG and does not affect BN stats
    try:
        for _ in range(max(1, steps)):
            model(*make_inputs(gen))
    finally:
        for bn, m in zip(bns, momenta, strict=True):
            bn.momentum = m
        model.eval()
    for bn in bns:
        var = bn.running_var
        if isinstance(var, torch.Tensor) and var.numel():
            # A channel that barely varied on the few calibration clips would get a gain of
            # ~100 and amplify rounding noise; real trained nets do not look like that.
            var.clamp_(min=max(_VAR_FLOOR, _VAR_REL_FLOOR * float(var.median())))
