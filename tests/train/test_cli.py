"""``autotsnet train`` / ``eval``: bad input is one line and exit code 2; eval output."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from autotsnet.cli.app import app
from autotsnet.cli.train import torchrun_command
from autotsnet.models import Genome

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _assert_one_line_error(code: int, stderr: str, pattern: str) -> None:
    assert code == 2, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("INFO")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    assert pattern in lines[0], lines[0]


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('x')",))


def test_train_bad_inputs(tmp_path: Path, synth_small: Path, tiny_two_stream: Genome) -> None:
    code, _, err = _run("train", "x3d_xs", "--data", str(tmp_path / "nope"), "--out", "r")
    _assert_one_line_error(code, err, "no such file or directory")
    for split in ("train", "val"):
        (tmp_path / "empty" / split / "a").mkdir(parents=True)
    code, _, err = _run("train", "x3d_xs", "--data", str(tmp_path / "empty"), "--out", "r")
    _assert_one_line_error(code, err, "no videos found")
    bad = tmp_path / "bad.json"
    bad.write_text(
        tiny_two_stream.to_json().replace('"temporal_kernel": 5', '"temporal_kernel": 4')
    )
    code, _, err = _run("train", str(bad), "--data", str(synth_small), "--out", "r")
    _assert_one_line_error(code, err, "temporal_kernel = 4: must be one of 1, 3, 5")
    code, _, err = _run("train", "no_such_model", "--data", str(synth_small), "--out", "r")
    _assert_one_line_error(code, err, "unknown zoo model")
    code, _, err = _run("train", "x3d_xs", "--data", str(synth_small), "--out", "r", "--lr", "-1")
    _assert_one_line_error(code, err, "lr = -1.0")
    bn = tmp_path / "bn.json"
    head = {**vars(tiny_two_stream.head), "hidden_norm": "bn"}
    bn.write_text(tiny_two_stream.replace(head=type(tiny_two_stream.head)(**head)).to_json())
    code, _, err = _run(
        "train", str(bn), "--data", str(synth_small), "--out", "r", "--batch-size", "1"
    )
    _assert_one_line_error(code, err, "head.hidden_norm 'bn' needs at least 2 clips")


def test_train_refuses_existing_run_dir(tmp_path: Path, synth_small: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text("{}")
    code, _, err = _run("train", "x3d_xs", "--tiny", "--data", str(synth_small), "--out", str(run))
    _assert_one_line_error(code, err, "already holds a run")
    assert (run / "report.json").read_text() == "{}"
    code, _, err = _run(
        "train", "x3d_xs", "--data", str(synth_small), "--out", str(run), "--nproc", "2"
    )
    _assert_one_line_error(code, err, "already holds a run")  # checked before torchrun starts


def test_eval_bad_inputs(tmp_path: Path, trained_run: Path, synth_small: Path) -> None:
    ckpt = str(trained_run / "final.pt")
    code, _, err = _run("eval", ckpt, "--data", str(tmp_path / "nope"), "--out", str(tmp_path))
    _assert_one_line_error(code, err, "no such file or directory")
    text = tmp_path / "notes.pt"
    text.write_text("hello\n")
    code, _, err = _run("eval", str(text), "--data", str(synth_small), "--out", str(tmp_path))
    _assert_one_line_error(code, err, "not a checkpoint")
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "autotsnet.checkpoint", "x": _Payload(marker)}, evil)
    code, _, err = _run("eval", str(evil), "--data", str(synth_small), "--out", str(tmp_path))
    _assert_one_line_error(code, err, "refused")
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    code, _, err = _run("eval", str(raw), "--data", str(synth_small), "--out", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    assert not marker.exists()
    items = sorted((synth_small / "train").rglob("*.mp4"))
    six = "".join(f"{p} {'abcdef'[i % 6]}\n" for i, p in enumerate(items))
    (tmp_path / "six.txt").write_text(six)
    code, _, err = _run("eval", ckpt, "--data", str(tmp_path / "six.txt"), "--out", str(tmp_path))
    _assert_one_line_error(code, err, "dataset has 6 classes but checkpoint")
    code, _, err = _run("eval", ckpt, "--data", str(synth_small), "--views", "ten", "--out", "x")
    _assert_one_line_error(code, err, "views must look like 10x1 or 10x3")


def test_eval_json_and_overwrite_guard(
    tmp_path: Path, trained_run: Path, synth_small: Path
) -> None:
    out = tmp_path / "ev"
    args = ["eval", str(trained_run / "final.pt"), "--data", str(synth_small), "--views", "2x3"]
    args += ["--out", str(out), "--json", "--workers", "0", "--device", "cpu"]
    code, stdout, err = _run(*args)
    assert code == 0, err
    result = json.loads(stdout)
    assert result["num_views_per_video"] == 6 and result["num_evaluated"] == 4
    assert json.loads((out / "eval.json").read_text())["top1"] == result["top1"]
    code, _, err = _run(*args)
    _assert_one_line_error(code, err, "already holds eval.json")
    code, stdout, _ = _run(*args[:-5], "--out", str(out), "--overwrite", "--workers", "0")
    assert code == 0 and "per-class accuracy" in stdout and "top-1" in stdout


def test_default_eval_folder_is_inside_the_run(trained_run: Path, synth_small: Path) -> None:
    ckpt = sorted((trained_run / "checkpoints").glob("step-*.pt"))[-1]
    code, _, err = _run("eval", str(ckpt), "--data", str(synth_small), "--views", "1x1")
    assert code == 0, err
    assert (trained_run / "eval-val-1x1" / "eval.json").is_file()


def test_torchrun_command() -> None:
    cmd = torchrun_command(4, ["train", "g.json", "--data", "d"])
    assert cmd[1:6] == [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=4",
        "-m",
    ]
    assert cmd[6:] == ["autotsnet.cli", "train", "g.json", "--data", "d"]


@pytest.mark.parametrize("command", ["train", "eval"])
def test_help(command: str) -> None:
    code, out, _ = _run(command, "--help")
    assert code == 0 and "--data" in out


def test_adamw_gets_its_own_default_lr(tmp_path: Path, synth_small: Path) -> None:
    base = ["train", "x3d_xs", "--tiny", "--data", str(synth_small), "--epochs", "1"]
    base += ["--batch-size", "4", "--workers", "0", "--precise-bn", "0", "--device", "cpu"]
    code, _, err = _run(*base, "--out", str(tmp_path / "bad"), "--optimizer", "adam")
    _assert_one_line_error(code, err, "optimizer = 'adam'")
    code, _, err = _run(
        *base, "--out", str(tmp_path / "run"), "--optimizer", "adamw", "--no-progress"
    )
    assert code == 0, err
    config = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert config["optimizer"] == "adamw" and config["lr"] == 0.01
