"""``autotsnet train`` and ``autotsnet eval``.

Distributed training uses torchrun and nothing else::

    torchrun --nproc_per_node 8 -m autotsnet.cli train GENOME --data D --out RUN
    autotsnet train GENOME --data D --out RUN --nproc 8      # runs the line above

The environment torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) is read here, at the
CLI edge, and passed to the library as a :class:`~autotsnet.train.DistInfo`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from autotsnet.cli._errors import fail, one_line
from autotsnet.cli._options import GenomeArg, JsonOpt, load_genome_arg
from autotsnet.models.shrink import shrink
from autotsnet.train.config import ADAMW_LR, TrainConfig, load_run_config
from autotsnet.train.distributed import DistInfo
from autotsnet.train.evaluate import evaluate
from autotsnet.train.loop import train
from autotsnet.train.setup import prepare_inputs

__all__ = ["eval_command", "register", "torchrun_command", "train_command"]

# option name -> flag, for rebuilding the command line handed to torchrun
_FLAGS: dict[str, str] = {
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "optimizer": "--optimizer",
    "momentum": "--momentum",
    "weight_decay": "--weight-decay",
    "warmup_epochs": "--warmup-epochs",
    "label_smoothing": "--label-smoothing",
    "workers": "--workers",
    "seed": "--seed",
    "amp": "--amp",
    "clip_grad": "--clip-grad",
    "precise_bn": "--precise-bn",
    "ckpt_every_steps": "--ckpt-every",
    "keep_last": "--keep-last",
    "log_every": "--log-every",
    "device": "--device",
}


def _message(exc: BaseException) -> str:
    """One line for a library error; DataLoader workers wrap theirs in a traceback."""
    text = str(exc) or type(exc).__name__
    if text.startswith("Caught ") and "Traceback" in text:
        last = [ln for ln in text.strip().splitlines() if ln.strip()][-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return one_line(text)


def _dist_from_env() -> DistInfo:
    env = os.environ
    return DistInfo(
        rank=int(env.get("RANK", "0")),
        world_size=int(env.get("WORLD_SIZE", "1")),
        local_rank=int(env.get("LOCAL_RANK", "0")),
    )


def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """The torchrun (``python -m torch.distributed.run``) command for ``--nproc``."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "autotsnet.cli",
        *args,
    ]


