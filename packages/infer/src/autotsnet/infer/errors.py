"""Typed errors of the deployment layer; each message is one line naming what is wrong."""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "ExportError",
    "InferError",
    "ModelDirError",
    "ParityError",
]


class InferError(ValueError):
    """Base class of every error raised by :mod:`autotsnet.infer`."""


class ExportError(InferError):
    """An export cannot be produced (bad option, failed exporter, unwritable output)."""


class ParityError(ExportError):
    """The exported model disagrees with PyTorch beyond the tolerance.

    Attributes:
        max_abs_diff: The largest absolute difference seen.
        tolerance: The allowed difference.
    """

    def __init__(self, message: str, *, max_abs_diff: float, tolerance: float) -> None:
        super().__init__(message)
        self.max_abs_diff = max_abs_diff
        self.tolerance = tolerance


class BackendUnavailableError(InferError):
    """A requested backend (CUDA, TensorRT, torch-tensorrt) is not available here.

    The message says what is missing and how to get it.
    """


class ModelDirError(InferError):
    """An exported model folder or its ``model.json`` sidecar is missing or invalid."""
