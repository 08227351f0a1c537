"""Shared fixtures: tiny synthetic datasets (generated once per session), genomes, a checkpoint."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autotsnet.data.synth import generate_synthetic
from autotsnet.models import Genome, shrink, zoo
from autotsnet.models.genome import HeadGene
from autotsnet.train import TrainConfig, train


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 classes (left/right/up/down), 4 train + 1 val videos each, 40 frames of 40x40."""
    out = tmp_path_factory.mktemp("synth") / "small"
    generate_synthetic(
        out, classes=4, videos_per_class=5, frames=40, size=(40, 40), val_fraction=0.2, workers=2
    )
    return out


@pytest.fixture(scope="session")
def synth_learn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 classes, 45 train + 15 val videos each, 32 frames of 48x48 (the learning test)."""
    out = tmp_path_factory.mktemp("synth") / "learn"
    generate_synthetic(out, classes=4, videos_per_class=60, frames=32, size=(48, 48), workers=2)
    return out


@pytest.fixture(scope="session")
def tiny_two_stream() -> Genome:
    """Tiny twin of Auto-TSNet-S: 2 sparse frames x 16, 8 dense frames x 2, 32 px."""
    return shrink(zoo.get("auto_tsnet_s"))


@pytest.fixture(scope="session")
def tiny_no_dropout(tiny_two_stream: Genome) -> Genome:
    """The tiny two-stream genome without dropout (runs compared across process counts)."""
    return dataclasses.replace(
        tiny_two_stream, head=HeadGene(conv_expansion=2.25, hidden=32, dropout=0.0)
    )


def quick_config(**changes: object) -> TrainConfig:
    """A CPU config for 2-epoch runs on ``synth_small``."""
    base = TrainConfig(
        epochs=2,
        batch_size=4,
        lr=0.05,
        warmup_epochs=0.5,
        workers=0,
        precise_bn=2,
        ckpt_every_steps=2,
        keep_last=3,
        log_every=1,
        device="cpu",
    )
    return base.replace(**changes)


@pytest.fixture(scope="session")
def trained_run(
    tmp_path_factory: pytest.TempPathFactory, synth_small: Path, tiny_two_stream: Genome
) -> Path:
    """A finished 1-epoch run of the tiny two-stream genome on ``synth_small``."""
    out = tmp_path_factory.mktemp("runs") / "trained"
    train(tiny_two_stream, synth_small, out, quick_config(epochs=1), progress=False)
    return out
