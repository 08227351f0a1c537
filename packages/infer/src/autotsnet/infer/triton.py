"""Triton Inference Server model repository for an ONNX export.

Layout written by :func:`write_triton_repository`::

    REPO/<name>/config.pbtxt        platform onnxruntime_onnx, max_batch_size, dynamic batching,
                                    instance groups, optional ORT-TensorRT accelerator + warmup
    REPO/<name>/labels.txt          one class name per line (Triton's classification extension)
    REPO/<name>/1/model.onnx        the graph
    REPO/<name>/1/model.json        the autotsnet sidecar (ignored by Triton; read by autotsnet)

Views are folded into the batch axis (``max_batch_size`` counts views), so Triton's dynamic
batcher merges the views of concurrent videos; the client decodes, builds views and
aggregates (``autotsnet.infer.decode_views`` + mean of softmax). A ``--view-mean`` export
has a variable views axis instead (``dims: [-1, 3, T, H, W]``) and returns probabilities.

The config is generated from a plain dict, checked against the ONNX graph (names, dtypes,
dims, batch axis; :func:`check_triton_model`) and, when ``tritonclient`` is installed,
parsed with Triton's own ``model_config.proto``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import onnx

from autotsnet.data.classmap import atomic_write_text
from autotsnet.infer.errors import ExportError
from autotsnet.infer.spec import SIDECAR_NAME, ExportSpec, load_spec

__all__ = [
    "TritonOptions",
    "check_triton_model",
    "render_config",
    "triton_config",
    "write_triton_repository",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16"}
_ONNX_TYPES = {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.FLOAT16: "TYPE_FP16"}


@dataclass(frozen=True)
class TritonOptions:
    """Model configuration choices.

    Attributes:
        name: Model name (= folder name); default: the genome's name.
        max_batch_size: Most rows (views x videos) per batched execution.
        instance_kind: ``gpu`` or ``cpu`` instances.
        instance_count: Instances per device.
        tensorrt: Add ONNX Runtime's TensorRT execution accelerator (GPU only).
        trt_precision: ``FP16`` or ``FP32`` for the accelerator.
        preferred_batch_sizes: Dynamic batcher preferences (default: multiples of the views).
        max_queue_delay_us: How long the batcher waits to fill a batch.
        version: Version folder.
    """

    name: str | None = None
    max_batch_size: int = 32
    instance_kind: Literal["gpu", "cpu"] = "gpu"
    instance_count: int = 1
    tensorrt: bool = False
    trt_precision: Literal["FP16", "FP32"] = "FP16"
    preferred_batch_sizes: tuple[int, ...] | None = None
    max_queue_delay_us: int = 2000
    version: int = 1


def _views(spec: ExportSpec) -> int:
    m = re.match(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$", spec.preprocess.views)
    return int(m.group(1)) * int(m.group(2)) if m else 10


def _dims(shape: Sequence[int | str]) -> list[int]:
    return [d if isinstance(d, int) else -1 for d in shape[1:]]


def triton_config(spec: ExportSpec, options: TritonOptions, name: str) -> dict[str, Any]:
    """The model configuration as a dict mirroring ``model_config.proto`` field names."""
    if options.max_batch_size < 1:
        raise ExportError("--max-batch-size must be at least 1")
    if options.instance_count < 1:
        raise ExportError("--instance-count must be at least 1")
    if options.tensorrt and options.instance_kind != "gpu":
        raise ExportError("the TensorRT accelerator needs --instance-kind gpu")
    views = _views(spec)
    preferred = options.preferred_batch_sizes
    if preferred is None:
        step = 1 if spec.views_axis else views
        preferred = tuple(k for k in range(step, options.max_batch_size + 1, step))[:4] or (
            options.max_batch_size,
        )
    if any(p < 1 or p > options.max_batch_size for p in preferred):
        raise ExportError(f"preferred batch sizes {list(preferred)} must be in 1..max_batch_size")
    cfg: dict[str, Any] = {
        "name": name,
        "platform": "onnxruntime_onnx",
        "max_batch_size": options.max_batch_size,
        "version_policy": {"latest": {"num_versions": 1}},
        "input": [
            {"name": t.name, "data_type": _TYPES[t.dtype], "dims": _dims(t.shape)}
            for t in spec.inputs
        ],
        "output": [
            {
                "name": t.name,
                "data_type": _TYPES[t.dtype],
                "dims": _dims(t.shape),
                "label_filename": "labels.txt",
            }
            for t in spec.outputs
        ],
        "dynamic_batching": {
            "preferred_batch_size": list(preferred),
            "max_queue_delay_microseconds": options.max_queue_delay_us,
        },
        "instance_group": [
            {
                "count": options.instance_count,
                "kind": "KIND_GPU" if options.instance_kind == "gpu" else "KIND_CPU",
            }
        ],
    }
    if options.tensorrt:
        cfg["optimization"] = {
            "execution_accelerators": {
                "gpu_execution_accelerator": [
                    {
                        "name": "tensorrt",
                        "parameters": {
                            "precision_mode": options.trt_precision,
                            "max_workspace_size_bytes": str(2 << 30),
                        },
                    }
                ]
            }
        }
        # Engines are built on the first request; warm up so that no client pays for it.
        warm_batch = 1 if spec.views_axis else min(views, options.max_batch_size)
        cfg["model_warmup"] = [
            {
                "name": "zeros",
                "batch_size": warm_batch,
                "inputs": {
                    t.name: {
                        "data_type": _TYPES[t.dtype],
                        "dims": [views if d == -1 else d for d in _dims(t.shape)],
                        "zero_data": True,
                    }
                    for t in spec.inputs
                },
            }
        ]
    return cfg


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ints(values: Sequence[int]) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]"


def _tensor(t: dict[str, Any], pad: str) -> list[str]:
    lines = [f"{pad}{{", f"{pad}  name: {_q(t['name'])}", f"{pad}  data_type: {t['data_type']}"]
    lines.append(f"{pad}  dims: {_ints(t['dims'])}")
    if "label_filename" in t:
        lines.append(f"{pad}  label_filename: {_q(t['label_filename'])}")
    lines.append(f"{pad}}}")
    return lines


def _list(key: str, items: list[list[str]]) -> list[str]:
    out = [f"{key} ["]
    for i, item in enumerate(items):
        if i < len(items) - 1:
            item = [*item[:-1], item[-1] + ","]
        out.extend(item)
    out.append("]")
    return out


def render_config(cfg: dict[str, Any]) -> str:
    """``config.pbtxt`` text (protobuf text format) for :func:`triton_config`'s dict."""
    lines = [
        f"name: {_q(cfg['name'])}",
        f"platform: {_q(cfg['platform'])}",
        f"max_batch_size: {cfg['max_batch_size']}",
        "version_policy: { latest: { num_versions: "
        f"{cfg['version_policy']['latest']['num_versions']} }} }}",
    ]
    lines += _list("input", [_tensor(t, "  ") for t in cfg["input"]])
    lines += _list("output", [_tensor(t, "  ") for t in cfg["output"]])
    db = cfg["dynamic_batching"]
    lines += [
        "dynamic_batching {",
        f"  preferred_batch_size: {_ints(db['preferred_batch_size'])}",
        f"  max_queue_delay_microseconds: {db['max_queue_delay_microseconds']}",
        "}",
    ]
    groups = [
        ["  {", f"    count: {g['count']}", f"    kind: {g['kind']}", "  }"]
        for g in cfg["instance_group"]
    ]
    lines += _list("instance_group", groups)
    if "optimization" in cfg:
        acc = cfg["optimization"]["execution_accelerators"]["gpu_execution_accelerator"][0]
        params = [
            f"        parameters {{ key: {_q(k)} value: {_q(v)} }}"
            for k, v in acc["parameters"].items()
        ]
        lines += [
            "optimization {",
            "  execution_accelerators {",
            "    gpu_execution_accelerator: [",
            "      {",
            f"        name: {_q(acc['name'])}",
            *params,
            "      }",
            "    ]",
            "  }",
            "}",
        ]
    for w in cfg.get("model_warmup", []):
        inputs = [
            f"    inputs {{ key: {_q(k)} value: {{ data_type: {v['data_type']} "
            f"dims: {_ints(v['dims'])} zero_data: true }} }}"
            for k, v in w["inputs"].items()
        ]
        lines += [
            "model_warmup [",
            "  {",
            f"    name: {_q(w['name'])}",
            f"    batch_size: {w['batch_size']}",
            *inputs,
            "  }",
            "]",
        ]
    return "\n".join(lines) + "\n"


