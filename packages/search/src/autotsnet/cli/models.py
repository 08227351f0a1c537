"""Model commands: ``zoo list|show``, ``genome schema|validate``, ``flops`` and ``draw``.

Every command takes ``--json`` for machines; bad input exits 2 with one line on stderr.
Registered on the root app by :func:`register`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autotsnet.cli._errors import fail, user_errors
from autotsnet.cli._options import GenomeArg, JsonOpt, load_target
from autotsnet.cli.space import space
from autotsnet.models import zoo
from autotsnet.models.cost import CostReport, estimate
from autotsnet.models.genome import Genome, load_genome
from autotsnet.models.space import SearchSpace

__all__ = ["draw", "flops", "genome_app", "register", "zoo_app"]

zoo_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The model zoo.")
genome_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The genome file format.")
_out = Console()


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2))


def _paper_cost(genome: Genome, paper: zoo.PaperFigures) -> CostReport:
    return estimate(genome, crop=paper.crop, views=paper.views)


# ------------------------------------------------------------------------------ zoo
@zoo_app.command("list")
@user_errors
def zoo_list(
    pattern: Annotated[str, typer.Argument(help="Shell-style name filter.")] = "*",
    as_json: JsonOpt = False,
) -> None:
    """List zoo models with parameters and GFLOPs (one view at the training crop)."""
    rows = []
    for name in zoo.names(pattern):
        item = zoo.entry(name)
        cost = estimate(item.genome)
        rows.append(
            {
                "name": name,
                "description": item.description,
                "genome_id": item.genome.genome_id,
                "params": cost.params,
                "params_m": round(cost.params_m, 3),
                "gflops": round(cost.gflops_per_view, 4),
                "crop": cost.crop,
                "paper": dataclasses.asdict(item.paper),
            }
        )
    if as_json:
        _echo_json(rows)
        return
    table = Table("name", "description", "params (M)", "GFLOPs", "crop", title="autotsnet zoo")
    for r in rows:
        table.add_row(
            escape(str(r["name"])),
            escape(str(r["description"])),
            f"{r['params_m']:.2f}",
            f"{r['gflops']:.2f}",
            str(r["crop"]),
        )
    _out.print(table)


def _stream_table(genome: Genome, name: str) -> Table:
    stream = genome.streams[name]
    inp = stream.input
    title = (
        f"{name} stream: {inp.frames} frames, stride {inp.temporal_stride}, "
        f"crop {inp.train_crop} (test {inp.test_crop}), stem {stream.stem.width}"
    )
    table = Table("#", "stage", "blocks", "stride", "t×k", "width", "exp", "inner", title=title)
    if name == "sparse" and genome.dense is not None:
        table.add_column("fusion after")
    table.add_column("GloRe")
    for i, g in enumerate(stream.groups):
        cells = [str(i), str(g.stage), str(g.depth), str(g.stride)]
        cells += [f"{g.temporal_kernel}×{g.spatial_kernel}", str(g.width), f"{g.expansion:g}"]
        cells.append(str(g.inner))
        if name == "sparse" and genome.dense is not None:
            cells.append(genome.fusion[i] if i < len(genome.fusion) else "")
        cells.append("★" if i in stream.glore_after else "")
        table.add_row(*cells)
    return table


def _figures(genome: Genome, item: zoo.ZooEntry | None) -> dict[str, Any]:
    ours = estimate(genome)
    out: dict[str, Any] = {
        "ours": {"crop": ours.crop, "params_m": ours.params_m, "gflops": ours.gflops_per_view}
    }
    if item is not None:
        paper = item.paper
        out["paper"] = dataclasses.asdict(paper)
        if paper.crop is not None:
            at = _paper_cost(genome, paper)
            out["ours_at_paper_crop"] = {
                "crop": at.crop,
                "params_m": at.params_m,
                "gflops": at.gflops_per_view,
                "views": at.views,
                "gflops_per_video": at.gflops_per_video,
            }
    return out


def _figures_table(figures: dict[str, Any]) -> Table:
    table = Table("", "crop", "params (M)", "GFLOPs/view", "top-1 (%)", title="paper vs ours")
    ours = figures["ours"]
    table.add_row("ours", str(ours["crop"]), f"{ours['params_m']:.2f}", f"{ours['gflops']:.2f}", "")
    if "ours_at_paper_crop" in figures:
        at = figures["ours_at_paper_crop"]
        table.add_row(
            "ours @ paper crop", str(at["crop"]), f"{at['params_m']:.2f}", f"{at['gflops']:.2f}", ""
        )
    if "paper" in figures:
        p = figures["paper"]

        def fmt(v: float | None, spec: str) -> str:
            return "-" if v is None else format(v, spec)

        table.add_row(
            f"paper ({p['views']} views)",
            "-" if p["crop"] is None else str(p["crop"]),
            fmt(p["params_m"], ".2f"),
            fmt(p["gflops"], ".2f"),
            fmt(p["top1"], ".1f"),
        )
    return table


@zoo_app.command("show")
@user_errors
def zoo_show(target: GenomeArg, as_json: JsonOpt = False) -> None:
    """Show a genome group by group, with its notes and the paper's figures beside ours."""
    genome, item = load_target(target)
    space_problems = SearchSpace.table1().check(genome)
    figures = _figures(genome, item)
    if as_json:
        data = {
            "name": genome.name,
            "genome_id": genome.genome_id,
            "description": item.description if item else None,
            "in_table1_space": not space_problems,
            "space_problems": space_problems,
            "figures": figures,
            "genome": genome.to_dict(),
        }
        _echo_json(data)
        return
    head = genome.head
    _out.print(
        f"[bold]{escape(genome.name or target)}[/bold] ({genome.genome_id})"
        + (f" - {escape(item.description)}" if item else "")
    )
    _out.print(
        f"streams: {len(genome.streams)}, alpha {genome.alpha}; GloRe ratios "
        f"({genome.glore.state_ratio:g}, {genome.glore.node_ratio:g}); head "
        f"{head.conv_expansion:g}x -> {head.hidden}"
        + (f" + {head.hidden_norm.upper()}" if head.hidden_norm != "none" else "")
        + f", dropout {head.dropout:g}"
    )
    for name in genome.streams:
        _out.print(_stream_table(genome, name))
    _out.print(_figures_table(figures))
    inside = "yes" if not space_problems else f"no ({space_problems[0]})"
    _out.print(f"in the Table 1 search space: {escape(inside)}")
    for note in genome.notes:
        _out.print(f"  • {escape(note)}", highlight=False)


