"""Shared fixtures of the data tests: a tiny synthetic dataset and damaged video files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from autotsnet.data.synth import SynthInfo, generate_synthetic

TINY = {"classes": 4, "videos_per_class": 3, "frames": 24, "size": (32, 48), "seed": 7}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> SynthInfo:
    """4 classes x 3 videos (2 train + 1 val) of 24 frames at 32x48."""
    out = tmp_path_factory.mktemp("synth")
    return generate_synthetic(out / "ds", val_fraction=0.34, **TINY)  # type: ignore[arg-type]


def write_video(
    path: Path,
    frames: int = 24,
    size: tuple[int, int] = (32, 48),
    *,
    fps: int = 25,
    faststart: bool = False,
    gop: int = 8,
) -> Path:
    """Write an H.264 mp4 whose frame ``i`` has every pixel's red channel = 10 * i."""
    h, w = size
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as c:
        s = c.add_stream("libx264", rate=fps, options={"g": str(gop), "crf": "10"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = min(10 * i, 255)
            img[..., 1] = 128
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        for k in range(10):
            samples = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 16000
            frame.pts = k * 1024
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def make_damaged(folder: Path) -> dict[str, Path]:
    """One file of every damaged kind (the missing one is not created)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = {"missing": folder / "missing.mp4"}
    out["empty"] = folder / "empty.mp4"
    out["empty"].write_bytes(b"")
    out["random"] = folder / "random.mp4"
    out["random"].write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    good = write_video(folder / ".src_faststart.mp4", frames=48, faststart=True)
    data = good.read_bytes()
    mdat = data.find(b"mdat")
    out["headerless"] = folder / "headerless.mp4"
    out["headerless"].write_bytes(data[mdat + 4 :])
    out["truncated"] = folder / "truncated.mp4"
    out["truncated"].write_bytes(data[: mdat + (len(data) - mdat) // 3])
    with av.open(str(good)) as c:
        positions = sorted(int(p.pos) for p in c.demux(video=0) if p.size and p.pos is not None)
    out["truncated_short"] = folder / "truncated_short.mp4"  # clean EOF: fewer frames
    out["truncated_short"].write_bytes(data[: positions[30]])
    out["audio_only"] = _audio_only(folder / "audio_only.mp4")
    good.unlink()
    return out


@pytest.fixture(scope="session")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Missing, empty, random-bytes, header-less, truncated (x2) and audio-only files."""
    return make_damaged(tmp_path_factory.mktemp("damaged"))


@pytest.fixture(scope="session")
def ramp_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames at 25 fps, GOP 8, frame i has red = 10 * i (capped at 255 after i=25)."""
    return write_video(tmp_path_factory.mktemp("ramp") / "ramp.mp4", frames=60, gop=8)


__all__ = ["TINY", "make_damaged", "write_video"]
