"""autotsnet.infer: ONNX / TensorRT / Triton export, the Predictor and the HTTP server.

Typical use::

    from autotsnet.infer import ExportOptions, Predictor, export_onnx
    export_onnx(model, genome, Path("exports/s"), class_names=names)
    Predictor.from_export("exports/s").predict("video.mp4").top(5)

The HTTP server lives in :mod:`autotsnet.infer.server` (FastAPI), imported on demand.
"""

from autotsnet.infer.errors import (
    BackendUnavailableError,
    ExportError,
    InferError,
    ModelDirError,
    ParityError,
)
from autotsnet.infer.onnx_export import ExportOptions, ExportResult, export_onnx
from autotsnet.infer.predictor import Prediction, Predictor
from autotsnet.infer.preprocess import ViewBuilder, decode_views
from autotsnet.infer.random_weights import randomize
from autotsnet.infer.spec import ExportSpec, load_spec

__all__ = [
    "BackendUnavailableError",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "ExportSpec",
    "InferError",
    "ModelDirError",
    "ParityError",
    "Prediction",
    "Predictor",
    "ViewBuilder",
    "decode_views",
    "export_onnx",
    "load_spec",
    "randomize",
]
