"""TensorRT export with torch-tensorrt (optional extra ``autotsnet[tensorrt]``), CUDA only.

::

    model ─ export head ─ [fp16] ─ torch.export (dynamic batch) ─ torch_tensorrt.dynamo.compile
          (one optimisation profile: min 1, opt = views per video, max = views x videos)
          ─ parity vs PyTorch fp32 on the GPU ─ model.ep (ExportedProgram) + model.json

Without a CUDA GPU or without torch-tensorrt, :func:`require_tensorrt` raises
:class:`~autotsnet.infer.errors.BackendUnavailableError` with one line saying what to
install; the CLI turns it into exit code 2. The alternative that needs no extra package is
ONNX Runtime's TensorRT execution provider: ``--format onnx`` then ``--provider tensorrt``
(or the Triton ``--trt-accelerator``).

This path was written against the torch-tensorrt 2.x documentation and has NOT been run:
the machine it was developed on has no GPU (see docs/deploy.md).
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from autotsnet.data.transforms import KINETICS_MEAN, KINETICS_STD
from autotsnet.infer.errors import BackendUnavailableError, ExportError, ParityError
from autotsnet.infer.onnx_export import ExportResult, example_inputs, input_specs, library_versions
from autotsnet.infer.runtime import cuda_available
from autotsnet.infer.spec import ExportSpec, Head, Preprocess, TensorSpec
from autotsnet.infer.wrappers import output_name, wrap
from autotsnet.models.genome import Genome

__all__ = [
    "INSTALL_HINT",
    "TensorRTOptions",
    "TensorRTRunner",
    "export_tensorrt",
    "require_tensorrt",
]

INSTALL_HINT = (
    "pip install 'autotsnet[tensorrt]' (torch-tensorrt 2.14.0 for torch 2.14.1) on a CUDA host, "
    "or export --format onnx and run it with --provider tensorrt"
)


def require_tensorrt() -> Any:
    """Return the ``torch_tensorrt`` module, or explain in one line why it cannot be used.

    Raises:
        BackendUnavailableError: No CUDA GPU is visible, or torch-tensorrt is not installed.
    """
    if not cuda_available():
        raise BackendUnavailableError(
            "TensorRT export needs a CUDA GPU and none is visible "
            f"(torch.cuda.is_available() is False); {INSTALL_HINT}"
        )
    try:
        import torch_tensorrt
    except ImportError:
        raise BackendUnavailableError(
            f"TensorRT export needs torch-tensorrt, which is not installed: {INSTALL_HINT}"
        ) from None
    return torch_tensorrt


@dataclass(frozen=True)
class TensorRTOptions:
    """How to build the engine.

    Attributes:
        head: Export head (``logits``, ``softmax``; ``view_mean`` is not supported here).
        fp16: Build with FP16 weights and activations.
        views: Views per video; the profile's optimum batch.
        max_videos: Videos per batch at most; the profile covers 1 .. views x max_videos.
        crop: Spatial size (default: the genome's train crop).
        workspace_bytes: TensorRT builder workspace.
        tolerance: Parity tolerance on class probabilities (default 2e-2 fp16, 1e-4 fp32).
        seed: Seed of the parity inputs.
    """

    head: Head = "logits"
    fp16: bool = True
    views: int = 10
    max_videos: int = 4
    crop: int | None = None
    workspace_bytes: int = 2 << 30
    tolerance: float | None = None
    seed: int = 0


def export_tensorrt(
    model: nn.Module,
    genome: Genome,
    out_dir: Path,
    *,
    class_names: Sequence[str],
    options: TensorRTOptions | None = None,
    mean: tuple[float, float, float] = KINETICS_MEAN,
    std: tuple[float, float, float] = KINETICS_STD,
    source: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Compile ``model`` with TensorRT and save ``model.ep`` + ``model.json`` in ``out_dir``.

    Raises:
        BackendUnavailableError: No CUDA or no torch-tensorrt (checked first).
        ExportError: Bad options or a failed build.
        ParityError: The engine disagrees with PyTorch beyond the tolerance.
    """
    trt = require_tensorrt()
    opts = options or TensorRTOptions()
    if opts.head == "view_mean":
        raise ExportError("--view-mean is ONNX-only; TensorRT engines take views in the batch")
    out_dir = Path(out_dir)
    if (out_dir / "model.ep").exists() and not overwrite:
        raise ExportError(f"{out_dir}: already holds model.ep; pass --overwrite to replace it")
    started = time.perf_counter()
    crop = opts.crop or genome.sparse.input.train_crop
    dtype = torch.float16 if opts.fp16 else torch.float32
    specs = input_specs(genome, crop=crop, dtype="float16" if opts.fp16 else "float32")
    lo, opt, hi = 1, max(1, opts.views), max(1, opts.views * opts.max_videos)
    reference = wrap(copy.deepcopy(model).float().eval(), opts.head).cuda()
    module = wrap(copy.deepcopy(model).float().eval(), opts.head).cuda().to(dtype)
    gen = torch.Generator().manual_seed(opts.seed)
    args = tuple(a.cuda() for a in example_inputs(specs, (opt,), generator=gen, dtype=dtype))
    batch = torch.export.Dim("batch", min=lo, max=hi)
    dynamic = tuple({0: batch} for _ in specs)
    try:
        program = torch.export.export(module, args, dynamic_shapes=dynamic, strict=False)
        inputs = [
            trt.Input(
                min_shape=(lo, *a.shape[1:]),
                opt_shape=(opt, *a.shape[1:]),
                max_shape=(hi, *a.shape[1:]),
                dtype=dtype,
            )
            for a in args
        ]
        engine = trt.dynamo.compile(
            program,
            inputs=inputs,
            enabled_precisions={dtype},
            workspace_size=opts.workspace_bytes,
            min_block_size=1,
        )
    except Exception as exc:
        raise ExportError(f"TensorRT build failed: {str(exc).strip()[:200]}") from exc
    diff = _parity(engine, reference, specs, opts, dtype)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as tmp:
        tmp_path = Path(tmp) / "model.ep"
        trt.save(
            engine,
            str(tmp_path),
            output_format="exported_program",
            arg_inputs=list(args),
            dynamic_shapes=dynamic,
        )
        os.replace(tmp_path, out_dir / "model.ep")
    spec = ExportSpec(
        backend="tensorrt",
        model_file="model.ep",
        genome=genome,
        class_names=tuple(class_names),
        inputs=specs,
        outputs=(TensorSpec(output_name(opts.head), specs[0].dtype, ("batch", len(class_names))),),
        head=opts.head,
        preprocess=Preprocess(
            mean, std, max(genome.sparse.input.test_short_side, crop), crop, f"{opts.views}x1"
        ),
        precision="fp16" if opts.fp16 else "fp32",
        exporter=f"torch_tensorrt {getattr(trt, '__version__', '?')}",
        parity={
            "max_abs_diff": diff,
            "tolerance": _tolerance(opts),
            "compared": "probabilities",
            "profile": {"min": lo, "opt": opt, "max": hi},
        },
        source=dict(source or {}),
        versions=library_versions(),
        name=genome.name,
    )
    spec.save(out_dir)
    seconds = time.perf_counter() - started
    return ExportResult(spec, out_dir / "model.ep", diff, "torch_tensorrt", seconds)


def _tolerance(opts: TensorRTOptions) -> float:
    if opts.tolerance is not None:
        return opts.tolerance
    return 2e-2 if opts.fp16 else 1e-4


def _parity(
    engine: Any,
    reference: nn.Module,
    specs: Sequence[TensorSpec],
    opts: TensorRTOptions,
    dtype: torch.dtype,
) -> float:
    gen = torch.Generator().manual_seed(opts.seed + 1)
    worst = 0.0
    for rows in (1, max(1, opts.views)):
        clips = example_inputs(specs, (rows,), generator=gen)
        clips = tuple(c.to(dtype).float().cuda() for c in clips)
        with torch.no_grad():
            ref = reference(*clips).float()
            got = engine(*(c.to(dtype) for c in clips)).float()
        if opts.head == "logits":
            ref, got = ref.softmax(1), got.softmax(1)
        worst = max(worst, float((ref - got).abs().max()))
    if worst > _tolerance(opts):
        raise ParityError(
            f"TensorRT parity check failed: max abs diff {worst:.3e} > {_tolerance(opts):.0e}",
            max_abs_diff=worst,
            tolerance=_tolerance(opts),
        )
    return worst


class TensorRTRunner:
    """Run a saved ``model.ep`` TensorRT export on the GPU.

    Args:
        model_path: The ``.ep`` file.
        spec: Its sidecar.
    """

    def __init__(self, model_path: Path, spec: ExportSpec) -> None:
        require_tensorrt()
        self.module = torch.export.load(str(model_path)).module()
        self.spec = spec
        self.dtype = torch.float16 if spec.dtype == "float16" else torch.float32
        self._names = [t.name for t in spec.inputs]

    @property
    def providers(self) -> list[str]:
        """``["torch_tensorrt:cuda"]``."""
        return ["torch_tensorrt:cuda"]

    @torch.inference_mode()
    def __call__(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch on the GPU."""
        args = [torch.from_numpy(np.asarray(feeds[n])).cuda().to(self.dtype) for n in self._names]
        out: torch.Tensor = self.module(*args)
        return out.float().cpu().numpy()