def _parse_with_triton(text: str) -> Any | None:
    """Parse with Triton's ``model_config.proto`` when tritonclient is installed."""
    try:
        from google.protobuf import text_format
        from tritonclient.grpc import model_config_pb2
    except (ImportError, RuntimeError):
        return None
    try:
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as exc:
        raise ExportError(f"config.pbtxt does not parse as a Triton ModelConfig: {exc}") from None


def check_triton_model(model_dir: Path, cfg: dict[str, Any] | None = None) -> None:
    """Check a model folder the way Triton would, plus what Triton only finds at load time.

    Checks: the name equals the folder; ``<version>/model.onnx`` exists; every config
    input and output matches the ONNX graph in name, dtype and dims (``[-1] + dims`` with
    ``max_batch_size > 0``, the graph's first axis dynamic); ``labels.txt`` has one line
    per class.

    Args:
        model_dir: ``REPO/<name>``.
        cfg: The config dict; default: parse ``config.pbtxt`` with tritonclient.

    Raises:
        ExportError: Naming the first problem.
    """
    model_dir = Path(model_dir)
    if cfg is None:
        parsed = _parse_with_triton((model_dir / "config.pbtxt").read_text(encoding="utf-8"))
        if parsed is None:
            raise ExportError("checking a config.pbtxt file needs tritonclient[grpc]")
        cfg = _proto_to_dict(parsed)
    if cfg["name"] != model_dir.name:
        raise ExportError(f"config name {cfg['name']!r} != folder name {model_dir.name!r}")
    versions = sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())
    if not versions or not (model_dir / str(versions[-1]) / "model.onnx").is_file():
        raise ExportError(f"{model_dir}: no <version>/model.onnx")
    graph = onnx.load(str(model_dir / str(versions[-1]) / "model.onnx"), load_external_data=False)
    inits = {i.name for i in graph.graph.initializer}
    g_in = [i for i in graph.graph.input if i.name not in inits]
    _match("input", cfg["input"], g_in, cfg["max_batch_size"])
    _match("output", cfg["output"], list(graph.graph.output), cfg["max_batch_size"])
    labels = (model_dir / "labels.txt").read_text(encoding="utf-8").splitlines()
    out_dims = cfg["output"][0]["dims"]
    if out_dims[-1] != len(labels):
        raise ExportError(f"labels.txt has {len(labels)} lines, the output has {out_dims[-1]}")


