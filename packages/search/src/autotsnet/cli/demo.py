"""``autotsnet demo``: the whole story on the built-in synthetic dataset, on a CPU.

1. generate the synthetic dataset (reused when an identical one is already there);
2. search a two-stream genome with progressive PARSEC (sparse, dense + fusion, attention) at
   tiny scale;
3. train the found genome and the zoo baseline (shrunk to the same scale) closest in FLOPs;
4. evaluate both with 10x1 and 10x3 multi-view testing;
5. export the searched model to ONNX;
6. classify a validation video with the exported model.

It ends with a table of searched model against baseline and the paths of the pictures.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from autotsnet.cli._errors import user_errors
from autotsnet.data import open_dataset
from autotsnet.data.synth import generate_synthetic
from autotsnet.infer import Predictor, export_onnx
from autotsnet.models import Genome, shrink, zoo
from autotsnet.models.cost import estimate
from autotsnet.models.draw import draw_genome
from autotsnet.search.config import SearchConfig
from autotsnet.search.data import VideoSearchData
from autotsnet.search.progressive import run_search, search_space, with_inputs
from autotsnet.train.checkpoint import load_model_from_checkpoint
from autotsnet.train.config import OptimizerName, TrainConfig
from autotsnet.train.evaluate import evaluate
from autotsnet.train.loop import train

__all__ = ["DemoSettings", "demo", "register", "run_demo"]

logger = logging.getLogger(__name__)

STAGES = 6
TINY_TARGETS = (0.005, 0.008, 0.011)
"""GFLOPs per view of the three search steps at tiny scale, in about the paper's proportions
(1.4, 2.0, 2.5); the shrunk Auto-TSNet-S twin (the baseline) costs 0.0092. The last step
keeps headroom over the second, since the dense step's argmax can land above its target."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoSettings:
    """Sizes of one demo run (``quick`` for CI smoke tests, ``full`` for the README)."""

    classes: int
    videos_per_class: int
    video_frames: int
    video_size: int
    search_epochs: tuple[int, int, int]
    search_iters: int
    search_samples: int
    search_targets: tuple[float, float, float]
    train_epochs: int
    batch_size: int
    lr: float
    optimizer: OptimizerName = "adamw"
    lr_alpha: float = 0.1
    """Adam lr of alpha. The paper's 0.025 is for ~10^5 alpha steps; the demo takes a few
    dozen per step, too few for 0.025 to move alpha (and with it the FLOPs) off uniform."""
    eval_views: tuple[str, ...] = ("10x1", "10x3")

    @classmethod
    def preset(cls, quick: bool) -> DemoSettings:
        """The ``--quick`` or the full preset."""
        if quick:
            return cls(
                classes=4, videos_per_class=10, video_frames=32, video_size=48,
                search_epochs=(1, 1, 1), search_iters=4, search_samples=2,
                search_targets=TINY_TARGETS, train_epochs=3, batch_size=8, lr=1e-2,
            )  # fmt: skip
        return cls(
            classes=4, videos_per_class=60, video_frames=32, video_size=48,
            search_epochs=(4, 3, 2), search_iters=12, search_samples=4,
            search_targets=TINY_TARGETS, train_epochs=25, batch_size=16, lr=1e-2,
        )  # fmt: skip


def _stage(console: Console, index: int, title: str) -> float:
    console.rule(f"[bold cyan][{index}/{STAGES}] {title}")
    return time.perf_counter()


def _baseline_for(searched: Genome, classes: int) -> tuple[str, Genome]:
    """The zoo entry whose tiny twin (same inputs as ``searched``) is closest in FLOPs."""
    target = estimate(searched, num_classes=classes).flops
    sp = searched.sparse.input
    best: tuple[float, str, Genome] | None = None
    for name in zoo.names():
        if name.endswith(("_m", "_l", "_m_noatt", "_l_noatt")):
            continue  # same architectures as _s at larger crops
        twin = shrink(zoo.get(name), frames=sp.frames, crop=sp.train_crop)
        twin = _with_inputs_of(twin, searched)
        gap = abs(estimate(twin, num_classes=classes).flops / target - 1.0)
        if best is None or gap < best[0]:
            best = (gap, name, twin)
    assert best is not None
    return best[1], best[2]


