"""``autotsnet predict``: classify videos with an exported model or a checkpoint.

MODEL is an ``autotsnet export`` folder (or its ``model.json`` / ``model.onnx``, or a Triton
model folder), run with ONNX Runtime, or a checkpoint ``.pt``, run eagerly with PyTorch.
Each video is decoded once; all its views run in one batch (several videos per batch with
``--batch-videos``), and the per-view softmaxes are averaged as ``autotsnet eval`` does.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from autotsnet.cli._errors import fail
from autotsnet.cli._options import AggOpt, JsonOpt, ProviderOpt, ThreadsOpt
from autotsnet.infer.predictor import Predictor
from autotsnet.train.checkpoint import load_model_from_checkpoint

__all__ = ["load_predictor", "predict_command", "register"]

_EXPORT_SUFFIXES = (".onnx", ".json", ".ep")


def load_predictor(
    model: Path,
    *,
    views: str | None,
    agg: str,
    provider: str,
    threads: int | None,
    device: str,
) -> Predictor:
    """An export folder/file -> ONNX Runtime (or TensorRT); anything else -> checkpoint."""
    if model.is_dir() or model.suffix.lower() in _EXPORT_SUFFIXES:
        return Predictor.from_export(
            model, provider=provider, views=views, agg=agg, threads=threads
        )
    net, genome, cmap = load_model_from_checkpoint(model)
    dev = "cuda" if device == "auto" and _cuda() else ("cpu" if device == "auto" else device)
    return Predictor.from_module(
        net, genome, cmap.names, views=views or "10x1", agg=agg, device=dev
    )


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def predict_command(
    model: Annotated[
        Path,
        typer.Argument(metavar="MODEL", help="Export folder, model.onnx, or checkpoint .pt."),
    ],
    videos: Annotated[list[Path], typer.Argument(metavar="VIDEO...", help="Videos to classify.")],
    views: Annotated[
        str | None, typer.Option(help="CLIPSxCROPS (default: the export's, or 10x1).")
    ] = None,
    agg: AggOpt = "mean",
    topk: Annotated[int, typer.Option(help="Labels shown per video.")] = 5,
    provider: ProviderOpt = "auto",
    threads: ThreadsOpt = None,
    device: Annotated[str, typer.Option(help="Checkpoint device: auto, cpu, cuda.")] = "auto",
    batch_videos: Annotated[int, typer.Option(help="Videos whose views run together.")] = 4,
    as_json: JsonOpt = False,
) -> None:
    """Classify VIDEO... with MODEL (multi-view testing, top-k labels)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if topk < 1:
        raise fail("--topk must be at least 1")
    try:
        predictor = load_predictor(
            model, views=views, agg=agg, provider=provider, threads=threads, device=device
        )
        results = predictor.predict_many(videos, batch_videos=batch_videos)
    except ValueError as exc:
        raise fail(str(exc) or type(exc).__name__) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from None
    if as_json:
        payload = {
            "model": str(model),
            "views": str(predictor.builder.views),
            "agg": predictor.agg,
            "providers": predictor.providers,
            "predictions": [r.to_dict(topk) for r in results],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        console = Console()
        table = Table(
            title=f"{model} ({predictor.builder.views} views, {', '.join(predictor.providers)})"
        )
        table.add_column("video")
        table.add_column(f"top-{topk}")
        for r in results:
            shown = (
                ", ".join(f"{n} {100 * p:.1f}%" for n, p in r.top(topk))
                if r.ok
                else f"[red]failed[/red]: {r.error}"
            )
            table.add_row(r.path, shown)
        console.print(table)
    if not any(r.ok for r in results):
        typer.echo("error: no video could be classified", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``predict`` command to ``app``."""
    app.command("predict")(predict_command)
