"""DDP: ``autotsnet train --nproc 2`` (torchrun, gloo) follows a 1-process run with the same
global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autotsnet.models import Genome
from autotsnet.train import load_checkpoint, train
from autotsnet.train.metrics import read_metrics

from .conftest import quick_config


def _losses(run: Path) -> list[float]:
    return [r["loss"] for r in read_metrics(run / "metrics.jsonl") if r["type"] == "step"]


@pytest.mark.slow
def test_two_gloo_processes_follow_one_process(
    tmp_path: Path, synth_small: Path, tiny_no_dropout: Genome
) -> None:
    # global batch 8 = 2 x 4; precise BN off so BN statistics are the only difference
    cfg = quick_config(epochs=2, batch_size=8, lr=0.02, precise_bn=0, ckpt_every_steps=0)
    single = tmp_path / "single"
    train(tiny_no_dropout, synth_small, single, cfg, progress=False)

    genome_file = tmp_path / "genome.json"
    genome_file.write_text(tiny_no_dropout.to_json())
    ddp = tmp_path / "ddp"
    args = [
        sys.executable, "-m", "autotsnet.cli", "train", str(genome_file),
        "--data", str(synth_small), "--out", str(ddp), "--nproc", "2",
        "--epochs", "2", "--batch-size", "8", "--lr", "0.02", "--warmup-epochs", "0.5",
        "--workers", "0", "--precise-bn", "0", "--ckpt-every", "0", "--log-every", "1",
        "--device", "cpu", "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]

    state = load_checkpoint(ddp / "final.pt")
    assert state["config"]["world_size"] == 2 and state["step"] == 4
    report = json.loads((ddp / "report.json").read_text())
    assert report["world_size"] == 2 and report["ranks_in_sync"] is True
    a, b = _losses(single), _losses(ddp)
    assert len(a) == len(b) == 4
    # Same clips per step, gradients averaged over the processes, losses averaged for the
    # log. Only BatchNorm differs: each process normalises over its own 4 clips (SyncBN is
    # CUDA-only), which moves the losses by about 1% here.
    for step, (x, y) in enumerate(zip(a, b, strict=True), 1):
        assert y == pytest.approx(x, rel=0.03), f"step {step}: 1 process {x}, 2 processes {y}"
