"""Backends that run a model on a batch of inputs: ONNX Runtime and eager PyTorch.

Provider choice for ONNX Runtime (``provider=``):

===========  ==================================================================================
``auto``     CUDA when a CUDA GPU is visible, else CPU
``cpu``      ``CPUExecutionProvider``
``cuda``     ``CUDAExecutionProvider`` (falls back to CPU only for unsupported nodes)
``tensorrt`` ``TensorrtExecutionProvider`` (FP16 when the export is fp16 or ``trt_fp16``), with
             an optimisation profile covering 1 .. ``max_batch`` rows and an engine cache next to
             the model, then CUDA, then CPU
===========  ==================================================================================

Asking for ``cuda`` or ``tensorrt`` where they cannot run raises
:class:`~autotsnet.infer.errors.BackendUnavailableError` instead of silently running on CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from autotsnet.infer.errors import BackendUnavailableError, ModelDirError
from autotsnet.infer.spec import ExportSpec

__all__ = [
    "PROVIDERS",
    "OnnxRunner",
    "Provider",
    "Runner",
    "TorchRunner",
    "cuda_available",
    "ort_providers",
]

logger = logging.getLogger(__name__)

Provider = Literal["auto", "cpu", "cuda", "tensorrt"]
PROVIDERS: tuple[str, ...] = ("auto", "cpu", "cuda", "tensorrt")


class Runner(Protocol):
    """Runs one batch: named float arrays in, the model's single output out."""

    @property
    def providers(self) -> list[str]:
        """Where it runs, e.g. ``["CPUExecutionProvider"]`` or ``["torch:cpu"]``."""
        ...

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run the model; returns float32 ``(rows, classes)``."""
        ...


def cuda_available() -> bool:
    """True when a CUDA GPU is visible to this process."""
    return bool(torch.cuda.is_available())


def _shape_list(spec: ExportSpec, rows: int) -> str:
    parts = []
    for t in spec.inputs:
        dims = [rows if isinstance(d, str) else d for d in t.shape]
        parts.append(f"{t.name}:" + "x".join(str(d) for d in dims))
    return ",".join(parts)


def ort_providers(
    provider: str,
    spec: ExportSpec | None = None,
    *,
    model_path: Path | None = None,
    max_batch: int = 32,
    opt_batch: int = 10,
    trt_fp16: bool = True,
) -> list[Any]:
    """The ONNX Runtime provider list for ``provider`` (see the module docstring).

    Raises:
        BackendUnavailableError: ``cuda`` / ``tensorrt`` without a CUDA GPU.
        ValueError: An unknown provider name.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"--provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    if provider == "auto":
        provider = "cuda" if cuda_available() else "cpu"
    if provider == "cpu":
        return ["CPUExecutionProvider"]
    if not cuda_available():
        raise BackendUnavailableError(
            f"--provider {provider} needs a CUDA GPU, and none is visible here; "
            "use --provider cpu, or run on a GPU host with onnxruntime-gpu"
        )
    if provider == "cuda":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    options: dict[str, Any] = {
        "trt_fp16_enable": trt_fp16 or (spec is not None and spec.precision == "fp16"),
        "trt_engine_cache_enable": True,
    }
    if model_path is not None:
        options["trt_engine_cache_path"] = str(model_path.parent / "trt_cache")
    if spec is not None and not spec.views_axis:
        # One optimisation profile for 1 .. max_batch rows (views of all batched videos).
        options["trt_profile_min_shapes"] = _shape_list(spec, 1)
        options["trt_profile_opt_shapes"] = _shape_list(spec, max(1, min(opt_batch, max_batch)))
        options["trt_profile_max_shapes"] = _shape_list(spec, max_batch)
    return [("TensorrtExecutionProvider", options), "CUDAExecutionProvider", "CPUExecutionProvider"]


class OnnxRunner:
    """An ONNX Runtime session for an exported model.

    Args:
        model_path: The ``.onnx`` file.
        spec: Its sidecar.
        provider: ``auto``, ``cpu``, ``cuda`` or ``tensorrt``.
        threads: Intra-op threads (None: ONNX Runtime's default, all cores).
        max_batch: Largest batch the TensorRT profile must cover.
        opt_batch: Batch the TensorRT profile is tuned for (views per video).
    """

    def __init__(
        self,
        model_path: Path,
        spec: ExportSpec,
        *,
        provider: str = "auto",
        threads: int | None = None,
        max_batch: int = 32,
        opt_batch: int = 10,
    ) -> None:
        import onnxruntime as ort

        wanted = ort_providers(
            provider, spec, model_path=model_path, max_batch=max_batch, opt_batch=opt_batch
        )
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        if threads is not None:
            so.intra_op_num_threads = max(1, threads)
            so.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(model_path), so, providers=wanted)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelDirError(f"{model_path}: ONNX Runtime cannot load it: {first}") from None
        active = self.session.get_providers()
        first_wanted = wanted[0][0] if isinstance(wanted[0], tuple) else wanted[0]
        if first_wanted not in active:
            raise BackendUnavailableError(
                f"ONNX Runtime could not start {first_wanted} (active: {', '.join(active)})"
            )
        self.spec = spec
        self.dtype = np.float16 if spec.dtype == "float16" else np.float32
        self._names = [t.name for t in spec.inputs]
        graph_inputs = [i.name for i in self.session.get_inputs()]
        if graph_inputs != self._names:
            raise ModelDirError(f"{model_path}: graph inputs {graph_inputs} != model.json's")

    @property
    def providers(self) -> list[str]:
        """Active ONNX Runtime providers, preferred first."""
        return list(self.session.get_providers())

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch."""
        arrays = {n: np.ascontiguousarray(feeds[n], dtype=self.dtype) for n in self._names}
        out = self.session.run(None, arrays)[0]
        return np.asarray(out, dtype=np.float32)


class TorchRunner:
    """Eager PyTorch execution of a network wrapped with an export head.

    Args:
        model: The network or its :class:`~autotsnet.infer.wrappers.ExportHead` wrapper.
        input_names: Input names in forward order (``sparse``, ``dense``).
        device: Torch device.
    """

    def __init__(
        self, model: nn.Module, input_names: list[str], device: str | torch.device = "cpu"
    ) -> None:
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self._names = list(input_names)

    @property
    def providers(self) -> list[str]:
        """``["torch:<device>"]``."""
        return [f"torch:{self.device}"]

    @torch.inference_mode()
    def __call__(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch."""
        args = [torch.from_numpy(np.asarray(feeds[n])).to(self.device) for n in self._names]
        out: torch.Tensor = self.model(*args)
        return out.float().cpu().numpy()
