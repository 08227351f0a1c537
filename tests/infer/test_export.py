"""ONNX export: every zoo genome's tiny twin matches PyTorch within 1e-4, heads, fp16, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from autotsnet.infer import ExportOptions, ExportSpec, export_onnx, load_spec
from autotsnet.infer.errors import ExportError, ModelDirError, ParityError
from autotsnet.infer.onnx_export import FP32_TOLERANCE, example_inputs, input_specs
from autotsnet.models import Genome, VideoNet, shrink, zoo

from .conftest import tiny_model


def _session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _dims(vi: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


def _tiny_twins() -> list[list[str]]:
    """Zoo names grouped by tiny twin (S/M/L twins share one architecture and genome_id)."""
    groups: dict[str, list[str]] = {}
    for name in zoo.names():
        groups.setdefault(shrink(zoo.get(name)).genome_id, []).append(name)
    return list(groups.values())


@pytest.mark.parametrize("names", _tiny_twins(), ids=lambda names: "+".join(names))
def test_every_zoo_genome_exports_with_parity(names: list[str], tmp_path: Path) -> None:
    g = shrink(zoo.get(names[0]))
    assert all(shrink(zoo.get(n)).genome_id == g.genome_id for n in names)
    model = tiny_model(g, 5)
    result = export_onnx(model, g, tmp_path, class_names=[f"c{i}" for i in range(5)])
    assert result.max_abs_diff <= FP32_TOLERANCE
    # Independent check: run the graph here at a batch size the export never saw.
    graph = onnx.load(str(tmp_path / "model.onnx"))
    onnx.checker.check_model(graph, full_check=True)
    assert [i.name for i in graph.graph.input] == list(g.streams)
    assert all(_dims(i)[0] == "batch" for i in graph.graph.input)
    assert graph.opset_import[0].version >= 17
    specs = input_specs(g, crop=g.sparse.input.train_crop)
    clips = example_inputs(specs, (5,), generator=torch.Generator().manual_seed(9))
    session = _session(tmp_path / "model.onnx")
    got = session.run(None, {s.name: c.numpy() for s, c in zip(specs, clips, strict=True)})[0]
    with torch.no_grad():
        ref = model(*clips).numpy()
    assert got.shape == (5, 5)
    assert np.abs(got - ref).max() <= FP32_TOLERANCE
    # The rewrite really removed every 3-D depthwise conv.
    grouped_3d = [
        n
        for n in graph.graph.node
        if n.op_type == "Conv"
        and any(a.name == "group" and a.i > 1 for a in n.attribute)
        and any(
            a.name == "kernel_shape" and len(a.ints) == 3 and a.ints[1] > 1 for a in n.attribute
        )
    ]
    assert grouped_3d == []


def test_sidecar_describes_the_graph(
    exported: Path, genome: Genome, class_names: list[str]
) -> None:
    spec, path = load_spec(exported)
    assert path == exported / "model.onnx"
    assert spec.genome == genome
    assert list(spec.class_names) == class_names
    assert spec.opset == 17 and spec.exporter == "torchscript" and spec.precision == "fp32"
    assert spec.preprocess.mean == (0.45, 0.45, 0.45) and spec.preprocess.std == (0.225,) * 3
    assert spec.preprocess.crop == genome.sparse.input.train_crop
    assert spec.parity["max_abs_diff"] <= spec.parity["tolerance"] == FP32_TOLERANCE
    sparse = spec.input_for("sparse")
    assert sparse.shape == ("batch", 3, genome.sparse.input.frames, 32, 32)
    assert sparse.temporal_stride == genome.sparse.input.temporal_stride
    graph = onnx.load(str(path))
    for t, vi in zip(spec.inputs, graph.graph.input, strict=True):
        assert t.name == vi.name and list(t.shape) == _dims(vi)
    assert ExportSpec.from_dict(json.loads(spec.to_json())) == spec


@pytest.mark.parametrize("head", ["softmax", "view_mean"])
def test_heads(head: str, model: VideoNet, genome: Genome, tmp_path: Path) -> None:
    options = ExportOptions(head=head)  # type: ignore[arg-type]
    result = export_onnx(model, genome, tmp_path, class_names=["a", "b"], options=options)
    assert result.max_abs_diff <= FP32_TOLERANCE
    session = _session(tmp_path / "model.onnx")
    specs = input_specs(genome, crop=32)
    gen = torch.Generator().manual_seed(3)
    clips = example_inputs(specs, (2, 3), generator=gen)  # 2 videos x 3 views
    with torch.no_grad():
        probs = model(*(c.reshape(-1, *c.shape[2:]) for c in clips)).softmax(1)
    if head == "softmax":
        feeds = {
            s.name: c.reshape(-1, *c.shape[2:]).numpy() for s, c in zip(specs, clips, strict=True)
        }
        got = session.run(None, feeds)[0]
        np.testing.assert_allclose(got, probs.numpy(), atol=1e-5)
        assert [o.name for o in session.get_outputs()] == ["probs"]
    else:
        got = session.run(None, {s.name: c.numpy() for s, c in zip(specs, clips, strict=True)})[0]
        want = probs.reshape(2, 3, -1).mean(1).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)
        assert got.shape == (2, 2)
        assert load_spec(tmp_path)[0].inputs[0].shape[:2] == ("batch", "views")


def test_fp16_export(model: VideoNet, genome: Genome, tmp_path: Path) -> None:
    options = ExportOptions(fp16=True)
    result = export_onnx(model, genome, tmp_path, class_names=["a", "b"], options=options)
    spec = load_spec(tmp_path)[0]
    assert spec.precision == "fp16" and spec.dtype == "float16"
    assert spec.parity["compared"] == "probabilities" and result.max_abs_diff <= 2e-2
    graph = onnx.load(str(tmp_path / "model.onnx"))
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16


def test_dynamo_exporter_gives_dynamic_batch_and_parity(tmp_path: Path) -> None:
    g = shrink(zoo.get("x3d_xs"))
    options = ExportOptions(exporter="dynamo")
    result = export_onnx(
        tiny_model(g, 3), g, tmp_path, class_names=["a", "b", "c"], options=options
    )
    assert result.exporter == "dynamo" and result.max_abs_diff <= FP32_TOLERANCE
    graph = onnx.load(str(tmp_path / "model.onnx"))
    assert _dims(graph.graph.input[0])[0] == "batch"
    assert result.spec.opset is not None and result.spec.opset >= 18


def test_parity_failure_is_reported_and_writes_nothing(
    model: VideoNet, genome: Genome, tmp_path: Path
) -> None:
    options = ExportOptions(tolerance=1e-12, depthwise_2d=False)
    with pytest.raises(ParityError, match=r"max abs diff .* > 1e-12") as info:
        export_onnx(model, genome, tmp_path, class_names=["a", "b"], options=options)
    assert info.value.max_abs_diff > 0
    assert not (tmp_path / "model.onnx").exists() and not (tmp_path / "model.json").exists()


def test_existing_export_needs_overwrite(exported: Path, model: VideoNet, genome: Genome) -> None:
    with pytest.raises(ExportError, match="--overwrite"):
        export_onnx(model, genome, exported, class_names=["a", "b"])


def test_bad_options(model: VideoNet, genome: Genome, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="17 or later"):
        export_onnx(model, genome, tmp_path, class_names=["a"], options=ExportOptions(opset=13))
    bad = ExportOptions(exporter="nope")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="auto, dynamo or torchscript"):
        export_onnx(model, genome, tmp_path, class_names=["a", "b"], options=bad)


def test_sidecar_errors(exported: Path, tmp_path: Path) -> None:
    data = json.loads((exported / "model.json").read_text())
    cases = {
        "format": ("x", "not an autotsnet export"),
        "version": (9, "version 9"),
        "model_file": ("../model.onnx", "plain file name"),
        "head": ("mean", "head"),
    }
    for key, (value, message) in cases.items():
        d = tmp_path / key
        d.mkdir()
        (d / "model.onnx").write_bytes(b"")
        (d / "model.json").write_text(json.dumps({**data, key: value}))
        with pytest.raises(ModelDirError, match=message):
            load_spec(d)
    with pytest.raises(ModelDirError, match=r"no model\.json"):
        load_spec(tmp_path)
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "model.json").write_text(json.dumps(data))
    with pytest.raises(ModelDirError, match="missing"):
        load_spec(missing)


def test_head_batch_norm_exports_with_parity(tmp_path: Path) -> None:
    plain = shrink(zoo.get("auto_tsnet_s"))
    g = plain.replace(head=plain.head.__class__(**{**vars(plain.head), "hidden_norm": "bn"}))
    model = tiny_model(g, 3)
    bn = model.get_submodule("classifier.bn")
    assert isinstance(bn, torch.nn.BatchNorm1d)
    assert bn.running_var is not None and not torch.equal(
        bn.running_var, torch.ones_like(bn.running_var)
    )
    result = export_onnx(model, g, tmp_path, class_names=["a", "b", "c"])
    assert result.max_abs_diff <= FP32_TOLERANCE
    assert load_spec(tmp_path)[0].genome == g  # the sidecar keeps hidden_norm
