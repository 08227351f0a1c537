"""The export sidecar ``model.json``: everything needed to feed and read an exported model.

An export folder holds the model file (``model.onnx``, or ``model.ep`` for TensorRT) and this
sidecar, MMDeploy ``pipeline.json``-style, so that a client never has to guess the view
axis, the normalisation or the class order::

    {"format": "autotsnet.export", "version": 1, "backend": "onnx", "model_file": "model.onnx",
     "name": "auto_tsnet_s", "genome": {...}, "genome_id": "...", "class_names": [...],
     "inputs":  [{"name": "sparse", "stream": "sparse", "dtype": "float32",
                  "shape": ["batch", 3, 4, 160, 160], "frames": 4, "temporal_stride": 16}, ...],
     "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 400]}],
     "head": "logits" | "softmax" | "view_mean",
     "preprocess": {"mean": [...], "std": [...], "pixel_scale": 1/255, "short_side": 182,
                    "crop": 160, "views": "10x1", "target_fps": null, "short_video": "pad",
                    "layout": "NCTHW", "color": "RGB"},
     "opset": 17, "exporter": "torchscript", "precision": "fp32", "depthwise_2d": true,
     "parity": {"max_abs_diff": 1e-6, "tolerance": 1e-4, ...}, "source": {...}, "versions": {...}}

With ``head = "view_mean"`` every input has a views axis after the batch axis
(``["batch", "views", 3, T, H, W]``) and the output holds mean probabilities per video.
Otherwise views are folded into the batch axis and aggregated by the caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from autotsnet.data.classmap import atomic_write_text
from autotsnet.infer.errors import ModelDirError
from autotsnet.models.genome import Genome, GenomeError

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "SIDECAR_NAME",
    "ExportSpec",
    "Head",
    "Preprocess",
    "TensorSpec",
    "find_sidecar",
    "load_spec",
]

EXPORT_FORMAT = "autotsnet.export"
EXPORT_VERSION = 1
SIDECAR_NAME = "model.json"

Head = Literal["logits", "softmax", "view_mean"]
HEADS: tuple[str, ...] = get_args(Head)
DTYPES: tuple[str, ...] = ("float32", "float16")
Dim = int | str


@dataclass(frozen=True)
class TensorSpec:
    """One named graph input or output.

    Attributes:
        name: Tensor name in the graph.
        dtype: ``float32`` or ``float16``.
        shape: Dimensions; strings name dynamic axes (``batch``, ``views``).
        stream: For inputs, the genome stream it feeds (``sparse`` or ``dense``).
        frames: For inputs, frames per clip (T).
        temporal_stride: For inputs, frame stride in the source video.
    """

    name: str
    dtype: str
    shape: tuple[Dim, ...]
    stream: str | None = None
    frames: int | None = None
    temporal_stride: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (input-only keys are left out of outputs)."""
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}
        if self.stream is not None:
            out |= {
                "stream": self.stream,
                "frames": self.frames,
                "temporal_stride": self.temporal_stride,
            }
        return out

    @classmethod
    def from_dict(cls, data: object, where: str) -> TensorSpec:
        """Parse and check one entry of ``inputs`` / ``outputs``."""
        d = _obj(data, where)
        name = _str(d, "name", where)
        dtype = _str(d, "dtype", where)
        if dtype not in DTYPES:
            raise ModelDirError(f"{where}.dtype = {dtype!r}: must be one of {', '.join(DTYPES)}")
        shape = d.get("shape")
        if not isinstance(shape, list) or not shape:
            raise ModelDirError(f"{where}.shape: expected a non-empty list")
        for i, s in enumerate(shape):
            ok = (isinstance(s, int) and not isinstance(s, bool) and s > 0) or (
                isinstance(s, str) and s
            )
            if not ok:
                raise ModelDirError(f"{where}.shape[{i}] = {s!r}: expected a positive int or name")
        stream = d.get("stream")
        frames = d.get("frames")
        stride = d.get("temporal_stride")
        if stream is not None and (not isinstance(frames, int) or not isinstance(stride, int)):
            raise ModelDirError(f"{where}: an input needs integer frames and temporal_stride")
        return cls(name, dtype, tuple(shape), stream, frames, stride)


