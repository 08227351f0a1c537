"""ONNX export with a dynamic batch axis, ``onnx.checker`` and a parity check on every export.

Pipeline of :func:`export_onnx`::

    model ─ rewrite depthwise convs (optional) ─ export head ─ [fp16] ─ torch.onnx.export
          ─ onnx.checker (full) ─ graph check (names, dtypes, dynamic batch)
          ─ parity: ONNX Runtime (CPU) vs the untouched PyTorch model at two batch sizes
          ─ model.onnx + model.json, moved into place only when everything passed

Exporters: ``torchscript`` (``dynamo=False``, opset 17) and ``dynamo`` (``torch.export`` +
onnxscript; it emits opset 18 because its down-converter cannot reach 17 for these graphs).
``auto`` tries ``dynamo`` and falls back to ``torchscript`` when it raises or its graph
fails a check. Both give a dynamic batch axis and parity on every zoo genome; the
TorchScript exporter is much faster (docs/deploy.md: 8.3 s vs 31.5 s for the whole export
of tiny auto_tsnet_s), so it is the default.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import re
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import torch
from torch import nn

from autotsnet.data.transforms import KINETICS_MEAN, KINETICS_STD
from autotsnet.infer.errors import ExportError, ParityError
from autotsnet.infer.rewrite import rewrite_depthwise
from autotsnet.infer.spec import SIDECAR_NAME, ExportSpec, Head, Preprocess, TensorSpec
from autotsnet.infer.wrappers import output_name, wrap
from autotsnet.models.genome import Genome

__all__ = [
    "FP16_TOLERANCE",
    "FP32_TOLERANCE",
    "ExportOptions",
    "ExportResult",
    "Exporter",
    "example_inputs",
    "export_onnx",
    "input_specs",
    "library_versions",
]

logger = logging.getLogger(__name__)

Exporter = Literal["auto", "dynamo", "torchscript"]
FP32_TOLERANCE = 1e-4
"""Largest max-abs difference to PyTorch accepted for an fp32 export."""
FP16_TOLERANCE = 2e-2
"""Default for fp16 exports: max abs difference of the class *probabilities* to fp32 PyTorch."""
MIN_OPSET = 17
_MAX_BATCH = 4096


@dataclass(frozen=True)
class ExportOptions:
    """How to export.

    Attributes:
        head: ``logits``, ``softmax`` (``--with-softmax``) or ``view_mean``.
        fp16: Half-precision weights and inputs.
        opset: Minimum ONNX opset (>= 17).
        exporter: ``torchscript``, ``dynamo`` or ``auto`` (dynamo, then torchscript).
        crop: Spatial size of the inputs (default: the genome's train crop, i.e. 10x1 views).
        depthwise_2d: Apply :func:`autotsnet.infer.rewrite.rewrite_depthwise`.
        tolerance: Parity tolerance (default: 1e-4 on the raw output in fp32; 2e-2 on the
            class probabilities in fp16, whose logits differ by up to ~0.2 on GloRe nets).
        seed: Seed of the parity inputs.
        views: Default test views written to the sidecar.
    """

    head: Head = "logits"
    fp16: bool = False
    opset: int = MIN_OPSET
    exporter: Exporter = "torchscript"
    crop: int | None = None
    depthwise_2d: bool = True
    tolerance: float | None = None
    seed: int = 0
    views: str = "10x1"

    @property
    def parity_tolerance(self) -> float:
        """The tolerance in effect."""
        if self.tolerance is not None:
            return self.tolerance
        return FP16_TOLERANCE if self.fp16 else FP32_TOLERANCE


@dataclass
class ExportResult:
    """What :func:`export_onnx` produced.

    Attributes:
        spec: The sidecar written beside the model.
        model_path: The ``.onnx`` file.
        max_abs_diff: Parity result (ONNX Runtime vs PyTorch).
        exporter: The exporter that produced the file.
        seconds: Wall time of the whole export.
        notes: Fallbacks and warnings worth showing to the user.
    """

    spec: ExportSpec
    model_path: Path
    max_abs_diff: float
    exporter: str
    seconds: float
    notes: list[str] = field(default_factory=list)


def library_versions() -> dict[str, str]:
    """Versions of the libraries an export depends on."""
    out = {"torch": torch.__version__, "onnx": onnx.__version__}
    for dist in ("onnxruntime-gpu", "onnxruntime", "onnxscript", "autotsnet"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _crop(genome: Genome, options: ExportOptions) -> int:
    crop = options.crop or genome.sparse.input.train_crop
    if crop < 1:
        raise ExportError(f"--crop = {crop}: must be positive")
    return crop


def input_specs(
    genome: Genome, *, crop: int, dtype: str = "float32", views_axis: bool = False
) -> tuple[TensorSpec, ...]:
    """Graph inputs of a genome: one per stream, named after it (``sparse``, ``dense``)."""
    lead: tuple[str, ...] = ("batch", "views") if views_axis else ("batch",)
    return tuple(
        TensorSpec(
            name=name,
            dtype=dtype,
            shape=(*lead, 3, s.input.frames, crop, crop),
            stream=name,
            frames=s.input.frames,
            temporal_stride=s.input.temporal_stride,
        )
        for name, s in genome.streams.items()
    )


def example_inputs(
    specs: Sequence[TensorSpec],
    lead: tuple[int, ...],
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, ...]:
    """Random inputs for ``specs`` with the dynamic axes set to ``lead``."""
    out = []
    for s in specs:
        fixed = [d for d in s.shape if isinstance(d, int)]
        out.append(torch.randn(*lead, *fixed, generator=generator).to(dtype))
    return tuple(out)


def export_onnx(
    model: nn.Module,
    genome: Genome,
    out_dir: Path,
    *,
    class_names: Sequence[str],
    options: ExportOptions | None = None,
    mean: tuple[float, float, float] = KINETICS_MEAN,
    std: tuple[float, float, float] = KINETICS_STD,
    source: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Export ``model`` to ``out_dir/model.onnx`` with its ``model.json`` sidecar.

    Args:
        model: The network built from ``genome`` (moved to CPU fp32 for the export).
        genome: Its genome (input names, frames, crops).
        out_dir: Output folder (created).
        class_names: Class names in label order.
        options: Export options.
        mean: Normalisation mean stored in the sidecar.
        std: Normalisation std stored in the sidecar.
        source: Provenance stored in the sidecar.
        overwrite: Replace an existing export in ``out_dir``.

    Returns:
        The result; ``result.max_abs_diff`` is the parity check's figure.

    Raises:
        ExportError: Bad options, a failed exporter or checker, or an existing export.
        ParityError: ONNX Runtime disagrees with PyTorch beyond the tolerance.
    """
    opts = options or ExportOptions()
    started = time.perf_counter()
    if opts.opset < MIN_OPSET:
        raise ExportError(f"--opset = {opts.opset}: must be {MIN_OPSET} or later")
    if len(class_names) < 1:
        raise ExportError("an export needs at least one class name")
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, overwrite)
    crop = _crop(genome, opts)
    dtype = "float16" if opts.fp16 else "float32"
    specs = input_specs(genome, crop=crop, dtype=dtype, views_axis=opts.head == "view_mean")
    out_spec = TensorSpec(output_name(opts.head), dtype, ("batch", len(class_names)))
    base = copy.deepcopy(model).float().cpu().eval()
    reference = wrap(base, opts.head).eval()
    exportable = _exportable(base, specs, opts)
    notes: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as tmp:
        tmp_path = Path(tmp) / "model.onnx"
        used, diff, opset = _export_checked(
            exportable, reference, specs, out_spec, tmp_path, opts, notes
        )
        spec = ExportSpec(
            backend="onnx",
            model_file="model.onnx",
            genome=genome,
            class_names=tuple(class_names),
            inputs=specs,
            outputs=(out_spec,),
            head=opts.head,
            preprocess=Preprocess(
                mean=mean,
                std=std,
                short_side=max(genome.sparse.input.test_short_side, crop),
                crop=crop,
                views=opts.views,
            ),
            precision="fp16" if opts.fp16 else "fp32",
            opset=opset,
            exporter=used,
            depthwise_2d=opts.depthwise_2d,
            parity=_parity_record(diff, opts),
            source=dict(source or {}),
            versions=library_versions(),
            name=genome.name,
        )
        os.replace(tmp_path, out_dir / "model.onnx")
    spec.save(out_dir)
    seconds = time.perf_counter() - started
    logger.info("exported %s with %s in %.1f s (max abs diff %.2e)", out_dir, used, seconds, diff)
    return ExportResult(spec, out_dir / "model.onnx", diff, used, seconds, notes)


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir}: exists and is not a directory")
    taken = [n for n in ("model.onnx", SIDECAR_NAME) if (out_dir / n).exists()]
    if taken and not overwrite:
        raise ExportError(f"{out_dir}: already holds {taken[0]}; pass --overwrite to replace it")