def _setup_logging(rank: int) -> None:
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format="%(levelname)s: %(message)s"
        if rank == 0
        else f"rank {rank} %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def _print_train_summary(report: dict[str, Any], out: Path) -> None:
    console = Console()
    table = Table(title=f"{report['genome'] or 'genome'} ({report['genome_id']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report["final"].items():
        shown = f"{100 * value:.2f}%" if "top" in key else f"{value:.4f}"
        table.add_row(key, shown)
    table.add_row("epochs / steps", f"{report['epochs']} / {report['steps']}")
    table.add_row("params", f"{report['params']:,}")
    console.print(table)
    console.print(f"model: {out / 'final.pt'}   report: {out / 'report.json'}")


def train_command(
    genome: GenomeArg,
    data: Annotated[str, typer.Option("--data", help="Dataset folder, list file or CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Run folder (RUN_DIR).")],
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 300).")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Global clips per step, split over processes (default 128).")
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Peak learning rate (default 0.4 sgd, 0.01 adamw).")
    ] = None,
    optimizer: Annotated[
        str | None, typer.Option(help="sgd (the paper's) or adamw (default sgd).")
    ] = None,
    momentum: Annotated[float | None, typer.Option(help="SGD momentum (default 0.9).")] = None,
    weight_decay: Annotated[
        float | None, typer.Option(help="Weight decay, never on BN/bias (default 5e-5).")
    ] = None,
    warmup_epochs: Annotated[
        float | None, typer.Option(help="Linear warmup epochs (default 35/300 of --epochs).")
    ] = None,
    label_smoothing: Annotated[
        float | None, typer.Option(help="Label smoothing (default 0).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Loader workers per process (default 4).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default 0).")] = None,
    amp: Annotated[
        str | None, typer.Option(help="auto, bf16, fp16 or off (CUDA) (default auto).")
    ] = None,
    clip_grad: Annotated[
        float | None, typer.Option(help="Max gradient norm, 0 = off (default 0).")
    ] = None,
    precise_bn: Annotated[
        int | None, typer.Option(help="Precise-BN batches at epoch end, 0 = off (default 200).")
    ] = None,
    ckpt_every: Annotated[
        int | None,
        typer.Option("--ckpt-every", help="Checkpoint every N steps too (default 1000)."),
    ] = None,
    keep_last: Annotated[int | None, typer.Option(help="Checkpoints kept (default 3).")] = None,
    log_every: Annotated[
        int | None, typer.Option(help="Steps between log records (default 10).")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu, cuda or cuda:N (default auto).")
    ] = None,
    val_data: Annotated[
        str | None, typer.Option(help="Validation data (default: the val split of --data).")
    ] = None,
    tiny: Annotated[
        bool, typer.Option("--tiny", help="Train the genome's tiny twin (CPU smoke runs).")
    ] = False,
    no_flip: Annotated[bool, typer.Option("--no-flip", help="No random flip.")] = False,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Deterministic cuDNN (slower).")
    ] = False,
    sync_bn: Annotated[
        bool, typer.Option("--sync-bn", help="SyncBatchNorm across DDP processes (CUDA).")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from RUN_DIR's newest good checkpoint.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing run in RUN_DIR.")
    ] = False,
    nproc: Annotated[
        int, typer.Option("--nproc", help="Processes on this machine (runs torchrun).")
    ] = 1,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
) -> None:
    """Train GENOME (zoo name or JSON) from scratch on --data into RUN_DIR (--out)."""
    options = {
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer,
        "momentum": momentum,
        "weight_decay": weight_decay, "warmup_epochs": warmup_epochs,
        "label_smoothing": label_smoothing, "workers": workers, "seed": seed, "amp": amp,
        "clip_grad": clip_grad, "precise_bn": precise_bn, "ckpt_every_steps": ckpt_every,
        "keep_last": keep_last, "log_every": log_every, "device": device,
    }  # fmt: skip
    given = {k: v for k, v in options.items() if v is not None}
    info = _dist_from_env()
    _setup_logging(info.rank)
    try:
        g = load_genome_arg(genome)
        g = shrink(g) if tiny else g
        base = (load_run_config(out) if resume else None) or TrainConfig()
        extra = {"flip": False} if no_flip else {}
        extra |= {"deterministic": True} if deterministic else {}
        extra |= {"sync_bn": True} if sync_bn else {}
        if optimizer == "adamw" and lr is None and not resume:
            given["lr"] = ADAMW_LR  # the default 0.4 is an SGD rate; AdamW diverges there
        config = base.replace(**given, **extra)
        if nproc > 1:
            if info.distributed:
                raise fail("--nproc cannot be used inside torchrun")
            prepare_inputs(
                g, data, out, config, DistInfo(0, nproc, 0), resume=resume,
                overwrite=overwrite, val_data=val_data,
            )  # fmt: skip
            args = ["train", genome, "--data", data, "--out", str(out)]
            args += [f"{_FLAGS[k]}={v}" for k, v in given.items()]
            flags = {"--val-data": val_data}
            args += [f"{k}={v}" for k, v in flags.items() if v is not None]
            switches = {
                "--tiny": tiny, "--no-flip": no_flip, "--deterministic": deterministic,
                "--sync-bn": sync_bn, "--resume": resume, "--overwrite": overwrite,
                "--no-progress": no_progress,
            }  # fmt: skip
            args += [name for name, on in switches.items() if on]
            rc = subprocess.call(torchrun_command(nproc, args))
            if rc:  # the failing process has printed its own error line
                typer.echo(f"error: torchrun exited with code {rc}", err=True)
                raise typer.Exit(rc)
            return  # rank 0 of the child processes printed the summary
        report = train(
            g, data, out, config, resume=resume, overwrite=overwrite,
            progress=not no_progress, val_data=val_data, dist=info,
        )  # fmt: skip
    except ValueError as exc:
        raise fail(_message(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from None
    if info.is_main:
        _print_train_summary(report, out)


def _default_eval_out(checkpoint: Path, split: str, views: str) -> Path:
    run = checkpoint.parent
    if run.name == "checkpoints":
        run = run.parent
    return run / f"eval-{split}-{views}"


def _print_eval(result: dict[str, Any], out: Path) -> None:
    console = Console()
    table = Table(title=f"per-class accuracy ({result['views']}, {result['agg']})")
    for col in ("class", "support", "correct", "accuracy"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for row in result["per_class"]:
        acc = "-" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f}%"
        table.add_row(row["class"], str(row["support"]), str(row["correct"]), acc)
    console.print(table)

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.2f}%"

    console.print(
        f"top-1 {pct(result['top1'])}  top-5 {pct(result['top5'])}  "
        f"mean class {pct(result['mean_class_acc'])}  "
        f"({result['num_evaluated']}/{result['num_videos']} videos, "
        f"{result['num_views_per_video']} views each)"
    )
    for f in result["failed"]:
        console.print(f"[yellow]failed[/yellow] {f['path']}: {f['reason']}")
    console.print(f"written: {out / 'eval.json'}, {out / 'confusion.png'}")


def eval_command(
    checkpoint: Annotated[Path, typer.Argument(metavar="CKPT", help="A checkpoint (.pt).")],
    data: Annotated[str, typer.Option("--data", help="Dataset folder, list file or CSV.")],
    views: Annotated[
        str, typer.Option(help="CLIPSxCROPS: 10x1 (10-Center) or 10x3 (10-LeftCenterRight).")
    ] = "10x1",
    agg: Annotated[str, typer.Option(help="mean or max of the per-view softmax.")] = "mean",
    split: Annotated[str, typer.Option(help="Split of a folder dataset.")] = "val",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default RUN_DIR/eval-SPLIT-VIEWS).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Loader workers.")] = 2,
    batch_views: Annotated[
        int | None, typer.Option(help="Views per forward pass (default all of a video).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier eval.json in --out.")
    ] = False,
    as_json: JsonOpt = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """Evaluate CKPT with multi-view testing: top-1/top-5/mean class accuracy, per class."""
    _setup_logging(0)
    target = out if out is not None else _default_eval_out(checkpoint, split, views)
    try:
        result = evaluate(
            checkpoint, data, views=views, agg=agg, split=split, out=target, workers=workers,
            batch_views=batch_views, device=device, overwrite=overwrite,
            progress=not (no_progress or as_json),
        )  # fmt: skip
    except ValueError as exc:
        raise fail(_message(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        _print_eval(result, target)
    if result["num_evaluated"] == 0:
        typer.echo("error: no video could be evaluated (see 'failed')", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``train`` and ``eval`` commands to ``app``."""
    app.command("train")(train_command)
    app.command("eval")(eval_command)