# ------------------------------------------------------------------------------ flops
@user_errors
def flops(
    target: GenomeArg,
    crop: Annotated[
        int | None, typer.Option(min=1, help="Square input size [default: training crop].")
    ] = None,
    frames: Annotated[
        int | None,
        typer.Option(min=1, help="Sparse frames (dense gets alpha x) [default: genome's]."),
    ] = None,
    views: Annotated[int, typer.Option(min=1, help="Views per video (e.g. 30 = 10x3).")] = 1,
    classes: Annotated[int, typer.Option(min=1, help="Classifier outputs.")] = 400,
    traced: Annotated[
        bool, typer.Option("--traced", help="Build the net and trace it with fvcore (slow).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """FLOPs (multiply-adds) and parameters of a genome, per view and per video."""
    genome = load_target(target)[0]
    kwargs: dict[str, Any] = {
        "crop": crop,
        "frames": frames,
        "views": views,
        "num_classes": classes,
    }
    if traced:
        from autotsnet.models.trace import measure

        report = measure(genome, **kwargs)
    else:
        report = estimate(genome, **kwargs)
    if as_json:
        data = {
            "name": genome.name,
            "genome_id": genome.genome_id,
            "method": "traced" if traced else "analytic",
            **report.to_dict(),
        }
        _echo_json(data)
        return
    _print_cost(genome, report, traced)


def _print_cost(genome: Genome, report: CostReport, traced: bool) -> None:
    frames = ", ".join(f"{k} {v}" for k, v in report.frames.items())
    _out.print(
        f"[bold]{escape(genome.name or 'genome')}[/bold] ({genome.genome_id}) "
        f"({'traced with fvcore' if traced else 'analytic'}; crop {report.crop}, frames: {frames})"
    )
    table = Table("part", "GFLOPs", "share", "params (M)", title="cost per view")
    for name, f in report.stream_flops.items():
        share = f / report.flops if report.flops else 0.0
        p = report.stream_params[name] / 1e6
        table.add_row(name, f"{f / 1e9:.3f}", f"{share:.1%}", f"{p:.3f}")
    table.add_row(
        "[bold]total[/bold]", f"{report.gflops_per_view:.3f}", "", f"{report.params_m:.3f}"
    )
    _out.print(table)
    groups = Table("stream", "#", "stage", "width", "blocks", "GFLOPs", "params (M)")
    for g in report.groups:
        groups.add_row(
            g.stream,
            str(g.index),
            str(g.stage),
            str(g.width),
            str(g.depth),
            f"{g.flops / 1e9:.4f}",
            f"{g.params / 1e6:.4f}",
        )
    _out.print(groups)
    _out.print(
        f"{report.gflops_per_view:.3f} GFLOPs/view × {report.views} views = "
        f"{report.gflops_per_video:.2f} GFLOPs/video; {report.params_m:.2f} M params; "
        f"sparse share {report.sparse_share:.1%}"
    )


# ------------------------------------------------------------------------------ draw
@user_errors
def draw(
    target: GenomeArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Figure file: .png, .svg or .pdf.")
    ],
    title: Annotated[str | None, typer.Option(help="Title [default: name, cost].")] = None,
    dpi: Annotated[int, typer.Option(min=30, max=1200, help="Resolution of PNGs.")] = 160,
    as_json: JsonOpt = False,
) -> None:
    """Draw a genome like the paper's Figure 3 (streams, groups, fusion, GloRe)."""
    from autotsnet.models.draw import draw_genome

    genome = load_target(target)[0]
    path = draw_genome(genome, output, title=title, dpi=dpi)
    if as_json:
        _echo_json({"path": str(path), "bytes": path.stat().st_size, "genome_id": genome.genome_id})
    else:
        _out.print(f"wrote {escape(str(path))}")


# ------------------------------------------------------------------------------ genome
@genome_app.command("schema")
@user_errors
def genome_schema_cmd(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file instead.")
    ] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of genome files."""
    from autotsnet.models.schema import schema_json

    text = schema_json()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        _out.print(f"wrote {escape(str(output))}")


@genome_app.command("validate")
@user_errors
def genome_validate(
    path: Annotated[Path, typer.Argument(help="Genome JSON file.", show_default=False)],
    in_space: Annotated[
        bool, typer.Option("--in-space", help="Also fail if outside the Table 1 search space.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate a genome file (schema and semantics). Exit 0 if valid, 2 if not."""
    import jsonschema

    from autotsnet.models.schema import genome_schema

    genome = load_genome(path)
    validator = jsonschema.Draft202012Validator(genome_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(genome.to_dict()))
    if error is not None:  # pragma: no cover - the genome loader is stricter than the schema
        where = ".".join(str(p) for p in error.absolute_path) or "genome"
        raise fail(f"{path}: {where}: {error.message}")
    problems = SearchSpace.table1().check(genome)
    if in_space and problems:
        raise fail(f"{path}: outside the Table 1 search space: {problems[0]}")
    if as_json:
        _echo_json(
            {
                "path": str(path),
                "valid": True,
                "genome_id": genome.genome_id,
                "in_table1_space": not problems,
                "space_problems": problems,
            }
        )
        return
    inside = "inside" if not problems else f"outside ({problems[0]})"
    _out.print(
        escape(
            f"{path}: valid genome {genome.name!r} ({genome.genome_id}), Table 1 space: {inside}"
        )
    )


def register(app: typer.Typer) -> None:
    """Add ``zoo``, ``genome``, ``flops``, ``draw`` and ``space`` to the root app."""
    app.add_typer(zoo_app, name="zoo", help="The model zoo: list and show genomes.")
    app.add_typer(genome_app, name="genome", help="Genome files: JSON Schema and validation.")
    app.command("flops")(flops)
    app.command("draw")(draw)
    app.command("space")(space)
