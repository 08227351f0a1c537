"""``autotsnet space``: size of the Table 1 search space per progressive step, vs the paper."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autotsnet.cli._errors import fail, user_errors
from autotsnet.cli._options import JsonOpt, Scale, ScaleOpt
from autotsnet.cli.search import parse_frames
from autotsnet.models.cost import estimate
from autotsnet.models.space import PAPER_SIZES, STEPS, SearchSpace, Variable
from autotsnet.search.config import SearchConfig, plan_steps
from autotsnet.search.progressive import flops_bounds

__all__ = ["PAPER_TARGETS", "space", "space_report", "target_guide"]

PAPER_TARGETS: tuple[float, float, float] = (1.4, 2.0, 2.5)
"""The paper's FLOPs targets of the three progressive steps (GFLOPs per view, 160² crops,
4 + 32 frames, Kinetics-400 head)."""

_out = Console()


def _prod(variables: list[Variable]) -> int:
    return math.prod(len(v.choices) for v in variables)


def _fmt(n: float) -> str:
    """Exact below a million, else 3 significant digits (``3.31e+24``)."""
    return f"{n:,.0f}" if n < 1e6 else f"{n:.3g}"


def _sparse_note(sp: SearchSpace) -> str:
    variables = sp.variables("sparse")
    widths = [v for v in variables if v.name.endswith(".width")]
    per_group = _prod([v for v in variables if v.name.startswith("sparse.groups[0].")])
    per_group //= len(widths[0].choices)
    stage3 = [v for v, stage in zip(widths, sp.stages, strict=True) if stage == 3]
    options = sorted({len(v.choices) for v in stage3})
    alt = sp.size("sparse") // _prod(stage3) * math.prod(len(v.choices) + 1 for v in stage3)
    return (
        f"Table 1 read literally: {per_group}^{len(widths)} (t, k, e) choices x the width ranges. "
        f"With {options[-1] + 1} instead of {options[-1]} width options in the {len(stage3)} "
        f"stage-3 groups it would be {alt:.3g} ~ 8e24, so the paper's count probably came from "
        "a config that differs from the printed table (spec §1.4)."
    )


def _dense_note(sp: SearchSpace) -> str:
    variables = sp.variables("dense")
    backbone = _prod([v for v in variables if v.name.startswith("dense.")])
    fusion_vars = [v for v in variables if v.name.startswith("fusion[")]
    fusion = _prod(fusion_vars)
    ops = len(fusion_vars[0].choices) if fusion_vars else 0
    implied = PAPER_SIZES["dense"] / backbone
    return (
        f"dense backbone {backbone:.3g} x fusion {ops}^{len(fusion_vars)} = {_fmt(fusion)} "
        f"({len(fusion_vars)} locations, {ops} ops each). The paper's 6e24 leaves only "
        f"~{implied:.0f}x for fusion, less than even one binary choice per location gives "
        f"(2^{len(fusion_vars)}); no per-location fusion assumption reproduces it (spec §1.4)."
    )


def _attention_note(sp: SearchSpace) -> str:
    per_stream = len(sp.glore_candidates)
    exact = sp.size("attention") == PAPER_SIZES["attention"]
    verdict = "exact match" if exact else "differs from the paper"
    n = per_stream
    return f"GloRe on/off at {n} places per stream: 2^{n} x 2^{n}; {verdict}."


def _gflops(sp: SearchSpace) -> dict[str, dict[str, float]]:
    """GFLOPs per view at the training crop of the cheapest, default and dearest genomes."""
    sparse_base = sp.base_for_step("sparse")
    pairs = {
        "sparse_only": (
            sp.min_cost_genome("sparse", sparse_base),
            sparse_base,
            sp.max_cost_genome("sparse", sparse_base),
        ),
        "full": (sp.min_cost_genome(), sp.base, sp.max_cost_genome()),
    }
    return {
        key: {
            label: estimate(g).gflops_per_view
            for label, g in zip(("min", "base", "max"), genomes, strict=True)
        }
        for key, genomes in pairs.items()
    }


def target_guide(
    scale: str = "full",
    frames: tuple[int, int] | None = None,
    crop: int | None = None,
    classes: int = 400,
) -> list[dict[str, Any]]:
    """FLOPs range of each progressive step, and the target at the paper's place in it.

    For each step: the cheapest and dearest architectures of the step's sub-space (earlier
    steps free, as ``autotsnet search`` checks targets before it starts), in GFLOPs per view
    at ``frames``/``crop`` (None: the space's own) with a ``classes``-way head; the place of
    the paper's target (1.4, 2.0, 2.5) in the paper's own range of that step, as a fraction
    from the cheapest (0) to the dearest (1) architecture; and the target at the same place
    in this range. A target near 0 leaves the FLOPs hinge active for almost every sampled
    architecture, so the search then mostly minimises FLOPs.
    """
    paper_cfg = SearchConfig(targets_gflops=PAPER_TARGETS, epochs=(1, 1, 1))
    ours_cfg = SearchConfig(
        targets_gflops=PAPER_TARGETS, epochs=(1, 1, 1), space_scale=scale, frames=frames, crop=crop
    )
    full, ours = SearchSpace.table1(scale="full"), SearchSpace.table1(scale=scale)
    rows = []
    for paper_plan, plan in zip(plan_steps(paper_cfg), plan_steps(ours_cfg), strict=True):
        plo, phi = flops_bounds(full, paper_cfg, paper_plan, 400, {}, free_previous=True)
        place = (paper_plan.target_gflops * 1e9 - plo) / (phi - plo)
        lo, hi = flops_bounds(ours, ours_cfg, plan, classes, {}, free_previous=True)
        rows.append(
            {
                "step": plan.name,
                "min_gflops": lo / 1e9,
                "max_gflops": hi / 1e9,
                "paper_target_gflops": paper_plan.target_gflops,
                "paper_place": place,
                "target_gflops": (lo + place * (hi - lo)) / 1e9,
            }
        )
    return rows


def space_report(
    scale: str = "full",
    frames: tuple[int, int] | None = None,
    crop: int | None = None,
    classes: int = 400,
) -> dict[str, Any]:
    """Per-step and total sizes of the Table 1 space beside the paper's, with reasons."""
    sp = SearchSpace.table1(scale=scale)
    notes = {"sparse": _sparse_note(sp), "dense": _dense_note(sp), "attention": _attention_note(sp)}
    rows: dict[str, Any] = {}
    for step in (*STEPS, "total"):
        size = sp.size(None if step == "total" else step)
        paper = PAPER_SIZES[step]
        rows[step] = {
            "variables": len(sp.variables(None if step == "total" else step)),
            "size": size,
            "size_text": _fmt(size),
            "ln_size": math.log(size),
            "paper": paper,
            "ratio_to_paper": size / paper,
            "note": notes.get(
                step,
                "product of the three steps; the paper's 2e53 = 8e24 x 6e24 x 4096 "
                "(inherits the sparse and dense differences).",
            ),
        }
    return {
        "scale": scale,
        "crop": sp.base.sparse.input.train_crop,
        "steps": rows,
        "gflops_per_view": _gflops(sp),
        "targets": target_guide(scale, frames, crop, classes),
    }


@user_errors
def space(
    scale: ScaleOpt = Scale.full,
    frames: Annotated[
        str | None,
        typer.Option("--frames", help="Sparse,dense frames for the FLOPs targets (e.g. 4,8)."),
    ] = None,
    crop: Annotated[
        int | None, typer.Option("--crop", help="Training crop for the FLOPs targets.")
    ] = None,
    classes: Annotated[
        int, typer.Option("--classes", help="Classes of the head for the FLOPs targets.")
    ] = 400,
    as_json: JsonOpt = False,
) -> None:
    """Search-space size per progressive step and in total, beside the paper's figures,
    and each step's FLOPs range with the target at the paper's place in it."""
    fr = parse_frames(frames)
    if crop is not None and crop < 1:
        raise fail(f"--crop {crop}: must be a positive number of pixels")
    if classes < 1:
        raise fail(f"--classes {classes}: must be at least 1")
    report = space_report(scale.value, fr, crop, classes)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    table = Table(
        "step", "variables", "ours", "paper", "ours / paper", title=f"Table 1 space ({scale.value})"
    )
    for step, row in report["steps"].items():
        table.add_row(
            step,
            str(row["variables"]),
            _fmt(row["size"]),
            _fmt(row["paper"]),
            f"{row['ratio_to_paper']:.3g}",
        )
    _out.print(table)
    for step, row in report["steps"].items():
        _out.print(f"[bold]{step}[/bold]: {escape(row['note'])}")
    space_crop = report["crop"]
    for key, b in report["gflops_per_view"].items():
        label = "sparse stream only" if key == "sparse_only" else "two-stream + GloRe"
        _out.print(
            f"GFLOPs/view at {space_crop}² ({label}): min {b['min']:.3f}, "
            f"default {b['base']:.3f}, max {b['max']:.3f}"
        )
    targets = Table(
        "step",
        "min",
        "max",
        "paper's place (target)",
        "target at that place",
        title=f"FLOPs targets (GFLOPs per view, {classes} classes"
        + (f", frames {frames}" if frames else "")
        + (f", crop {crop}" if crop else "")
        + ")",
    )
    for row in report["targets"]:
        targets.add_row(
            row["step"],
            f"{row['min_gflops']:.4g}",
            f"{row['max_gflops']:.4g}",
            f"{100 * row['paper_place']:.1f}% ({row['paper_target_gflops']:g})",
            f"{row['target_gflops']:.4g}",
        )
    _out.print(targets)
