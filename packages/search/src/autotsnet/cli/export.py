"""``autotsnet export``: ONNX, TensorRT or a Triton model repository, with a parity check.

SOURCE is a checkpoint (trained weights and class names), or a genome JSON / zoo name with
seeded random weights (for latency work). Examples::

    autotsnet export runs/a/final.pt -o exports/a                    # ONNX + model.json
    autotsnet export auto_tsnet_s -o exports/s --num-classes 400     # random weights
    autotsnet export runs/a/final.pt --format triton -o repo --name action --trt-accelerator
    autotsnet export runs/a/final.pt --format tensorrt -o exports/a-trt   # CUDA + torch-tensorrt
"""

from __future__ import annotations

import json
import logging
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console

from autotsnet.cli._errors import fail, one_line
from autotsnet.cli._options import load_target
from autotsnet.data.classmap import ClassMap
from autotsnet.data.transforms import KINETICS_MEAN, KINETICS_STD
from autotsnet.infer.errors import BackendUnavailableError, ParityError
from autotsnet.infer.onnx_export import ExportOptions, ExportResult, example_inputs, input_specs
from autotsnet.infer.onnx_export import export_onnx as run_export_onnx
from autotsnet.infer.random_weights import randomize
from autotsnet.infer.spec import Head
from autotsnet.infer.tensorrt import TensorRTOptions, export_tensorrt, require_tensorrt
from autotsnet.infer.triton import TritonOptions, write_triton_repository
from autotsnet.models.builder import VideoNet, build_model
from autotsnet.models.genome import Genome
from autotsnet.models.shrink import shrink
from autotsnet.train.checkpoint import load_checkpoint, load_model_from_checkpoint

__all__ = ["ExportFormat", "export_command", "load_source", "register"]

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


class ExportFormat(StrEnum):
    """What ``autotsnet export`` writes."""

    onnx = "onnx"
    tensorrt = "tensorrt"
    triton = "triton"


class ExporterChoice(StrEnum):
    """ONNX exporter."""

    torchscript = "torchscript"
    dynamo = "dynamo"
    auto = "auto"


class InstanceKind(StrEnum):
    """Triton instance kind."""

    gpu = "gpu"
    cpu = "cpu"


def _is_checkpoint(text: str) -> bool:
    p = Path(text)
    return p.suffix.lower() in _CHECKPOINT_SUFFIXES or (p.is_file() and p.suffix != ".json")


def load_source(
    source: str, *, num_classes: int, classes: Path | None, tiny: bool, seed: int
) -> tuple[VideoNet, Genome, list[str], dict[str, Any], tuple[Any, Any]]:
    """Resolve SOURCE to ``(model, genome, class names, provenance, (mean, std))``."""
    if _is_checkpoint(source):
        if tiny:
            raise ValueError("--tiny applies to a genome or zoo name, not to a checkpoint")
        path = Path(source)
        model, genome, cmap = load_model_from_checkpoint(path)
        spec = load_checkpoint(path).get("input") or {}
        sparse = spec.get("sparse", {}) if isinstance(spec, dict) else {}
        mean = tuple(sparse.get("mean", KINETICS_MEAN))
        std = tuple(sparse.get("std", KINETICS_STD))
        trained = {"kind": "checkpoint", "path": str(path), "weights": "trained"}
        return model, genome, list(cmap.names), trained, (mean, std)
    genome, entry = load_target(source)
    genome = shrink(genome) if tiny else genome
    names = list(ClassMap.load(classes).names) if classes else [str(i) for i in range(num_classes)]
    if not names:
        raise ValueError("--num-classes must be at least 1")
    with torch.random.fork_rng(devices=[]):
        model = build_model(genome, num_classes=len(names))
    specs = input_specs(genome, crop=genome.sparse.input.train_crop)
    randomize(model, lambda g: example_inputs(specs, (4,), generator=g), seed=seed)
    prov: dict[str, Any] = {
        "kind": "zoo" if entry is not None else "genome",
        "value": source,
        "tiny": tiny,
        "weights": f"random (seed {seed}, BN calibrated on noise)",
    }
    return model, genome, names, prov, (KINETICS_MEAN, KINETICS_STD)