@dataclass(frozen=True)
class Preprocess:
    """How raw video becomes the model's input (the evaluation protocol of the data layer).

    Attributes:
        mean: Per-channel RGB mean in [0, 1].
        std: Per-channel RGB std in [0, 1].
        short_side: Short side frames are scaled to before cropping.
        crop: Square crop size the graph was exported for.
        views: Default test views ``CLIPSxCROPS``.
        target_fps: Frame rate the strides refer to (None: the video's own rate).
        short_video: What happens past the end of a short video (``pad`` or ``loop``).
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    short_side: int
    crop: int
    views: str = "10x1"
    target_fps: float | None = None
    short_video: str = "pad"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, with the fixed conventions spelled out for other clients."""
        return {
            "mean": list(self.mean),
            "std": list(self.std),
            "pixel_scale": 1.0 / 255.0,
            "short_side": self.short_side,
            "crop": self.crop,
            "views": self.views,
            "target_fps": self.target_fps,
            "short_video": self.short_video,
            "layout": "NCTHW",
            "color": "RGB",
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "preprocess") -> Preprocess:
        """Parse and check the ``preprocess`` object."""
        d = _obj(data, where)
        mean, std = _triple(d, "mean", where), _triple(d, "std", where)
        if min(std) <= 0:
            raise ModelDirError(f"{where}.std: must be positive")
        short_side, crop = _int(d, "short_side", where), _int(d, "crop", where)
        if crop > short_side:
            raise ModelDirError(f"{where}.crop = {crop}: larger than short_side ({short_side})")
        fps = d.get("target_fps")
        if fps is not None and (not isinstance(fps, int | float) or fps <= 0):
            raise ModelDirError(f"{where}.target_fps = {fps!r}: expected null or a positive number")
        short = d.get("short_video", "pad")
        if short not in ("pad", "loop"):
            raise ModelDirError(f"{where}.short_video = {short!r}: must be pad or loop")
        views = d.get("views", "10x1")
        if not isinstance(views, str):
            raise ModelDirError(f"{where}.views: expected a string such as 10x1")
        return cls(mean, std, short_side, crop, views, None if fps is None else float(fps), short)


