"""VideoSearchData: random flips of the weight clips can be switched off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from autotsnet.cli.app import app
from autotsnet.data.synth import generate_synthetic
from autotsnet.models.space import SearchSpace
from autotsnet.search.data import VideoSearchData


@pytest.fixture(scope="module")
def lr_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """left/right/up/down, 4 training videos each, 20 frames of 40x40."""
    out = tmp_path_factory.mktemp("search_synth")
    generate_synthetic(
        out, classes=4, videos_per_class=5, frames=20, size=(40, 40), val_fraction=0.2, workers=2
    )
    return out


def test_flip_off_keeps_direction(lr_data: Path) -> None:
    base = SearchSpace.table1(scale="tiny").base

    def clips(flip: bool) -> list[torch.Tensor]:
        data = VideoSearchData(lr_data, base, batch_size=4, seed=3, flip=flip)
        return [c for epoch in range(3) for b in data.train_batches(epoch) for c in b[0][0]]

    flipped, plain = clips(True), clips(False)
    assert len(flipped) == len(plain) > 0
    mirrored = 0
    for a, b in zip(flipped, plain, strict=True):
        # same window and crop per clip; flip=True mirrors some of them, flip=False none
        assert torch.equal(a, b) or torch.equal(a, b.flip(-1))
        mirrored += not torch.equal(a, b)
    assert 0 < mirrored < len(plain)


def test_cli_search_end_to_end_with_warmup_and_no_flip(lr_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["search", "--data", str(lr_data), "--out", str(out), "--space-scale", "tiny"]
    args += ["--steps", "sparse", "--target-gflops", "0.005", "--epochs", "1"]
    args += ["--warmup-epochs", "1", "--samples", "1", "--batch-size", "4", "--max-iters", "1"]
    result = CliRunner().invoke(app, [*args, "--no-flip", "--optimizer", "adamw"])
    assert result.exit_code == 0, result.output
    assert (out / "genome.json").exists() and (out / "supernet.png").exists()
    hint = result.stdout.splitlines()[-1]
    assert "--no-flip" in hint and "--optimizer adamw" in hint
    recs = [json.loads(line) for line in (out / "search.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in recs] == ["warmup", "search"]
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["fingerprint"]["flip"] is False
    assert state["fingerprint"]["warmup_epochs"] == [1]