def _match(kind: str, entries: list[dict[str, Any]], graph: list[Any], mbs: int) -> None:
    if [e["name"] for e in entries] != [g.name for g in graph]:
        raise ExportError(
            f"config {kind}s {[e['name'] for e in entries]} != graph {[g.name for g in graph]}"
        )
    for e, g in zip(entries, graph, strict=True):
        tt = g.type.tensor_type
        dtype = _ONNX_TYPES.get(tt.elem_type, f"onnx:{tt.elem_type}")
        if e["data_type"] != dtype:
            raise ExportError(f"{kind} {e['name']}: config {e['data_type']} != graph {dtype}")
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
        want = [-1, *e["dims"]] if mbs > 0 else list(e["dims"])
        if dims != want:
            raise ExportError(f"{kind} {e['name']}: config dims {want} != graph dims {dims}")


def _proto_to_dict(cfg: Any) -> dict[str, Any]:
    from tritonclient.grpc import model_config_pb2 as mc

    def tensor(t: Any) -> dict[str, Any]:
        return {
            "name": t.name,
            "data_type": mc.DataType.Name(t.data_type),
            "dims": list(t.dims),
        }

    return {
        "name": cfg.name,
        "max_batch_size": cfg.max_batch_size,
        "input": [tensor(t) for t in cfg.input],
        "output": [tensor(t) for t in cfg.output],
    }


def write_triton_repository(
    export_dir: Path, repo: Path, options: TritonOptions | None = None, *, overwrite: bool = False
) -> Path:
    """Copy an ONNX export into a Triton model repository and write its configuration.

    Args:
        export_dir: An ``autotsnet export --format onnx`` folder.
        repo: The repository root (created).
        options: Configuration choices.
        overwrite: Replace an existing model folder of the same name.

    Returns:
        The model folder ``repo/<name>``.

    Raises:
        ExportError: Bad name or options, an existing folder, or a failed check.
    """
    opts = options or TritonOptions()
    spec, model_path = load_spec(export_dir)
    if spec.backend != "onnx":
        raise ExportError("a Triton repository needs an ONNX export")
    name = opts.name or spec.name or "autotsnet"
    if not _NAME_RE.match(name):
        raise ExportError(f"--name {name!r}: use letters, digits, '_', '.' and '-' only")
    bad = [n for n in spec.class_names if "\n" in n or "\r" in n]
    if bad:
        raise ExportError(f"class name {bad[0]!r} contains a line break (labels.txt is per line)")
    cfg = triton_config(spec, opts, name)
    text = render_config(cfg)
    _parse_with_triton(text)
    model_dir = Path(repo) / name
    if model_dir.exists():
        if not overwrite:
            raise ExportError(f"{model_dir}: already exists; pass --overwrite to replace it")
        shutil.rmtree(model_dir)
    version_dir = model_dir / str(opts.version)
    version_dir.mkdir(parents=True)
    shutil.copyfile(model_path, version_dir / "model.onnx")
    shutil.copyfile(model_path.parent / SIDECAR_NAME, version_dir / SIDECAR_NAME)
    atomic_write_text(model_dir / "labels.txt", "\n".join(spec.class_names) + "\n")
    atomic_write_text(model_dir / "config.pbtxt", text)
    check_triton_model(model_dir, cfg)
    return model_dir
