"""Cost accounting: the analytic estimator against fvcore tracing, and the X3D reference."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from autotsnet.models import build_model, shrink, zoo
from autotsnet.models.blocks.glore import glore_widths as module_glore_widths
from autotsnet.models.blocks.se import round_width
from autotsnet.models.cost import CostReport, estimate, glore_widths, se_width
from autotsnet.models.trace import measure

MODELS_SRC = Path(__file__).resolve().parents[2] / "packages/models/src/autotsnet/models"


def _assert_agree(ours: CostReport, traced: CostReport) -> None:
    """The contract is 1%; today the two agree exactly, module by module."""
    assert math.isclose(ours.flops, traced.flops, rel_tol=0.01)
    assert ours.params == traced.params
    assert ours.parts == traced.parts
    assert ours.part_params == traced.part_params
    assert ours.stream_flops == traced.stream_flops
    assert ours.stream_params == traced.stream_params
    assert ours.groups == traced.groups
    assert ours.frames == traced.frames


@pytest.mark.parametrize("name", zoo.names())
def test_analytic_matches_trace_on_every_zoo_genome(name: str) -> None:
    # Reduced crop and frames keep the trace fast; 72 px gives odd sizes (36, 18, 9, 5, 3).
    genome = zoo.get(name)
    _assert_agree(estimate(genome, crop=72, frames=2), measure(genome, crop=72, frames=2))


def test_analytic_matches_trace_for_x3d_s_at_full_size() -> None:
    genome = zoo.get("x3d_s")
    traced = measure(genome, crop=160)
    _assert_agree(estimate(genome, crop=160), traced)
    assert traced.frames == {"sparse": 13}
    assert traced.params == sum(p.numel() for p in build_model(genome).parameters())


@pytest.mark.parametrize("crop", [32, 47, 50])
def test_analytic_matches_trace_at_odd_sizes(crop: int) -> None:
    # A tiny twin keeps every choice (GloRe, fusion ops, strides) and traces in milliseconds.
    genome = shrink(zoo.get("auto_tsnet_s"))
    _assert_agree(estimate(genome, crop=crop, frames=3), measure(genome, crop=crop, frames=3))


def test_every_fusion_op_is_counted() -> None:
    base = shrink(zoo.get("manual_tsnet_70"))
    ops = ("none", "time_to_channel", "time_strided_sample", "time_strided_conv")
    fusion = tuple(ops[i % 4] for i in range(len(base.fusion)))
    genome = base.replace(fusion=fusion)
    _assert_agree(estimate(genome, num_classes=5), measure(genome, num_classes=5))


# --------------------------------------------------------------------- X3D reference numbers
@pytest.mark.parametrize(
    ("name", "crop", "gflops"),
    [
        # SlowFast MODEL_ZOO (train crop) and the X3D paper / Auto-TSNet Table 3 (test crop).
        ("x3d_xs", 160, 0.60),
        ("x3d_s", 160, 1.96),
        ("x3d_s", 182, 2.72),
        ("x3d_m", 224, 4.73),
        ("x3d_m", 256, 6.18),
        ("x3d_l", 312, 18.37),
        ("x3d_l", 356, 24.76),
    ],
)
def test_x3d_gflops_match_the_papers(name: str, crop: int, gflops: float) -> None:
    assert estimate(zoo.get(name), crop=crop).gflops_per_view == pytest.approx(gflops, rel=0.02)


@pytest.mark.parametrize(("name", "params_m"), [("x3d_s", 3.794), ("x3d_l", 6.153)])
def test_x3d_params_match_the_reference_implementation(name: str, params_m: float) -> None:
    genome = zoo.get(name)
    built = sum(p.numel() for p in build_model(genome).parameters())
    assert estimate(genome).params == built
    assert round(built / 1e6, 3) == params_m


# ----------------------------------------------------------------------------- Manual-TSNet
def test_manual_tsnet_70_matches_tables_4_and_8() -> None:
    item = zoo.entry("manual_tsnet_70")
    assert item.paper.params_m is not None and item.paper.gflops is not None
    cost = estimate(item.genome, crop=item.paper.crop)
    assert cost.params_m == pytest.approx(item.paper.params_m, rel=0.05)
    assert cost.gflops_per_view == pytest.approx(item.paper.gflops, rel=0.05)
    assert cost.sparse_share == pytest.approx(0.70, abs=0.03)


@pytest.mark.parametrize("share", [55, 70, 85])
def test_manual_tsnet_sparse_share(share: int) -> None:
    item = zoo.entry(f"manual_tsnet_{share}")
    cost = estimate(item.genome, crop=item.paper.crop)
    assert cost.sparse_share == pytest.approx(share / 100, abs=0.03)
    assert cost.gflops_per_view == pytest.approx(item.paper.gflops, rel=0.05)


# ----------------------------------------------------------------------------- the report
def test_report_buckets_add_up_and_serialise() -> None:
    cost = estimate(zoo.get("auto_tsnet_s"), views=30)
    assert set(cost.stream_flops) == {"sparse", "dense", "fusion", "head"}
    assert sum(cost.stream_flops.values()) == cost.flops
    assert sum(cost.stream_params.values()) == cost.params
    assert sum(cost.parts.values()) == cost.flops
    assert cost.gflops_per_video == pytest.approx(30 * cost.gflops_per_view)
    assert cost.sparse_share == cost.stream_flops["sparse"] / cost.flops
    for stream in ("sparse", "dense"):
        in_groups = sum(g.flops for g in cost.groups if g.stream == stream)
        assert 0 < in_groups < cost.stream_flops[stream]
    data = json.loads(json.dumps(cost.to_dict()))
    for key in ("params", "gflops_per_view", "gflops_per_video", "views", "crop", "frames"):
        assert data[key] == pytest.approx(getattr(cost, key))
    assert data["sparse_share"] == pytest.approx(cost.sparse_share)
    assert set(data["streams"]) == set(cost.stream_flops)
    assert len(data["groups"]) == 22


def test_single_stream_report() -> None:
    cost = estimate(zoo.get("x3d_s"))
    assert set(cost.stream_flops) == {"sparse", "fusion", "head"}
    assert cost.stream_flops["fusion"] == 0
    assert 0.99 < cost.sparse_share < 1.0
    assert cost.crop == 160 and cost.frames == {"sparse": 13} and cost.views == 1


def test_frames_and_crop_overrides() -> None:
    genome = zoo.get("manual_tsnet_70")
    cost = estimate(genome, frames=2, crop=96)
    assert cost.frames == {"sparse": 2, "dense": 16}
    assert cost.crop == 96
    assert cost.flops < estimate(genome).flops
    assert cost.params == estimate(genome).params
    fewer = estimate(genome, num_classes=10)
    assert estimate(genome).params - fewer.params == 390 * (genome.head.hidden + 1)


def test_results_are_independent_copies() -> None:
    genome = zoo.get("x3d_xs")
    first = estimate(genome)
    first.stream_flops["sparse"] = -1
    first.parts.clear()
    again = estimate(genome)
    assert again.stream_flops["sparse"] > 0 and again.parts


@pytest.mark.parametrize(
    "kwargs", [{"crop": 0}, {"frames": 0}, {"views": 0}, {"num_classes": 0}, {"crop": -4}]
)
def test_bad_arguments(kwargs: dict[str, int]) -> None:
    genome = zoo.get("x3d_xs")
    with pytest.raises(ValueError, match="must be a positive integer"):
        estimate(genome, **kwargs)
    with pytest.raises(ValueError, match="must be a positive integer"):
        measure(genome, **kwargs)


def test_width_rules_match_the_blocks() -> None:
    for channels in range(1, 700):
        assert se_width(channels, 0.0625) == round_width(channels, 0.0625)
        for a, b in ((0.5, 0.25), (2.0, 2.0), (1.5, 2.75), (0.01, 0.01)):
            assert glore_widths(channels, a, b) == module_glore_widths(channels, a, b)


def test_cost_modules_import_no_torch() -> None:
    heavy_prefixes = (
        "torch",
        "fvcore",
        "autotsnet.models.builder",
        "autotsnet.models.blocks",
        "autotsnet.models.trace",
    )
    for module in ("cost.py", "plan.py", "genome.py", "report.py", "zoo.py", "layout.py"):
        tree = ast.parse((MODELS_SRC / module).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        heavy = sorted(m for m in imported if m.startswith(heavy_prefixes))
        assert not heavy, f"{module} imports {heavy}"


def test_trace_excludes_batch_norm_and_pooling() -> None:
    genome = shrink(zoo.get("auto_tsnet_s"))
    net = build_model(genome, num_classes=3).eval()
    clips = tuple(torch.zeros(1, 3, s.input.frames, 32, 32) for s in genome.streams.values())
    from fvcore.nn import FlopCountAnalysis  # after autotsnet.models.trace: no import warning

    default = FlopCountAnalysis(net, clips)
    default.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    by_op = default.by_operator()
    assert by_op["batch_norm"] > 0
    macs = by_op["conv"] + by_op["linear"] + by_op["matmul"]
    assert measure(genome, num_classes=3).flops == macs


def test_head_batch_norm_is_counted() -> None:
    # BatchNorm1d before the head's hidden ReLU: 2 parameters per unit, no MACs (it folds)
    plain = shrink(zoo.get("auto_tsnet_s"))
    genome = plain.replace(head=dataclasses.replace(plain.head, hidden_norm="bn"))
    ours = estimate(genome, crop=32, frames=3)
    _assert_agree(ours, measure(genome, crop=32, frames=3))
    assert ours.params == sum(p.numel() for p in build_model(genome).parameters())
    assert ours.params - estimate(plain, crop=32, frames=3).params == 2 * genome.head.hidden
    assert ours.flops == estimate(plain, crop=32, frames=3).flops
