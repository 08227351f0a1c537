"""Measured FLOPs and parameters: build the network and trace it with fvcore.

This is the ground truth the analytic :func:`autotsnet.models.cost.estimate` is tested
against. It follows SlowFast's ``get_model_stats``: batch 1, eval mode, fvcore's counter (one
multiply-add = one FLOP). Only convolution, linear and matrix-product operators are counted,
the convention of X3D and Auto-TSNet; fvcore's default handles for batch norm, pooling and
upsampling are switched off, and its "unsupported operator" chatter is silenced.
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict

import torch

from autotsnet.models.builder import build_model
from autotsnet.models.cost import CostReport, GroupCost
from autotsnet.models.genome import Genome

with warnings.catch_warnings():
    # fvcore's import scripts a function with torch.jit.script, which warns FutureWarning.
    warnings.simplefilter("ignore", FutureWarning)
    from fvcore.nn import FlopCountAnalysis
    from fvcore.nn.jit_handles import (
        addmm_flop_jit,
        bmm_flop_jit,
        conv_flop_jit,
        einsum_flop_jit,
        linear_flop_jit,
        matmul_flop_jit,
    )

__all__ = ["MAC_OPS", "measure"]

logger = logging.getLogger(__name__)

MAC_OPS = {
    "aten::_convolution": conv_flop_jit,
    "aten::addmm": addmm_flop_jit,
    "aten::bmm": bmm_flop_jit,
    "aten::einsum": einsum_flop_jit,
    "aten::linear": linear_flop_jit,
    "aten::matmul": matmul_flop_jit,
    "aten::mm": matmul_flop_jit,
}
"""The operators counted: convolutions, linear layers and matrix products."""


def _inputs(genome: Genome, frames: dict[str, int], crop: int) -> tuple[torch.Tensor, ...]:
    return tuple(torch.zeros(1, 3, frames[name], crop, crop) for name in genome.streams)


def _frames(genome: Genome, frames: int | None) -> dict[str, int]:
    if frames is None:
        return {name: s.input.frames for name, s in genome.streams.items()}
    if frames < 1:
        raise ValueError(f"frames = {frames}: must be a positive integer")
    out = {"sparse": frames}
    if genome.dense is not None:
        out["dense"] = frames * genome.alpha
    return out


def _part_key(module: str) -> str | None:
    """Map a module path to its cost part (``sparse.groups.3``), or None if not a part."""
    bits = module.split(".")
    if bits[0] in ("sparse", "dense") and len(bits) >= 2:
        if bits[1] == "stem":
            return f"{bits[0]}.stem"
        if bits[1] in ("groups", "attention") and len(bits) >= 3:
            return ".".join(bits[:3])
        return None
    if bits[0] == "fusions" and len(bits) >= 2:
        return ".".join(bits[:2])
    if bits[0] in ("sparse_head", "dense_head", "classifier"):
        return bits[0]
    return None


def _bucket(part: str) -> str:
    if part.startswith("fusions."):
        return "fusion"
    if part == "classifier":
        return "head"
    return part.split(".", 1)[0].removesuffix("_head")


def measure(
    genome: Genome,
    *,
    crop: int | None = None,
    frames: int | None = None,
    views: int = 1,
    num_classes: int = 400,
) -> CostReport:
    """Build ``genome`` and count its multiply-adds and parameters by tracing one view.

    Args:
        genome: The architecture.
        crop: Square input size; defaults to ``genome.sparse.input.train_crop``.
        frames: Sparse-stream frames (the dense stream gets ``frames * alpha``); defaults to
            each stream's ``input.frames``.
        views: Views per video, for :attr:`CostReport.gflops_per_video`.
        num_classes: Classifier outputs.

    Returns:
        A :class:`~autotsnet.models.cost.CostReport` with the same buckets as the analytic
        estimate; ``parts`` holds the traced MACs of every module that has any.

    Raises:
        ValueError: If ``crop``, ``frames``, ``views`` or ``num_classes`` is not positive.
    """
    crop = genome.sparse.input.train_crop if crop is None else crop
    for label, value in (("crop", crop), ("views", views), ("num_classes", num_classes)):
        if value < 1:
            raise ValueError(f"{label} = {value}: must be a positive integer")
    stream_frames = _frames(genome, frames)
    model = build_model(genome, num_classes=num_classes).eval()
    analysis = FlopCountAnalysis(model, _inputs(genome, stream_frames, crop))
    analysis.clear_op_handles()
    analysis.set_op_handle(**MAC_OPS)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with torch.no_grad():
        by_module = analysis.by_module()

    parts: dict[str, int] = defaultdict(int)
    part_params: dict[str, int] = defaultdict(int)
    for name, module in model.named_modules():
        if _part_key(name) == name:
            macs = by_module.get(name, 0)
            n_params = sum(p.numel() for p in module.parameters())
            if macs or n_params:
                parts[name] += macs
                part_params[name] += n_params
    total_params = sum(p.numel() for p in model.parameters())
    if sum(parts.values()) != analysis.total() or sum(part_params.values()) != total_params:
        raise RuntimeError("trace: some module of the built network is not mapped to a cost part")
    return _report(genome, crop, stream_frames, views, dict(parts), dict(part_params))


def _report(
    genome: Genome,
    crop: int,
    frames: dict[str, int],
    views: int,
    parts: dict[str, int],
    part_params: dict[str, int],
) -> CostReport:
    buckets = [*genome.streams, "fusion", "head"]
    flops = dict.fromkeys(buckets, 0)
    params = dict.fromkeys(buckets, 0)
    for key, macs in parts.items():
        flops[_bucket(key)] += macs
        params[_bucket(key)] += part_params[key]
    groups = tuple(
        GroupCost(
            stream=name,
            index=i,
            stage=g.stage,
            width=g.width,
            depth=g.depth,
            flops=parts.get(f"{name}.groups.{i}", 0),
            params=part_params.get(f"{name}.groups.{i}", 0),
        )
        for name, stream in genome.streams.items()
        for i, g in enumerate(stream.groups)
    )
    return CostReport(
        params=sum(params.values()),
        flops=sum(flops.values()),
        views=views,
        crop=crop,
        frames=frames,
        stream_flops=flops,
        stream_params=params,
        groups=groups,
        parts=parts,
        part_params=part_params,
    )