def export_command(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="Checkpoint (.pt), genome JSON, or zoo name (random weights).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder (Triton: repo root).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="What to write.")] = (
        ExportFormat.onnx
    ),
    with_softmax: Annotated[
        bool, typer.Option("--with-softmax", help="Output per-view probabilities.")
    ] = False,
    view_mean: Annotated[
        bool,
        typer.Option("--view-mean", help="Inputs (B, V, ...); output mean probabilities (ONNX)."),
    ] = False,
    fp16: Annotated[
        bool, typer.Option("--fp16", help="Half precision (TensorRT engines are always FP16).")
    ] = False,
    opset: Annotated[int, typer.Option(help="ONNX opset (17 or later).")] = 17,
    exporter: Annotated[ExporterChoice, typer.Option(help="ONNX exporter.")] = (
        ExporterChoice.torchscript
    ),
    crop: Annotated[
        int | None, typer.Option(help="Input size (default: genome train crop, 10x1 views).")
    ] = None,
    views: Annotated[str, typer.Option(help="Default test views stored in model.json.")] = "10x1",
    depthwise_2d: Annotated[
        bool,
        typer.Option(
            "--depthwise-2d/--no-depthwise-2d",
            help="Rewrite depthwise Conv3d as Conv2d taps (faster ONNX Runtime CPU).",
        ),
    ] = True,
    tolerance: Annotated[
        float | None, typer.Option(help="Parity tolerance (default 1e-4 fp32, 2e-2 fp16).")
    ] = None,
    num_classes: Annotated[
        int, typer.Option(help="Classes of a random-weight export (genome/zoo source).")
    ] = 400,
    classes: Annotated[
        Path | None, typer.Option(help="classes.json naming the classes (genome/zoo source).")
    ] = None,
    tiny: Annotated[
        bool, typer.Option("--tiny", help="Export the genome's tiny twin (tests, smoke runs).")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of random weights and parity inputs.")] = 0,
    name: Annotated[str | None, typer.Option(help="Triton model name.")] = None,
    max_batch_size: Annotated[
        int, typer.Option(help="Triton max_batch_size (rows = views x videos).")
    ] = 32,
    instance_kind: Annotated[InstanceKind, typer.Option(help="Triton instances.")] = (
        InstanceKind.gpu
    ),
    instance_count: Annotated[int, typer.Option(help="Triton instances per device.")] = 1,
    trt_accelerator: Annotated[
        bool,
        typer.Option("--trt-accelerator", help="Triton: ONNX Runtime TensorRT accelerator, FP16."),
    ] = False,
    max_videos: Annotated[
        int, typer.Option(help="TensorRT profile: videos per batch at most.")
    ] = 4,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing export.")] = (
        False
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Export SOURCE to ONNX (model.onnx + model.json), TensorRT, or a Triton repository."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    head: Head = "view_mean" if view_mean else ("softmax" if with_softmax else "logits")
    try:
        if fmt is ExportFormat.tensorrt:
            require_tensorrt()  # before any slow work: exit 2 with one line when unavailable
        model, genome, names, prov, (mean, std) = load_source(
            source, num_classes=num_classes, classes=classes, tiny=tiny, seed=seed
        )
        if fmt is ExportFormat.tensorrt:
            result = export_tensorrt(
                model, genome, out, class_names=names, mean=mean, std=std, source=prov,
                overwrite=overwrite, options=TensorRTOptions(
                    head=head, fp16=True, views=_num_views(views),
                    max_videos=max_videos, crop=crop, tolerance=tolerance, seed=seed,
                ),
            )  # fmt: skip
            _report(result, None, as_json)
            return
        options = ExportOptions(
            head=head, fp16=fp16, opset=opset, exporter=exporter.value, crop=crop,
            depthwise_2d=depthwise_2d, tolerance=tolerance, seed=seed, views=views,
        )  # fmt: skip
        if fmt is ExportFormat.onnx:
            result = run_export_onnx(
                model, genome, out, class_names=names, options=options, mean=mean, std=std,
                source=prov, overwrite=overwrite,
            )  # fmt: skip
            _report(result, None, as_json)
            return
        triton = TritonOptions(
            name=name, max_batch_size=max_batch_size, instance_kind=instance_kind.value,
            instance_count=instance_count, tensorrt=trt_accelerator,
        )  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".onnx-", dir=out) as tmp:
            result = run_export_onnx(
                model, genome, Path(tmp), class_names=names, options=options, mean=mean,
                std=std, source=prov,
            )  # fmt: skip
            model_dir = write_triton_repository(Path(tmp), out, triton, overwrite=overwrite)
        _report(result, model_dir, as_json)
    except ParityError as exc:
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        raise typer.Exit(1) from None
    except BackendUnavailableError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:
        raise fail(str(exc) or type(exc).__name__) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from None


def _num_views(views: str) -> int:
    parts = views.lower().split("x")
    try:
        return max(1, int(parts[0]) * (int(parts[1]) if len(parts) > 1 else 1))
    except ValueError:
        raise ValueError(f"--views must look like 10x1, got {views!r}") from None


def _report(result: ExportResult, triton_dir: Path | None, as_json: bool) -> None:
    spec = result.spec
    parity = spec.parity
    if as_json:
        payload = {
            "model": str(result.model_path if triton_dir is None else triton_dir),
            "format": "triton" if triton_dir is not None else spec.backend,
            "exporter": result.exporter,
            "opset": spec.opset,
            "precision": spec.precision,
            "head": spec.head,
            "max_abs_diff": result.max_abs_diff,
            "tolerance": parity.get("tolerance"),
            "seconds": round(result.seconds, 2),
            "notes": result.notes,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    for note in result.notes:
        console.print(f"[yellow]note[/yellow] {note}")
    where = triton_dir if triton_dir is not None else result.model_path.parent
    console.print(
        f"wrote {where} ({spec.backend}, {result.exporter}, opset {spec.opset}, "
        f"{spec.precision}, head {spec.head}) in {result.seconds:.1f} s"
    )
    compared = parity.get("compared", "output")
    console.print(
        f"parity vs PyTorch: max abs diff {result.max_abs_diff:.3e} on {compared} "
        f"(tolerance {parity.get('tolerance'):.0e}) OK"
    )


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to ``app``."""
    app.command("export")(export_command)
