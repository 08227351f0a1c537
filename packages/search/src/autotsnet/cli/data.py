"""``autotsnet data``: scan a dataset for damaged videos, write the synthetic dataset."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from autotsnet.data import DataError
from autotsnet.data.check import check_dataset
from autotsnet.data.synth import generate_synthetic

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Dataset tools.")

_out = Console()
_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _progress(label: str, enabled: bool) -> Progress:
    return Progress(
        label,
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
        disable=not enabled,
    )


@app.command()
def check(
    source: Annotated[str, typer.Argument(help="Dataset folder or list/CSV/JSON file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"ok": [...], "damaged": [...]}.')
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Parallel decode processes.")] = (
        os.cpu_count() or 1
    ),
) -> None:
    """Decode every video fully; report damaged ones. Exit 0 if all fine, 1 if not."""
    try:
        with _progress("decoding", not as_json) as bar:
            task = bar.add_task("decoding", total=None)
            report = check_dataset(
                source,
                workers=workers,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except DataError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        if report.damaged:
            table = Table("damaged file", "reason", title="damaged videos")
            for rec in report.damaged:
                table.add_row(rec["path"], rec["reason"])
            _out.print(table)
        _out.print(f"{len(report.ok)} ok, {len(report.damaged)} damaged")
    raise typer.Exit(1 if report.damaged else 0)


def _parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if m is None:
        raise _fail(f"--size must be HxW such as 64x64, got {text!r}")
    return int(m.group(1)), int(m.group(2))


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    classes: Annotated[int, typer.Option(help="Number of classes.")] = 8,
    videos_per_class: Annotated[int, typer.Option(help="Videos per class.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed (same seed, same bytes).")] = 0,
    frames: Annotated[int, typer.Option(help="Frames per video.")] = 64,
    size: Annotated[str, typer.Option(help="Frame size HxW.")] = "64x64",
    val_fraction: Annotated[float, typer.Option(help="Share of each class in val/.")] = 0.25,
    workers: Annotated[int, typer.Option(min=1, help="Parallel processes.")] = (
        os.cpu_count() or 1
    ),
) -> None:
    """Write the built-in synthetic dataset (H.264 mp4, folder per class, train/val)."""
    hw = _parse_size(size)
    try:
        with _progress("rendering", True) as bar:
            task = bar.add_task("rendering", total=None)
            info = generate_synthetic(
                out,
                classes=classes,
                videos_per_class=videos_per_class,
                seed=seed,
                frames=frames,
                size=hw,
                val_fraction=val_fraction,
                workers=workers,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except DataError as exc:
        raise _fail(str(exc)) from None
    verb = "reused" if info.reused else "wrote"
    _out.print(
        f"{verb} {info.train_videos} train + {info.val_videos} val videos, "
        f"{len(info.classes)} classes ({', '.join(info.classes)}) in {info.out}"
    )
