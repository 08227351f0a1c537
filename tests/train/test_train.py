"""Training runs: run folder, overwrite guard, checkpoints, exact resume after SIGKILL."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from autotsnet.data import DataError
from autotsnet.models import Genome, shrink, zoo
from autotsnet.train import TrainError, load_checkpoint, train
from autotsnet.train.checkpoint import list_checkpoints
from autotsnet.train.metrics import read_metrics

from .conftest import quick_config

TIMING = {"steps_per_s", "epoch_time_s"}


def _same_weights(a: Path, b: Path) -> None:
    sa, sb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def _same_metrics(a: Path, b: Path) -> None:
    ra, rb = read_metrics(a / "metrics.jsonl"), read_metrics(b / "metrics.jsonl")
    assert [(r["type"], r["step"]) for r in ra] == [(r["type"], r["step"]) for r in rb]
    for x, y in zip(ra, rb, strict=True):
        for key in x.keys() - TIMING:
            if isinstance(x[key], float):
                assert y[key] == pytest.approx(x[key], abs=1e-6), (x["step"], key)
            else:
                assert x[key] == y[key], (x["step"], key)


def test_run_folder_contents(trained_run: Path) -> None:
    names = {p.name for p in trained_run.iterdir()}
    assert {"config.json", "genome.json", "classes.json", "metrics.jsonl", "tb"} <= names
    assert {"checkpoints", "final.pt", "plots", "report.json"} <= names
    records = read_metrics(trained_run / "metrics.jsonl")
    steps = [r for r in records if r["type"] == "step"]
    epochs = [r for r in records if r["type"] == "epoch"]
    assert [r["step"] for r in steps] == [1, 2, 3, 4] and len(epochs) == 1
    assert {"loss", "lr", "steps_per_s"} <= steps[0].keys()
    assert {"train_loss", "train_top1", "val_top1", "val_top5", "val_loss"} <= epochs[0].keys()
    # the classifier head's live hidden units are counted on the validation clips
    hidden = load_checkpoint(trained_run / "final.pt")["model"]["classifier.fc1.weight"].shape[0]
    assert epochs[0]["head_hidden_units"] == hidden
    assert 0 < epochs[0]["head_alive_units"] <= hidden
    assert steps[0]["lr"] < steps[-1]["lr"] or steps[-1]["lr"] < 0.05  # warmup then cosine
    assert any(p.name.startswith("events.out.tfevents") for p in (trained_run / "tb").iterdir())
    for png in ("loss.png", "accuracy.png", "lr.png"):
        assert (trained_run / "plots" / png).read_bytes()[:4] == b"\x89PNG"
    report = json.loads((trained_run / "report.json").read_text())
    assert report["steps"] == 4 and report["classes"] == 4 and report["world_size"] == 1
    assert report["final"]["val_top1"] == epochs[-1]["val_top1"]
    ckpts = list_checkpoints(trained_run / "checkpoints")
    assert [p.name for p in ckpts] == ["step-000000002.pt", "step-000000004.pt"]
    state = load_checkpoint(trained_run / "final.pt")
    for key in ("optimizer", "scheduler", "scaler", "rng", "genome", "class_names", "input"):
        assert key in state
    assert state["epoch"] == 1 and state["batch"] == 0 and state["step"] == 4
    assert state["class_names"] == ["left", "right", "up", "down"]
    assert state["config"]["batch_size"] == 4 and state["config"]["world_size"] == 1
    assert Genome.from_json(state["genome"]).genome_id == report["genome_id"]


def test_existing_run_is_never_overwritten_silently(
    tmp_path: Path, synth_small: Path, tiny_two_stream: Genome
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("precious\n")
    (run / "notes.txt").write_text("mine\n")
    with pytest.raises(TrainError, match=r"already holds a run .* --resume .* --overwrite"):
        train(tiny_two_stream, synth_small, run, quick_config(epochs=1), progress=False)
    assert (run / "metrics.jsonl").read_text() == "precious\n"
    assert sorted(p.name for p in run.iterdir()) == ["metrics.jsonl", "notes.txt"]
    train(
        tiny_two_stream,
        synth_small,
        run,
        quick_config(epochs=1, precise_bn=0),
        overwrite=True,
        progress=False,
    )
    assert "precious" not in (run / "metrics.jsonl").read_text()
    assert (run / "notes.txt").read_text() == "mine\n"


def test_corrupted_newest_checkpoint_falls_back_and_stays_exact(
    tmp_path: Path,
    trained_run: Path,
    synth_small: Path,
    tiny_two_stream: Genome,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    newest = list_checkpoints(run / "checkpoints")[-1]
    newest.write_bytes(newest.read_bytes()[:5000])
    (run / "final.pt").unlink()
    with caplog.at_level(logging.WARNING):
        report = train(
            tiny_two_stream, synth_small, run, quick_config(epochs=1), resume=True, progress=False
        )
    assert "step-000000004.pt" in caplog.text and "falling back" in caplog.text
    assert report["resumed_from"]["step"] == 2 and report["resumed_from"]["batch"] == 2
    _same_weights(trained_run / "final.pt", run / "final.pt")
    _same_metrics(trained_run, run)


def test_resume_checks_genome_options_and_classes(
    tmp_path: Path, trained_run: Path, synth_small: Path, tiny_two_stream: Genome
) -> None:
    cfg = quick_config(epochs=1)
    with pytest.raises(TrainError, match=r"options differ .*\(lr 0.5 \(run: 0.05\)\)"):
        train(tiny_two_stream, synth_small, trained_run, cfg.replace(lr=0.5), resume=True)
    other = shrink(zoo.get("x3d_xs"))
    with pytest.raises(TrainError, match="holds genome auto_tsnet_s_tiny"):
        train(other, synth_small, trained_run, cfg, resume=True)
    items = sorted((synth_small / "train").rglob("*.mp4"))
    (tmp_path / "six.txt").write_text(
        "".join(f"{p} {'abcdef'[i % 6]}\n" for i, p in enumerate(items))
    )
    with pytest.raises(TrainError, match=r"dataset has 6 classes but checkpoint .* trained on 4"):
        train(tiny_two_stream, tmp_path / "six.txt", trained_run, cfg, resume=True)


def test_missing_and_empty_datasets(tmp_path: Path, tiny_two_stream: Genome) -> None:
    with pytest.raises(DataError, match="no such file or directory"):
        train(tiny_two_stream, tmp_path / "nope", tmp_path / "run", quick_config())
    for split in ("train", "val"):
        (tmp_path / "empty" / split / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="no videos found"):
        train(tiny_two_stream, tmp_path / "empty", tmp_path / "run", quick_config())
    assert not (tmp_path / "run").exists()


def _cli_args(genome: Path, data: Path, out: Path, cfg: Any) -> list[str]:
    return [
        sys.executable, "-m", "autotsnet.cli", "train", str(genome),
        "--data", str(data), "--out", str(out), "--epochs", str(cfg.epochs),
        "--batch-size", str(cfg.batch_size), "--lr", str(cfg.lr),
        "--warmup-epochs", str(cfg.warmup_epochs), "--workers", str(cfg.workers),
        "--precise-bn", str(cfg.precise_bn), "--ckpt-every", str(cfg.ckpt_every_steps),
        "--keep-last", str(cfg.keep_last), "--log-every", str(cfg.log_every),
        "--device", "cpu", "--no-progress",
    ]  # fmt: skip


def test_sigkill_mid_epoch_then_resume_gives_the_same_weights(
    tmp_path: Path, synth_small: Path, tiny_two_stream: Genome
) -> None:
    cfg = quick_config(epochs=2, batch_size=2, ckpt_every_steps=2)  # 8 steps per epoch
    reference = tmp_path / "reference"
    train(tiny_two_stream, synth_small, reference, cfg, progress=False)

    genome_file = tmp_path / "genome.json"
    genome_file.write_text(tiny_two_stream.to_json())
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        _cli_args(genome_file, synth_small, run, cfg),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    try:
        while not any(int(p.stem[5:]) >= 4 for p in list_checkpoints(run / "checkpoints")):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "final.pt").exists() and not (run / "report.json").exists()

    report = train(tiny_two_stream, synth_small, run, cfg, resume=True, progress=False)
    resumed = report["resumed_from"]
    assert resumed["epoch"] == 0 and 0 < resumed["batch"] < 8, resumed  # killed mid-epoch
    _same_weights(reference / "final.pt", run / "final.pt")
    _same_metrics(reference, run)