@dataclass(frozen=True)
class ExportSpec:
    """The parsed sidecar of an exported model (see the module docstring)."""

    backend: str
    model_file: str
    genome: Genome
    class_names: tuple[str, ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    head: Head
    preprocess: Preprocess
    precision: str = "fp32"
    opset: int | None = None
    exporter: str = ""
    depthwise_2d: bool = False
    parity: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    name: str = ""

    @property
    def num_classes(self) -> int:
        """Number of classes (length of :attr:`class_names`)."""
        return len(self.class_names)

    @property
    def views_axis(self) -> bool:
        """True when inputs carry a views axis (``head == "view_mean"``)."""
        return self.head == "view_mean"

    @property
    def dtype(self) -> str:
        """Input dtype (all inputs share it)."""
        return self.inputs[0].dtype

    def input_for(self, stream: str) -> TensorSpec:
        """The input that feeds ``stream``."""
        for spec in self.inputs:
            if spec.stream == stream:
                return spec
        raise ModelDirError(f"model.json: no input feeds stream {stream!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``model.json``."""
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "backend": self.backend,
            "model_file": self.model_file,
            "name": self.name,
            "genome": self.genome.to_dict(),
            "genome_id": self.genome.genome_id,
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "head": self.head,
            "preprocess": self.preprocess.to_dict(),
            "precision": self.precision,
            "opset": self.opset,
            "exporter": self.exporter,
            "depthwise_2d": self.depthwise_2d,
            "parity": self.parity,
            "source": self.source,
            "versions": self.versions,
        }

    def to_json(self) -> str:
        """Pretty JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, directory: Path) -> Path:
        """Write ``directory/model.json`` atomically and return its path."""
        path = Path(directory) / SIDECAR_NAME
        atomic_write_text(path, self.to_json())
        return path

    @classmethod
    def from_dict(cls, data: object) -> ExportSpec:
        """Parse and check a sidecar object.

        Raises:
            ModelDirError: On a wrong format marker, a newer version or a bad field.
        """
        d = _obj(data, "model.json")
        if d.get("format") != EXPORT_FORMAT:
            raise ModelDirError(f"model.json: not an autotsnet export (format != {EXPORT_FORMAT})")
        version = d.get("version")
        if not isinstance(version, int) or not 1 <= version <= EXPORT_VERSION:
            raise ModelDirError(
                f"model.json: version {version!r} is not supported (this autotsnet reads 1)"
            )
        try:
            genome = Genome.from_dict(d.get("genome"))
        except GenomeError as exc:
            raise ModelDirError(f"model.json: genome: {exc}") from None
        names = d.get("class_names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ModelDirError("model.json: class_names must be a non-empty list of strings")
        head = d.get("head")
        if head not in HEADS:
            raise ModelDirError(f"model.json: head = {head!r}: must be one of {', '.join(HEADS)}")
        inputs = _tensors(d, "inputs")
        outputs = _tensors(d, "outputs")
        if any(t.stream is None for t in inputs):
            raise ModelDirError("model.json: every input needs a stream")
        if [t.stream for t in inputs] != list(genome.streams):
            raise ModelDirError(
                f"model.json: inputs feed {[t.stream for t in inputs]}, "
                f"the genome has streams {list(genome.streams)}"
            )
        precision = d.get("precision", "fp32")
        if precision not in ("fp32", "fp16"):
            raise ModelDirError(f"model.json: precision = {precision!r}: must be fp32 or fp16")
        opset = d.get("opset")
        return cls(
            backend=_str(d, "backend", "model.json"),
            model_file=_safe_name(_str(d, "model_file", "model.json")),
            genome=genome,
            class_names=tuple(names),
            inputs=inputs,
            outputs=outputs,
            head=cast(Head, head),
            preprocess=Preprocess.from_dict(d.get("preprocess")),
            precision=precision,
            opset=opset if isinstance(opset, int) else None,
            exporter=str(d.get("exporter", "")),
            depthwise_2d=bool(d.get("depthwise_2d", False)),
            parity=dict(d.get("parity") or {}),
            source=dict(d.get("source") or {}),
            versions={str(k): str(v) for k, v in dict(d.get("versions") or {}).items()},
            name=str(d.get("name", "")),
        )


def find_sidecar(path: str | Path) -> Path:
    """Locate ``model.json`` for an export folder, a Triton model folder or a model file.

    Accepted: ``DIR`` (``DIR/model.json``, else the newest numeric version
    ``DIR/<n>/model.json`` of a Triton model folder), ``.../model.json`` itself, or a model
    file with ``model.json`` beside it.

    Raises:
        ModelDirError: If no sidecar is found.
    """
    p = Path(path)
    if not p.exists():
        raise ModelDirError(f"{p}: no such file or directory")
    if p.is_dir():
        if (p / SIDECAR_NAME).is_file():
            return p / SIDECAR_NAME
        versions = sorted((int(c.name), c) for c in p.iterdir() if c.is_dir() and c.name.isdigit())
        for _, v in reversed(versions):
            if (v / SIDECAR_NAME).is_file():
                return v / SIDECAR_NAME
        raise ModelDirError(f"{p}: no {SIDECAR_NAME} (not an `autotsnet export` folder)")
    if p.name == SIDECAR_NAME:
        return p
    if (p.parent / SIDECAR_NAME).is_file():
        return p.parent / SIDECAR_NAME
    raise ModelDirError(f"{p}: no {SIDECAR_NAME} beside it (export with `autotsnet export`)")


def load_spec(path: str | Path) -> tuple[ExportSpec, Path]:
    """Read the sidecar for ``path`` (see :func:`find_sidecar`).

    Returns:
        The spec and the model file it names (checked to exist).

    Raises:
        ModelDirError: Missing or invalid sidecar, or a missing model file.
    """
    sidecar = find_sidecar(path)
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelDirError(f"{sidecar}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ModelDirError(f"{sidecar}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    try:
        spec = ExportSpec.from_dict(data)
    except ModelDirError as exc:
        raise ModelDirError(f"{sidecar}: {exc}") from None
    model = sidecar.parent / spec.model_file
    if not model.is_file():
        raise ModelDirError(f"{sidecar}: model file {spec.model_file!r} is missing")
    return spec, model


# ---------------------------------------------------------------------- helpers
def _obj(data: object, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ModelDirError(f"{where}: expected a JSON object")
    return data


def _str(d: dict[str, Any], key: str, where: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v:
        raise ModelDirError(f"{where}.{key}: expected a non-empty string")
    return v


def _int(d: dict[str, Any], key: str, where: str) -> int:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ModelDirError(f"{where}.{key} = {v!r}: expected a positive integer")
    return v


def _triple(d: dict[str, Any], key: str, where: str) -> tuple[float, float, float]:
    v = d.get(key)
    if not isinstance(v, list) or len(v) != 3 or not all(isinstance(x, int | float) for x in v):
        raise ModelDirError(f"{where}.{key}: expected 3 numbers")
    return float(v[0]), float(v[1]), float(v[2])


def _tensors(d: dict[str, Any], key: str) -> tuple[TensorSpec, ...]:
    v = d.get(key)
    if not isinstance(v, list) or not v:
        raise ModelDirError(f"model.json.{key}: expected a non-empty list")
    return tuple(TensorSpec.from_dict(t, f"{key}[{i}]") for i, t in enumerate(v))


def _safe_name(name: str) -> str:
    if Path(name).name != name or name in (".", ".."):
        raise ModelDirError(f"model.json.model_file = {name!r}: must be a plain file name")
    return name