def _exportable(base: nn.Module, specs: Sequence[TensorSpec], opts: ExportOptions) -> nn.Module:
    if opts.depthwise_2d:
        gen = torch.Generator().manual_seed(opts.seed)
        base = rewrite_depthwise(base, example_inputs(_fold(specs), (2,), generator=gen))
    wrapped = wrap(base, opts.head).eval()
    return copy.deepcopy(wrapped).half() if opts.fp16 else wrapped


def _fold(specs: Sequence[TensorSpec]) -> tuple[TensorSpec, ...]:
    """Specs with a views axis folded into the batch axis (what the inner model sees)."""
    return tuple(
        TensorSpec(s.name, s.dtype, ("batch", *s.shape[-4:]), s.stream, s.frames) for s in specs
    )


def _parity_record(diff: float, opts: ExportOptions) -> dict[str, Any]:
    return {
        "max_abs_diff": diff,
        "tolerance": opts.parity_tolerance,
        "reference": "PyTorch fp32 CPU, untouched model",
        "compared": "probabilities" if opts.fp16 else "output",
        "runtime": "onnxruntime CPUExecutionProvider",
        "leading_shapes": [list(s) for s in _parity_shapes(opts.head)],
        "seed": opts.seed,
    }


def _parity_shapes(head: Head) -> tuple[tuple[int, ...], ...]:
    # Sizes other than the export's example (2) prove the batch axis is really dynamic.
    return ((1, 2), (2, 3)) if head == "view_mean" else ((1,), (3,))


