"""Triton repository: config.pbtxt parses with Triton's own protobuf and matches the graph."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from autotsnet.infer import ExportOptions, export_onnx
from autotsnet.infer.errors import ExportError
from autotsnet.infer.triton import TritonOptions, check_triton_model, write_triton_repository
from autotsnet.models import Genome, VideoNet

_ONNX_TO_TRITON = {onnx.TensorProto.FLOAT: mc.TYPE_FP32, onnx.TensorProto.FLOAT16: mc.TYPE_FP16}


def _parse(model_dir: Path) -> mc.ModelConfig:
    return text_format.Parse((model_dir / "config.pbtxt").read_text(), mc.ModelConfig())


def _assert_matches_graph(cfg: mc.ModelConfig, graph_path: Path) -> None:
    """Names, dtypes and dims of the config equal the ONNX graph's (batch dim implicit)."""
    graph = onnx.load(str(graph_path)).graph
    for entries, values in ((cfg.input, graph.input), (cfg.output, graph.output)):
        assert [e.name for e in entries] == [v.name for v in values]
        for e, v in zip(entries, values, strict=True):
            tt = v.type.tensor_type
            assert e.data_type == _ONNX_TO_TRITON[tt.elem_type]
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
            assert tt.shape.dim[0].dim_param == "batch"  # dynamic batch, as max_batch_size needs
            assert [-1, *e.dims] == dims


def test_repository_layout_and_config(
    exported: Path, tmp_path: Path, class_names: list[str]
) -> None:
    model_dir = write_triton_repository(exported, tmp_path / "repo", TritonOptions(name="tiny"))
    assert model_dir == tmp_path / "repo" / "tiny"
    assert (model_dir / "1" / "model.onnx").is_file() and (model_dir / "1" / "model.json").is_file()
    assert (model_dir / "labels.txt").read_text().splitlines() == class_names
    cfg = _parse(model_dir)
    assert cfg.name == "tiny" and cfg.platform == "onnxruntime_onnx"
    assert cfg.max_batch_size == 32
    assert list(cfg.dynamic_batching.preferred_batch_size) == [2, 4, 6, 8]  # multiples of 2 views
    assert cfg.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    assert cfg.output[0].label_filename == "labels.txt"
    assert not cfg.optimization.execution_accelerators.gpu_execution_accelerator
    _assert_matches_graph(cfg, model_dir / "1" / "model.onnx")
    check_triton_model(model_dir)  # the library's own check, from the file


def test_tensorrt_accelerator_and_warmup(exported: Path, tmp_path: Path) -> None:
    options = TritonOptions(name="trt", tensorrt=True, max_batch_size=8, instance_count=2)
    model_dir = write_triton_repository(exported, tmp_path, options)
    cfg = _parse(model_dir)
    acc = cfg.optimization.execution_accelerators.gpu_execution_accelerator
    assert acc[0].name == "tensorrt" and acc[0].parameters["precision_mode"] == "FP16"
    assert cfg.instance_group[0].count == 2
    warm = cfg.model_warmup[0]
    assert warm.batch_size == 2 and set(warm.inputs) == {"sparse", "dense"}
    assert list(warm.inputs["sparse"].dims) == list(cfg.input[0].dims)
    assert warm.inputs["sparse"].zero_data


def test_view_mean_and_cpu_instances(
    model: VideoNet, genome: Genome, class_names: list[str], tmp_path: Path
) -> None:
    export = tmp_path / "export"
    export_onnx(
        model, genome, export, class_names=class_names, options=ExportOptions(head="view_mean")
    )
    options = TritonOptions(name="vm", instance_kind="cpu", max_batch_size=4)
    model_dir = write_triton_repository(export, tmp_path / "repo", options)
    cfg = _parse(model_dir)
    assert cfg.input[0].dims[0] == -1  # variable views axis
    assert cfg.output[0].name == "probs"
    assert cfg.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    _assert_matches_graph(cfg, model_dir / "1" / "model.onnx")


def test_mismatch_is_caught(exported: Path, tmp_path: Path) -> None:
    model_dir = write_triton_repository(exported, tmp_path, TritonOptions(name="m"))
    text = (
        (model_dir / "config.pbtxt")
        .read_text()
        .replace("dims: [ 3, 2, 32, 32 ]", "dims: [ 3, 2, 64, 64 ]")
    )
    (model_dir / "config.pbtxt").write_text(text)
    with pytest.raises(ExportError, match="dims"):
        check_triton_model(model_dir)
    (model_dir / "config.pbtxt").write_text(text.replace('name: "m"', 'name: "other"'))
    with pytest.raises(ExportError, match="folder name"):
        check_triton_model(model_dir)


def test_bad_options(exported: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="letters, digits"):
        write_triton_repository(exported, tmp_path, TritonOptions(name="../evil"))
    with pytest.raises(ExportError, match="instance-kind gpu"):
        write_triton_repository(
            exported, tmp_path, TritonOptions(name="x", tensorrt=True, instance_kind="cpu")
        )
    write_triton_repository(exported, tmp_path, TritonOptions(name="x"))
    with pytest.raises(ExportError, match="--overwrite"):
        write_triton_repository(exported, tmp_path, TritonOptions(name="x"))
