"""CLI: ``export`` (onnx, triton, tensorrt errors) and ``predict`` (export and checkpoint)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from autotsnet.cli.app import app
from autotsnet.infer import load_spec
from autotsnet.infer.errors import BackendUnavailableError
from autotsnet.infer.tensorrt import TensorRTOptions, export_tensorrt, require_tensorrt
from autotsnet.models import Genome, VideoNet

from .conftest import VIEWS

runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "160"})


def _one_error_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    line: str = lines[0]
    assert line.startswith("error: ")
    return line


def test_export_onnx_json(tmp_path: Path) -> None:
    out = tmp_path / "x"
    result = _run("export", "x3d_xs", "--tiny", "-o", str(out), "--num-classes", "3", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["format"] == "onnx" and info["exporter"] == "torchscript" and info["opset"] == 17
    assert info["max_abs_diff"] <= info["tolerance"] == 1e-4
    spec, model = load_spec(out)
    assert model.is_file() and spec.source["kind"] == "zoo" and spec.num_classes == 3
    again = _run("export", "x3d_xs", "--tiny", "-o", str(out))
    assert again.exit_code == 2 and "--overwrite" in _one_error_line(again)


def test_export_prints_parity_and_fails_above_tolerance(tmp_path: Path) -> None:
    ok = _run("export", "x3d_xs", "--tiny", "-o", str(tmp_path / "a"), "--num-classes", "2")
    assert ok.exit_code == 0, ok.output
    assert "max abs diff" in ok.stdout and "tolerance 1e-04" in ok.stdout
    bad = _run(
        "export", "x3d_xs", "--tiny", "-o", str(tmp_path / "b"), "--tolerance", "1e-12",
        "--no-depthwise-2d",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "parity check failed" in _one_error_line(bad)
    assert not (tmp_path / "b" / "model.onnx").exists()


def test_export_triton_from_checkpoint(checkpoint: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    args = ("export", str(checkpoint), "--format", "triton", "-o", str(repo), "--name", "act")
    result = _run(*args, "--trt-accelerator", "--views", VIEWS, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"] == "triton"
    assert (repo / "act" / "config.pbtxt").is_file() and (
        repo / "act" / "1" / "model.onnx"
    ).is_file()
    spec, _ = load_spec(repo / "act")
    assert spec.source == {"kind": "checkpoint", "path": str(checkpoint), "weights": "trained"}
    assert [p.name for p in repo.iterdir()] == ["act"]  # the temporary ONNX folder is gone


def test_export_bad_source_is_one_line(tmp_path: Path) -> None:
    result = _run("export", "no_such_model", "-o", str(tmp_path))
    assert result.exit_code == 2 and "unknown zoo model" in _one_error_line(result)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    result = _run("export", str(bad), "-o", str(tmp_path / "o"))
    assert result.exit_code == 2 and "not a checkpoint" in _one_error_line(result)


# ------------------------------------------------------------------------------ TensorRT
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_tensorrt_without_cuda_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _run("export", "x3d_xs", "--tiny", "--format", "tensorrt", "-o", str(tmp_path))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "needs a CUDA GPU" in line and "pip install 'autotsnet[tensorrt]'" in line
    assert "--provider tensorrt" in line  # the ONNX Runtime alternative
    assert not any(tmp_path.iterdir())


def test_tensorrt_without_torch_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("autotsnet.infer.tensorrt.cuda_available", lambda: True)
    monkeypatch.setitem(sys.modules, "torch_tensorrt", None)  # import raises ImportError
    with pytest.raises(BackendUnavailableError, match="torch-tensorrt, which is not installed"):
        require_tensorrt()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA and torch-tensorrt")
def test_tensorrt_engine_parity(
    model: VideoNet, genome: Genome, class_names: list[str], tmp_path: Path
) -> None:  # pragma: no cover - never run on the development machine (no GPU)
    pytest.importorskip("torch_tensorrt")
    result = export_tensorrt(
        model, genome, tmp_path, class_names=class_names, options=TensorRTOptions(views=2)
    )
    assert result.max_abs_diff <= 2e-2 and (tmp_path / "model.ep").is_file()


# ------------------------------------------------------------------------------ predict
def test_predict_export_and_checkpoint_agree(
    exported: Path, checkpoint: Path, videos: list[Path]
) -> None:
    paths = [str(v) for v in videos[:2]]
    outs = []
    for model in (str(exported), str(checkpoint), str(exported / "model.onnx")):
        args = ("--views", VIEWS, "--topk", "2", "--threads", "1", "--json")
        result = _run("predict", model, *paths, *args)
        assert result.exit_code == 0, result.output
        outs.append(json.loads(result.stdout))
    assert outs[0]["providers"] == ["CPUExecutionProvider"]
    assert outs[1]["providers"] == ["torch:cpu"]
    for a, b in zip(outs[0]["predictions"], outs[1]["predictions"], strict=True):
        assert [t["label"] for t in a["top"]] == [t["label"] for t in b["top"]]
        for ta, tb in zip(a["top"], b["top"], strict=True):
            assert abs(ta["probability"] - tb["probability"]) <= 1e-4
    assert outs[2]["predictions"] == outs[0]["predictions"]


def test_predict_table_and_failures(exported: Path, videos: list[Path], tmp_path: Path) -> None:
    result = _run("predict", str(exported), str(videos[0]))
    assert result.exit_code == 0 and "%" in result.stdout
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"nope")
    result = _run("predict", str(exported), str(bad))
    assert result.exit_code == 1 and "no video could be classified" in result.stderr
    result = _run("predict", str(tmp_path), str(videos[0]))
    assert result.exit_code == 2 and "model.json" in _one_error_line(result)