def _export_checked(
    module: nn.Module,
    reference: nn.Module,
    specs: Sequence[TensorSpec],
    out_spec: TensorSpec,
    path: Path,
    opts: ExportOptions,
    notes: list[str],
) -> tuple[str, float, int]:
    if opts.exporter not in ("auto", "dynamo", "torchscript"):
        raise ExportError(f"--exporter = {opts.exporter!r}: must be auto, dynamo or torchscript")
    order: list[str] = ["dynamo", "torchscript"] if opts.exporter == "auto" else [opts.exporter]
    for i, name in enumerate(order):
        try:
            _run_exporter(name, module, specs, out_spec, path, opts)
            opset = _check_graph(path, specs, out_spec)
            diff = parity_check(path, reference, specs, opts)
            return name, diff, opset
        except ParityError:
            if i == len(order) - 1:
                raise
            notes.append(f"{name} exporter failed the parity check; falling back")
        except ExportError as exc:
            if i == len(order) - 1:
                raise
            notes.append(f"{name} exporter: {exc}; falling back to {order[i + 1]}")
        except Exception as exc:  # exporters raise many types; all mean "this one failed"
            first = _first_line(exc)
            if i == len(order) - 1:
                raise ExportError(f"{name} ONNX exporter failed: {first}") from exc
            notes.append(f"{name} exporter failed ({first}); falling back to {order[i + 1]}")
        logger.warning(notes[-1])
    raise AssertionError("unreachable")  # pragma: no cover


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc)).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _run_exporter(
    name: str,
    module: nn.Module,
    specs: Sequence[TensorSpec],
    out_spec: TensorSpec,
    path: Path,
    opts: ExportOptions,
) -> None:
    gen = torch.Generator().manual_seed(opts.seed)
    views = opts.head == "view_mean"
    dtype = torch.float16 if opts.fp16 else torch.float32
    args = example_inputs(specs, (2, 3) if views else (2,), generator=gen, dtype=dtype)
    names = [s.name for s in specs]
    captured = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(captured), torch.no_grad():
        warnings.simplefilter("ignore")
        if name == "torchscript":
            axes: dict[str, dict[int, str]] = {
                n: ({0: "batch", 1: "views"} if views else {0: "batch"}) for n in names
            }
            axes[out_spec.name] = {0: "batch"}
            torch.onnx.export(
                module,
                args,
                str(path),
                dynamo=False,
                input_names=names,
                output_names=[out_spec.name],
                opset_version=opts.opset,
                dynamic_axes=axes,
                do_constant_folding=True,
            )
        else:
            batch = torch.export.Dim("batch", min=1, max=_MAX_BATCH)
            dims: dict[int, Any] = {0: batch}
            if views:
                dims[1] = torch.export.Dim("views", min=1, max=_MAX_BATCH)
            torch.onnx.export(
                module,
                args,
                str(path),
                dynamo=True,
                input_names=names,
                output_names=[out_spec.name],
                opset_version=max(opts.opset, 18),
                dynamic_shapes=tuple(dict(dims) for _ in names),
                external_data=False,
            )
    if captured.getvalue().strip():
        logger.debug("exporter output:\n%s", captured.getvalue())
    if not path.is_file():
        raise ExportError(f"{name} exporter wrote no file")


