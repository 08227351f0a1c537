"""``autotsnet search``: progressive PARSEC search from a weight-sharing supernet to a genome."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path
from typing import Annotated, cast

import torch
import torch.distributed as dist
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from autotsnet.cli._errors import fail, user_errors
from autotsnet.models.genome import HiddenNorm
from autotsnet.search.config import SearchConfig, SearchError, parse_steps, plan_steps
from autotsnet.search.data import VideoSearchData
from autotsnet.search.parsec import Baseline, alpha_batch
from autotsnet.search.progressive import run_search, search_space, with_inputs
from autotsnet.train.config import ADAMW_LR

__all__ = ["register", "search", "train_hint"]


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SearchError(f"{what} {text!r}: expected comma-separated numbers") from None


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SearchError(f"{what} {text!r}: expected comma-separated integers") from None


def parse_frames(text: str | None) -> tuple[int, int] | None:
    """``"4,32"`` -> ``(4, 32)`` (sparse, dense); None stays None. Values are checked by
    :func:`autotsnet.search.config.plan_steps`."""
    if not text:
        return None
    fr = _ints(text, "--frames")
    if len(fr) != 2:
        raise fail(f"--frames {text!r}: expected two values, sparse,dense")
    return fr[0], fr[1]


def _init_distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if world > 1 and not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    return rank, world, device


def train_hint(
    genome: Path,
    data: Path,
    out: Path,
    batch_size: int,
    optimizer: str = "sgd",
    *,
    flip: bool = True,
) -> str:
    """The ``autotsnet train`` command line for a searched genome, shell-quoted.

    It trains into ``out/train`` with the search's batch size, optimizer and flip setting.
    With SGD the peak learning rate is the default (0.4 at 128 clips) scaled linearly to the
    batch (the default batch, 128, would make no full batch on a dataset small enough to
    search on a CPU); with AdamW it is 1e-2, the rate the tiny-scale recipe uses (docs/training.md).
    """
    args = ["autotsnet", "train", str(genome), "--data", str(data), "--out", str(out / "train")]
    args += ["--batch-size", str(batch_size)]
    if not flip:
        args.append("--no-flip")
    if optimizer == "adamw":
        return shlex.join([*args, "--optimizer", "adamw", "--lr", f"{ADAMW_LR:g}"])
    return shlex.join([*args, "--lr", f"{0.4 * batch_size / 128:g}"])


@user_errors
def search(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder or list file.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory.")],
    target_gflops: Annotated[
        str, typer.Option("--target-gflops", help="FLOPs target per step, e.g. 1.4,2.0,2.5.")
    ] = "1.4,2.0,2.5",
    epochs: Annotated[
        str, typer.Option("--epochs", help="Epochs per step, e.g. 800,400,200.")
    ] = "800,400,200",
    warmup_epochs: Annotated[
        str,
        typer.Option(
            "--warmup-epochs",
            help="Weights-only epochs before each step's alpha updates: one value or one per "
            "step (default 0, as in the paper).",
        ),
    ] = "0",
    steps: Annotated[
        str, typer.Option("--steps", help="Ordered subset of sparse,dense,attention.")
    ] = "sparse,dense,attention",
    one_step: Annotated[
        bool, typer.Option("--one-step", help="Search everything at once (Table 9 ablation).")
    ] = False,
    samples: Annotated[int, typer.Option("--samples", help="K architectures per step.")] = 8,
    frames: Annotated[
        str | None, typer.Option("--frames", help="Sparse,dense frames (e.g. 4,32).")
    ] = None,
    crop: Annotated[int | None, typer.Option("--crop", help="Training crop (e.g. 160).")] = None,
    space_scale: Annotated[
        str, typer.Option("--space-scale", help="full (Table 1) or tiny (CPU minutes).")
    ] = "full",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Clips per batch.")] = 16,
    alpha_batch_size: Annotated[
        int | None,
        typer.Option(
            "--alpha-batch-size",
            help="Clips each sample is scored on (default: --batch-size).",
        ),
    ] = None,
    importance: Annotated[
        str, typer.Option("--importance", help="accuracy (Auto-TSNet) or likelihood (PARSEC).")
    ] = "accuracy",
    baseline: Annotated[
        str,
        typer.Option(
            "--baseline",
            help="none (the papers' estimator) or mean (centred alpha coefficients, less noise).",
        ),
    ] = "none",
    head_norm: Annotated[
        str,
        typer.Option(
            "--head-norm",
            help="none (X3D's head) or bn (BatchNorm1d before the head's hidden ReLU: its "
            "units cannot die).",
        ),
    ] = "none",
    beta: Annotated[float, typer.Option("--beta", help="Weight of the FLOPs hinge.")] = 1.0,
    lr: Annotated[
        float | None,
        typer.Option("--lr", help="Learning rate of the shared weights (0.4 sgd, 0.01 adamw)."),
    ] = None,
    optimizer: Annotated[
        str, typer.Option("--optimizer", help="sgd or adamw, for the shared weights.")
    ] = "sgd",
    lr_alpha: Annotated[float, typer.Option("--lr-alpha", help="Adam lr of alpha.")] = 0.025,
    kernel_mode: Annotated[
        str, typer.Option("--kernel-mode", help="crop (OFA) or separate depthwise kernels.")
    ] = "crop",
    max_iters: Annotated[
        int | None, typer.Option("--max-iters", help="Cap on iterations per epoch.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed.")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Data loader workers.")] = 0,
    no_flip: Annotated[
        bool,
        typer.Option(
            "--no-flip", help="No random flip of weight clips (direction-sensitive classes)."
        ),
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue RUN_DIR's search.")] = False,
) -> None:
    """Search a two-stream architecture with progressive PARSEC and write RUN_DIR/genome.json."""
    if importance not in ("accuracy", "likelihood"):
        raise fail(f"--importance {importance!r}: must be accuracy or likelihood")
    if kernel_mode not in ("crop", "separate"):
        raise fail(f"--kernel-mode {kernel_mode!r}: must be crop or separate")
    fr = parse_frames(frames)
    config = SearchConfig(
        targets_gflops=_floats(target_gflops, "--target-gflops"),
        epochs=_ints(epochs, "--epochs"),
        warmup_epochs=_ints(warmup_epochs, "--warmup-epochs"),
        steps=parse_steps(steps),
        one_step=one_step,
        samples=samples,
        importance="accuracy" if importance == "accuracy" else "likelihood",
        beta=beta,
        lr_weights=lr if lr is not None else (ADAMW_LR if optimizer == "adamw" else 0.4),
        optimizer=optimizer,
        lr_alpha=lr_alpha,
        space_scale=space_scale,
        frames=fr,
        crop=crop,
        kernel_mode="crop" if kernel_mode == "crop" else "separate",
        seed=seed,
        max_iters=max_iters,
        alpha_batch_size=alpha_batch_size,
        flip=not no_flip,
        baseline=cast(Baseline, baseline),  # checked by plan_steps below
        head_norm=cast(HiddenNorm, head_norm),  # likewise
    )
    plan_steps(config)  # bad steps/targets/epochs fail before the dataset is opened
    rank, world, device = _init_distributed()
    logging.basicConfig(level=logging.WARNING)
    space = search_space(config)
    genome = with_inputs(space.base, config.frames, config.crop)
    batches = VideoSearchData(
        data,
        genome,
        batch_size=batch_size,
        seed=seed,
        workers=workers,
        rank=rank,
        world=world,
        alpha_batch_size=alpha_batch(alpha_batch_size, batch_size),
        flip=config.flip,
    )
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=rank != 0,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(desc: str, done: int, total: int) -> None:
            step = desc.split(" ", 1)[0]
            if step not in tasks:
                tasks[step] = int(bar.add_task(desc, total=total))
            bar.update(tasks[step], completed=done, description=desc)  # type: ignore[arg-type]

        result = run_search(config, batches, out, resume=resume, progress=progress, device=device)
    if rank == 0:
        out_console = Console(soft_wrap=True, highlight=False)
        out_console.print(f"genome written to {result.genome_path}", markup=False)
        out_console.print(
            "train it with: "
            + train_hint(result.genome_path, data, out, batch_size, optimizer, flip=config.flip),
            markup=False,
        )
    if dist.is_initialized():
        dist.destroy_process_group()


def register(app: typer.Typer) -> None:
    """Add the ``search`` command to ``app``."""
    app.command("search")(search)