def _with_inputs_of(genome: Genome, like: Genome) -> Genome:
    """``genome`` with the input specs of ``like`` (per stream, sparse first)."""
    sparse = dataclasses.replace(genome.sparse, input=like.sparse.input)
    dense = genome.dense
    if dense is not None:
        ref = like.dense.input if like.dense is not None else like.sparse.input
        frames = like.sparse.input.frames * genome.alpha
        dense = dataclasses.replace(dense, input=dataclasses.replace(ref, frames=frames))
    return genome.replace(sparse=sparse, dense=dense)


def run_demo(
    out: Path, *, quick: bool, seed: int = 0, threads: int = 1, console: Console | None = None
) -> dict[str, Any]:
    """Run the six demo stages into ``out`` and return the summary (also ``summary.json``).

    Args:
        out: Output folder (re-runs reuse the dataset and finished stages in it).
        quick: Use the ~3-minute smoke-test sizes instead of the full demo.
        seed: Seed of data, search and training.
        threads: Torch intra-op threads. The demo's tiny models run fastest on one thread;
            more threads only add synchronisation (and thrash when other jobs share the CPU).
        console: Where to print (default: stdout, at least 100 columns wide).
    """
    console = console or Console(width=max(100, Console().width))
    torch.set_num_threads(threads)
    cfg = DemoSettings.preset(quick)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    data_dir = out / "data"

    t0 = _stage(console, 1, "synthetic dataset")
    existed = (data_dir / "synth.json").exists()
    with _bar(console) as bar:
        task = bar.add_task("render + encode", total=cfg.classes * cfg.videos_per_class)
        info = generate_synthetic(
            data_dir, classes=cfg.classes, videos_per_class=cfg.videos_per_class, seed=seed,
            frames=cfg.video_frames, size=(cfg.video_size, cfg.video_size), workers=2,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    reused = existed and getattr(info, "reused", existed)
    console.print(
        f"{'reusing' if reused else 'wrote'} dataset at {data_dir} "
        f"({cfg.classes} classes x {cfg.videos_per_class} videos)"
    )
    timings["data"] = time.perf_counter() - t0

    t0 = _stage(console, 2, "progressive PARSEC search (tiny space)")
    searched, search_dir = _search(console, cfg, data_dir, out / "search", seed)
    timings["search"] = time.perf_counter() - t0

    t0 = _stage(console, 3, "train the searched genome and a zoo baseline")
    base_name, baseline = _baseline_for(searched, cfg.classes)
    models = {"searched": searched, f"{base_name} (tiny)": baseline}
    runs: dict[str, Path] = {}
    for label, genome in models.items():
        run_dir = out / ("train-searched" if label == "searched" else "train-baseline")
        console.print(f"training {label} -> {run_dir}")
        _train(genome, data_dir, run_dir, cfg, seed)
        runs[label] = run_dir
    timings["train"] = time.perf_counter() - t0

    t0 = _stage(console, 4, "multi-view evaluation (10x1, 10x3)")
    evals: dict[str, dict[str, dict[str, Any]]] = {}
    for label, run_dir in runs.items():
        evals[label] = {}
        for views in cfg.eval_views:
            evals[label][views] = evaluate(
                run_dir / "final.pt", data_dir, views=views, out=run_dir / f"eval-{views}",
                overwrite=True,
            )  # fmt: skip
            top1 = evals[label][views]["top1"]
            console.print(f"{label:<28} {views}: top-1 {100 * top1:.1f}%")
    timings["eval"] = time.perf_counter() - t0

    t0 = _stage(console, 5, "export to ONNX")
    exports = {label: _export(run_dir, data_dir) for label, run_dir in runs.items()}
    timings["export"] = time.perf_counter() - t0

    t0 = _stage(console, 6, "classify a video with the exported model")
    items, class_map = open_dataset(data_dir, "val")
    video = items[0].path
    prediction = _classify(exports["searched"], video)
    console.print(f"{video} (true: {class_map.names[items[0].label]})")
    for entry in prediction.get("top", []):
        console.print(f"  {entry['label']:<24} {entry['probability']:.3f}")
    timings["classify"] = time.perf_counter() - t0

    pictures = {
        "architecture": draw_genome(searched, out / "searched_genome.png"),
        "search entropy": search_dir / "entropy.png",
        "search FLOPs": search_dir / "flops.png",
        "alpha heatmap": search_dir / "alpha_sparse.png",
        "confusion matrix": runs["searched"] / "eval-10x3" / "confusion.png",
    }
    summary = _summary(models, runs, evals, exports, cfg, timings, prediction, pictures)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    _print_summary(console, summary)
    return summary


def _search(
    console: Console, cfg: DemoSettings, data_dir: Path, out: Path, seed: int
) -> tuple[Genome, Path]:
    config = SearchConfig(
        targets_gflops=cfg.search_targets, epochs=cfg.search_epochs, samples=cfg.search_samples,
        space_scale="tiny", seed=seed, max_iters=cfg.search_iters, lr_weights=cfg.lr,
        optimizer=cfg.optimizer, lr_alpha=cfg.lr_alpha,
        flip=False,  # the synthetic classes are direction-sensitive
    )  # fmt: skip
    genome = with_inputs(search_space(config).base, config.frames, config.crop)
    batches = VideoSearchData(data_dir, genome, batch_size=cfg.batch_size, seed=seed, workers=0,
                              flip=config.flip)  # fmt: skip
    with _bar(console) as bar:
        tasks: dict[str, Any] = {}

        def progress(desc: str, done: int, total: int) -> None:
            step = desc.split(" ", 1)[0]
            if step not in tasks:
                tasks[step] = bar.add_task(desc, total=total)
            bar.update(tasks[step], completed=done, total=total, description=desc)

        result = run_search(config, batches, out, resume=(out / "checkpoint.pt").exists(),
                            progress=progress)  # fmt: skip
    report = estimate(result.genome, num_classes=cfg.classes)
    console.print(
        f"searched genome {result.genome.genome_id}: {report.gflops_per_view * 1e3:.2f} "
        f"MFLOPs/view, {report.params / 1e3:.0f}k params -> {result.genome_path}"
    )
    return result.genome, out


def _train(genome: Genome, data_dir: Path, run_dir: Path, cfg: DemoSettings, seed: int) -> None:
    config = TrainConfig(
        epochs=cfg.train_epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer=cfg.optimizer,
        warmup_epochs=1.0,
        weight_decay=5e-5, workers=0, seed=seed, precise_bn=0, ckpt_every_steps=0,
        keep_last=1, flip=False, device="cpu",
    )  # fmt: skip
    finished = (run_dir / "final.pt").exists()
    if finished:
        Console().print(f"reusing finished run {run_dir}")
        return
    train(genome, data_dir, run_dir, config, resume=run_dir.exists(), progress=True)


def _export(run_dir: Path, data_dir: Path) -> dict[str, Any]:
    """Export a finished run to ``run_dir/onnx`` and time one 1-view batch in ONNX Runtime."""
    model, genome, class_map = load_model_from_checkpoint(run_dir / "final.pt")
    out = run_dir / "onnx"
    result = export_onnx(
        model, genome, out, class_names=class_map.names, overwrite=True,
        source={"checkpoint": str(run_dir / "final.pt")},
    )  # fmt: skip
    Console().print(
        f"exported {result.model_path} ({result.exporter}); parity max |diff| "
        f"{result.max_abs_diff:.2e}"
    )
    predictor = Predictor.from_export(out, views="1x1", threads=1)
    items, _ = open_dataset(data_dir, "val")
    feeds = predictor.load_views(items[0].path)
    for _ in range(3):
        predictor.run(feeds)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        predictor.run(feeds)
        times.append(time.perf_counter() - start)
    return {
        "model": result.model_path,
        "dir": out,
        "max_abs_diff": result.max_abs_diff,
        "latency_ms": 1e3 * statistics.median(times),
    }


def _classify(export: dict[str, Any], video: Path) -> dict[str, Any]:
    """Top-5 of one video from the exported model with 10x3 views."""
    prediction = Predictor.from_export(export["dir"], views="10x3").predict(video)
    return prediction.to_dict(5)


def _summary(
    models: dict[str, Genome],
    runs: dict[str, Path],
    evals: dict[str, dict[str, dict[str, Any]]],
    exports: dict[str, dict[str, Any]],
    cfg: DemoSettings,
    timings: dict[str, float],
    prediction: dict[str, Any],
    pictures: dict[str, Path],
) -> dict[str, Any]:
    rows = []
    for label, genome in models.items():
        views = {v: evals[label][v]["num_views_per_video"] for v in cfg.eval_views}
        cost = estimate(genome, num_classes=cfg.classes, views=views.get("10x3", 30))
        rows.append(
            {
                "model": label,
                "genome_id": genome.genome_id,
                "top1": {v: evals[label][v]["top1"] for v in cfg.eval_views},
                "views": views,
                "params": cost.params,
                "gflops_per_view": cost.gflops_per_view,
                "gflops_per_video": cost.gflops_per_video,
                "onnx_latency_ms": exports[label]["latency_ms"],
                "run_dir": str(runs[label]),
                "onnx": str(exports[label]["model"]),
            }
        )
    return {
        "settings": dataclasses.asdict(cfg),
        "chance": 1.0 / cfg.classes,
        "models": rows,
        "prediction": prediction,
        "pictures": {k: str(v) for k, v in pictures.items()},
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(
        title="searched model vs zoo baseline (synthetic dataset, CPU)",
        caption="GFLOPs/video = GFLOPs/view x 30 views (10x3); ORT ms = ONNX Runtime, 1 view",
    )
    for col in ("model", "top-1 10x1", "top-1 10x3", "params", "GFLOPs/view",
                "GFLOPs/video", "ORT ms"):  # fmt: skip
        table.add_column(col, justify="left" if col == "model" else "right")
    for row in summary["models"]:
        top1 = row["top1"]
        table.add_row(
            row["model"],
            f"{100 * top1.get('10x1', float('nan')):.1f}%",
            f"{100 * top1.get('10x3', float('nan')):.1f}%",
            f"{row['params'] / 1e3:.0f}k",
            f"{row['gflops_per_view']:.4f}",
            f"{row['gflops_per_video']:.3f}",
            f"{row['onnx_latency_ms']:.2f}",
        )
    console.print(table)
    console.print(f"chance level: {100 * summary['chance']:.1f}%")
    console.print("[bold]pictures:")
    for name, path in summary["pictures"].items():
        console.print(f"  {name:<18} {path}")
    total = sum(summary["seconds"].values())
    console.print(f"stage times (s): {summary['seconds']}  total {total:.0f} s")


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip


@user_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where the demo writes everything.")] = Path(
        "runs/demo"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="A ~3-minute smoke run (what CI runs).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of data, search and training.")] = 0,
    threads: Annotated[int, typer.Option("--threads", help="Torch intra-op threads.")] = 1,
) -> None:
    """Run the end-to-end demo: data, search, train, evaluate, export, classify."""
    run_demo(out, quick=quick, seed=seed, threads=threads)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the CLI."""
    app.command("demo")(demo)