def _dims(value_info: onnx.ValueInfoProto) -> list[int | str]:
    return [
        d.dim_param or (d.dim_value if d.HasField("dim_value") else "?")
        for d in value_info.type.tensor_type.shape.dim
    ]


_ONNX_DTYPES = {"float32": onnx.TensorProto.FLOAT, "float16": onnx.TensorProto.FLOAT16}


def _check_graph(path: Path, specs: Sequence[TensorSpec], out_spec: TensorSpec) -> int:
    """Run ``onnx.checker`` and compare the graph's inputs/outputs with the specs."""
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise ExportError(f"onnx.checker rejected the graph: {exc}") from exc
    graph_model = onnx.load(str(path), load_external_data=False)
    opset = max(
        (o.version for o in graph_model.opset_import if o.domain in ("", "ai.onnx")), default=0
    )
    if opset < MIN_OPSET:
        raise ExportError(f"exported opset {opset} < {MIN_OPSET}")
    graph = graph_model.graph
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    for got, want in zip(inputs, [*specs], strict=False):
        _compare(got, want)
    if [i.name for i in inputs] != [s.name for s in specs]:
        raise ExportError(f"graph inputs {[i.name for i in inputs]} != {[s.name for s in specs]}")
    if [o.name for o in graph.output] != [out_spec.name]:
        raise ExportError(f"graph outputs {[o.name for o in graph.output]} != [{out_spec.name}]")
    _compare(graph.output[0], out_spec)
    return opset


def _compare(got: onnx.ValueInfoProto, want: TensorSpec) -> None:
    elem = got.type.tensor_type.elem_type
    if elem != _ONNX_DTYPES[want.dtype]:
        raise ExportError(f"{got.name}: graph dtype {elem} is not {want.dtype}")
    dims = _dims(got)
    if len(dims) != len(want.shape):
        raise ExportError(f"{got.name}: graph rank {len(dims)} != {len(want.shape)}")
    for axis, (g, w) in enumerate(zip(dims, want.shape, strict=True)):
        if isinstance(w, str) and isinstance(g, int):
            raise ExportError(f"{got.name}: axis {axis} ({w}) is fixed to {g}, not dynamic")
        if isinstance(w, int) and g != w:
            raise ExportError(f"{got.name}: axis {axis} is {g}, expected {w}")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


def parity_check(
    path: Path, reference: nn.Module, specs: Sequence[TensorSpec], opts: ExportOptions
) -> float:
    """Max abs difference between ONNX Runtime (CPU) and ``reference`` on random inputs.

    Raises:
        ParityError: Above ``opts.parity_tolerance``.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, torch.get_num_threads())
    so.log_severity_level = 3
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(opts.seed + 1)
    worst = 0.0
    tol = opts.parity_tolerance
    for lead in _parity_shapes(opts.head):
        clips = example_inputs(specs, lead, generator=gen)
        if opts.fp16:
            clips = tuple(c.half().float() for c in clips)  # same rounded values for both
        with torch.no_grad():
            ref = reference(*clips).float().numpy()
        feed_dtype = np.float16 if opts.fp16 else np.float32
        feeds = {s.name: c.numpy().astype(feed_dtype) for s, c in zip(specs, clips, strict=True)}
        got = np.asarray(session.run(None, feeds)[0], dtype=np.float32)
        if got.shape != ref.shape:
            raise ParityError(
                f"parity check: output shape {got.shape} != PyTorch {ref.shape} (input {lead})",
                max_abs_diff=float("inf"),
                tolerance=tol,
            )
        if opts.fp16 and opts.head == "logits":
            got, ref = _softmax(got), _softmax(ref)
        diff = float(np.max(np.abs(got - ref))) if ref.size else 0.0
        if not np.isfinite(diff):
            diff = float("inf")
        worst = max(worst, diff)
        if worst > tol:
            raise ParityError(
                f"parity check failed: max abs diff {worst:.3e} > {tol:.0e} "
                f"(ONNX Runtime vs PyTorch, leading shape {lead})",
                max_abs_diff=worst,
                tolerance=tol,
            )
    return worst
