"""Shared fixtures of the deployment tests: a tiny model, its export, a checkpoint, videos."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from autotsnet.data.synth import generate_synthetic
from autotsnet.infer import ExportOptions, export_onnx, randomize
from autotsnet.infer.onnx_export import example_inputs, input_specs
from autotsnet.models import Genome, VideoNet, build_model, shrink, zoo
from autotsnet.train.checkpoint import input_spec, save_checkpoint

VIEWS = "2x1"


def tiny_model(genome: Genome, num_classes: int, seed: int = 0) -> VideoNet:
    """A tiny network with seeded random weights and calibrated BN (no global RNG use)."""
    with torch.random.fork_rng(devices=[]):
        model = build_model(genome, num_classes=num_classes)
    specs = input_specs(genome, crop=genome.sparse.input.train_crop)
    randomize(model, lambda g: example_inputs(specs, (4,), generator=g), seed=seed)
    return model


def write_video(path: Path, frames: int = 16, size: tuple[int, int] = (48, 64)) -> Path:
    """A small H.264 mp4 (moov atom at the end, as libx264 writes by default)."""
    h, w = size
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=25, options={"g": "8"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            img[: h // 2, :, 0] = (10 * i) % 255
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 classes x 2 videos (1 train + 1 val each), 24 frames of 48x64."""
    out = tmp_path_factory.mktemp("infer-synth") / "ds"
    generate_synthetic(out, classes=2, videos_per_class=2, frames=24, size=(48, 64))
    return out


@pytest.fixture(scope="session")
def class_names(synth: Path) -> list[str]:
    names: list[str] = json.loads((synth / "classes.json").read_text())["classes"]
    return names


@pytest.fixture(scope="session")
def videos(synth: Path) -> list[Path]:
    return sorted(synth.rglob("*.mp4"))


@pytest.fixture(scope="session")
def genome() -> Genome:
    """Tiny twin of auto_tsnet_s (two streams, GloRe, all fusion ops)."""
    return shrink(zoo.get("auto_tsnet_s"))


@pytest.fixture(scope="session")
def model(genome: Genome, class_names: list[str]) -> VideoNet:
    return tiny_model(genome, len(class_names))


@pytest.fixture(scope="session")
def exported(
    tmp_path_factory: pytest.TempPathFactory,
    model: VideoNet,
    genome: Genome,
    class_names: list[str],
) -> Path:
    """ONNX export (logits head, views 2x1) of ``model``."""
    out = tmp_path_factory.mktemp("export") / "tiny"
    export_onnx(model, genome, out, class_names=class_names, options=ExportOptions(views=VIEWS))
    return out


@pytest.fixture(scope="session")
def checkpoint(
    tmp_path_factory: pytest.TempPathFactory,
    model: VideoNet,
    genome: Genome,
    class_names: list[str],
) -> Path:
    """A checkpoint holding ``model`` (the model keys only)."""
    path = tmp_path_factory.mktemp("ckpt") / "final.pt"
    state = {
        "genome": genome.to_json(),
        "class_names": class_names,
        "input": input_spec(genome),
        "model": model.state_dict(),
    }
    save_checkpoint(path, state)
    return path
