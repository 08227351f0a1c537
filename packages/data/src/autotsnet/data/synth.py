"""A built-in synthetic video dataset whose classes can only be told apart over time.

Each video shows a textured object over a textured background that drifts in a random
direction. Objects and backgrounds live on a torus (they wrap around the frame edges), and
every per-video nuisance (position, angle, size, colours, textures, background motion) is
drawn from the same distribution for every class, so **a single frame carries no
information about the class**. Classes come in pairs; in a *reversal pair* the second class
is exactly the first one played backwards, so a model that ignores frame order cannot tell
them apart:

====  ===================  ==============================================  ===========
pair  classes              what changes over time                          reversal
====  ===================  ==============================================  ===========
0     left, right          horizontal translation                          yes
1     up, down             vertical translation                            yes
2     cw, ccw              rotation sense (on screen)                      yes
3     approach, recede     size grows / shrinks (objects keep coming)      yes
4     fast, slow           speed along a random direction                  no
5     periodic, one_off    back-and-forth sweeps vs one sweep then rest    no
6     appear, disappear    slow fade-in then cut / cut-in then slow fade   yes
====  ===================  ==============================================  ===========

Scale and visibility change with a random phase and wrap around (an object that reaches
full size is replaced by a small one), so even the first frame's size says nothing about
approach vs recede. Pair 6 shows half-transparent objects that other classes never show,
so a single frame does separate *that pair* from the rest (never its two classes); the
default 8 classes use pairs 0-3 only, whose single-frame statistics are identical.

Videos are real H.264 mp4 (libx264, yuv420p, single-threaded so files are byte-identical
for a seed on any machine), written as a folder-per-class dataset::

    out/train/<class>/<class>_0000.mp4   out/val/<class>/...   out/classes.json   out/synth.json
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from autotsnet.data.classmap import ClassMap, atomic_write_text
from autotsnet.data.errors import DataError

__all__ = ["CLASS_NAMES", "SYNTH_FPS", "SynthInfo", "generate_synthetic", "render_video"]

logger = logging.getLogger(__name__)

CLASS_NAMES: tuple[str, ...] = (
    "left",
    "right",
    "up",
    "down",
    "cw",
    "ccw",
    "approach",
    "recede",
    "fast",
    "slow",
    "periodic",
    "one_off",
    "appear",
    "disappear",
)
"""Every synthetic class, in label order; ``classes=N`` uses the first N."""

_REVERSED = {
    "right": "left",
    "down": "up",
    "ccw": "cw",
    "recede": "approach",
    "disappear": "appear",
}
SYNTH_FPS = 30
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SynthInfo:
    """What :func:`generate_synthetic` wrote (also stored as ``synth.json``).

    Attributes:
        out: Dataset folder.
        classes: Class names in label order.
        videos_per_class: Videos per class (train + val).
        seed: Generator seed.
        frames: Frames per video.
        size: (height, width) of the frames.
        val_fraction: Share of each class in ``val/``.
        train_videos: Number of training videos.
        val_videos: Number of validation videos.
        fps: Frame rate of the files.
        reused: True when an identical existing dataset was reused.
    """

    out: Path
    classes: tuple[str, ...]
    videos_per_class: int
    seed: int
    frames: int
    size: tuple[int, int]
    val_fraction: float
    train_videos: int
    val_videos: int
    fps: int = SYNTH_FPS
    reused: bool = False

    def params(self) -> dict[str, Any]:
        """The generation parameters (what decides the content)."""
        return {
            "format_version": _FORMAT_VERSION,
            "classes": list(self.classes),
            "videos_per_class": self.videos_per_class,
            "seed": self.seed,
            "frames": self.frames,
            "size": list(self.size),
            "val_fraction": self.val_fraction,
            "fps": self.fps,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of everything."""
        d = asdict(self)
        d["out"] = str(self.out)
        d["classes"] = list(self.classes)
        d["size"] = list(self.size)
        return d


# ---------------------------------------------------------------------- rendering
def _texture(
    rng: np.random.Generator, n: int, max_freq: int
) -> list[tuple[float, float, float, float]]:
    """Random tileable sinusoids: (kx, ky, phase, amplitude)."""
    out = []
    for _ in range(n):
        kx, ky = rng.integers(-max_freq, max_freq + 1, size=2)
        if kx == 0 and ky == 0:
            kx = 1
        out.append((float(kx), float(ky), _u(rng, 0, 2 * np.pi), _u(rng, 0.5, 1.0)))
    return out


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    """A uniform scalar as a Python float (keeps float32 arrays float32)."""
    return float(rng.uniform(low, high))


def _colors(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.05, 0.95, size=(2, 3)).astype(np.float32)


def _trajectory(name: str, rng: np.random.Generator, f: int, h: int, w: int) -> dict[str, Any]:
    """Per-frame object state for a forward class (reversed classes reuse their partner)."""
    t = np.arange(f, dtype=np.float32)
    s = min(h, w) / 64.0
    cx: np.ndarray = np.full(f, _u(rng, 0, w), np.float32)
    cy: np.ndarray = np.full(f, _u(rng, 0, h), np.float32)
    angle: np.ndarray = np.full(f, _u(rng, 0, 2 * np.pi), np.float32)
    log_phase: np.ndarray = np.full(f, _u(rng, 0, 1), np.float32)
    alpha: np.ndarray = np.ones(f, np.float32)
    if name == "left":
        cx = cx - _u(rng, 0.8, 1.6) * s * t
    elif name == "up":
        cy = cy - _u(rng, 0.8, 1.6) * s * t
    elif name == "cw":
        angle = angle + _u(rng, 0.06, 0.12) * t
    elif name == "approach":
        log_phase = (log_phase + _u(rng, 1 / 32, 1 / 20) * t) % 1.0
    elif name in ("fast", "slow"):
        direction = _u(rng, 0, 2 * np.pi)
        speed = _u(rng, 1.6, 2.4) if name == "fast" else _u(rng, 0.3, 0.6)
        cx = cx + np.cos(direction) * speed * s * t
        cy = cy + np.sin(direction) * speed * s * t
    elif name in ("periodic", "one_off"):
        direction, amp = _u(rng, 0, 2 * np.pi), _u(rng, 0.25, 0.35) * min(h, w)
        period = _u(rng, 14, 22)
        if name == "periodic":
            ph = (t / period + _u(rng, 0, 1)) % 1.0
            bump = 1.0 - np.abs(2.0 * ph - 1.0)
        else:
            t0 = _u(rng, 0, max(f - period, 1))
            ph = np.clip((t - t0) / period, 0.0, 1.0)
            bump = 1.0 - np.abs(2.0 * ph - 1.0)
            bump[(t < t0) | (t > t0 + period)] = 0.0
        cx = cx + np.cos(direction) * amp * bump
        cy = cy + np.sin(direction) * amp * bump
    elif name == "appear":
        alpha = (_u(rng, 0, 1) + _u(rng, 1 / 24, 1 / 16) * t) % 1.0
    else:  # pragma: no cover - CLASS_NAMES is closed
        raise ValueError(name)
    return {"cx": cx, "cy": cy, "angle": angle, "log_phase": log_phase, "alpha": alpha}


def render_video(name: str, seed: int, frames: int, size: tuple[int, int]) -> np.ndarray:
    """Render one synthetic video of class ``name``.

    Args:
        name: A class in :data:`CLASS_NAMES`.
        seed: Per-video seed; the same seed gives the same nuisances for every class, so
            ``render_video("right", s, ...)`` is ``render_video("left", s, ...)[::-1]``.
        frames: Number of frames.
        size: (height, width).

    Returns:
        uint8 (frames, height, width, 3).
    """
    if name not in CLASS_NAMES:
        raise DataError(f"unknown synthetic class {name!r}")
    forward = _REVERSED.get(name, name)
    h, w = size
    rng = np.random.default_rng(seed)
    bg_tex, obj_tex = _texture(rng, 4, 3), _texture(rng, 3, 4)
    bg_col, obj_col = _colors(rng), _colors(rng)
    bg_dir, bg_speed = _u(rng, 0, 2 * np.pi), _u(rng, 0.15, 0.5) * min(h, w) / 64
    aspect = _u(rng, 0.55, 0.85)
    base_log_scale = _u(rng, 0, 1)
    traj = _trajectory(forward, rng, frames, h, w)
    if forward != "approach":
        traj["log_phase"] = np.full(frames, base_log_scale, np.float32)
    t = np.arange(frames, dtype=np.float32)[:, None, None]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ox, oy = np.cos(bg_dir) * bg_speed * t, np.sin(bg_dir) * bg_speed * t
    # sin(a - b) = sin a cos b - cos a sin b: spatial part once, a matmul per frame.
    spatial = np.stack([2 * np.pi * (kx * xx / w + ky * yy / h) + ph for kx, ky, ph, _ in bg_tex])
    shift = np.stack([2 * np.pi * (kx * ox / w + ky * oy / h) for kx, ky, _, _ in bg_tex], -1)
    amps = np.array([amp for *_, amp in bg_tex], np.float32)
    coef = np.concatenate([amps * np.cos(shift), -amps * np.sin(shift)], -1).reshape(frames, -1)
    basis = np.concatenate([np.sin(spatial), np.cos(spatial)]).reshape(2 * len(bg_tex), -1)
    field = (coef.astype(np.float32) @ basis.astype(np.float32)).reshape(frames, h, w)
    mix = (0.5 + 0.5 * np.tanh(field))[..., None]
    out = bg_col[0] * (1 - mix) + bg_col[1] * mix
    radius = 0.22 * min(h, w) * (0.40 / 0.22) ** traj["log_phase"]  # log-uniform
    cx, cy = traj["cx"][:, None, None], traj["cy"][:, None, None]
    dx = (xx - cx + w / 2) % w - w / 2
    dy = (yy - cy + h / 2) % h - h / 2
    ca, sa = np.cos(traj["angle"])[:, None, None], np.sin(traj["angle"])[:, None, None]
    r = radius[:, None, None]
    u, v = (ca * dx + sa * dy) / r, (-sa * dx + ca * dy) / r
    edge = np.maximum(np.abs(u), np.abs(v) / aspect)
    mask = np.clip((1.0 - edge) * r, 0.0, 1.0)
    notch = np.clip((np.hypot(u - 0.55, v) - 0.25) * r, 0.0, 1.0)  # breaks the symmetry
    mask = mask * notch * traj["alpha"][:, None, None]
    pattern = np.zeros_like(u)
    for kx, ky, ph, amp in obj_tex:
        pattern += amp * np.sin(np.pi * (kx * u + ky * v) * 1.5 + ph)
    pm = (pattern > 0).astype(np.float32)[..., None]
    obj = obj_col[0] * (1 - pm) + obj_col[1] * pm
    border = (np.clip((edge - 0.82) * r, 0.0, 1.0) * 0.8)[..., None]
    obj = obj * (1 - border)
    m = mask[..., None]
    frames_f = out * (1 - m) + obj * m
    video = np.clip(frames_f * 255.0 + 0.5, 0, 255).astype(np.uint8)
    result: np.ndarray = video[::-1].copy() if forward != name else video
    return result


def _encode(video: np.ndarray, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream(
            "libx264",
            rate=SYNTH_FPS,
            options={"crf": "18", "preset": "veryfast", "threads": "1", "g": "32"},
        )
        stream.width, stream.height = video.shape[2], video.shape[1]
        stream.pix_fmt = "yuv420p"
        for frame in video:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def _job(args: tuple[str, int, int, tuple[int, int], str]) -> str:
    name, seed, frames, size, path = args
    _encode(render_video(name, seed, frames, size), Path(path))
    return path


# ---------------------------------------------------------------------- the dataset
def _video_seed(seed: int, pair_video: int, pair: int) -> int:
    return int(np.random.SeedSequence([seed, pair, pair_video]).generate_state(1)[0])


def generate_synthetic(
    out: Path,
    *,
    classes: int = 8,
    videos_per_class: int = 24,
    seed: int = 0,
    frames: int = 64,
    size: tuple[int, int] = (64, 64),
    val_fraction: float = 0.25,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SynthInfo:
    """Write the synthetic dataset (or reuse an identical one already at ``out``).

    Args:
        out: Dataset folder.
        classes: Number of classes, 2 to ``len(CLASS_NAMES)`` (the first N names).
        videos_per_class: Videos per class, split into train and val.
        seed: Seed; the output is byte-identical for the same arguments.
        frames: Frames per video.
        size: (height, width), both even (H.264 4:2:0).
        val_fraction: Share of each class in ``val/`` (at least one when 0 < fraction).
        workers: Processes that render and encode in parallel.
        progress: Called with (done, total) after each video.

    Raises:
        DataError: On out-of-range arguments.
    """
    out = Path(out)
    h, w = size
    if not 2 <= classes <= len(CLASS_NAMES):
        raise DataError(f"synth: classes must be in 2..{len(CLASS_NAMES)}, got {classes}")
    if videos_per_class < 1 or frames < 2:
        raise DataError("synth: need videos_per_class >= 1 and frames >= 2")
    if h < 16 or w < 16 or h % 2 or w % 2:
        raise DataError(f"synth: size must be even and >= 16, got {h}x{w}")
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"synth: val_fraction must be in [0, 1), got {val_fraction}")
    names = CLASS_NAMES[:classes]
    n_val = round(videos_per_class * val_fraction)
    if val_fraction > 0 and videos_per_class > 1:
        n_val = min(max(n_val, 1), videos_per_class - 1)
    elif videos_per_class == 1:
        n_val = 0
    info = SynthInfo(
        out=out,
        classes=names,
        videos_per_class=videos_per_class,
        seed=seed,
        frames=frames,
        size=(h, w),
        val_fraction=val_fraction,
        train_videos=classes * (videos_per_class - n_val),
        val_videos=classes * n_val,
    )
    jobs = []
    for label, name in enumerate(names):
        pair = label // 2
        for i in range(videos_per_class):
            split = "val" if i >= videos_per_class - n_val else "train"
            path = out / split / name / f"{name}_{i:04d}.mp4"
            jobs.append((name, _video_seed(seed, i, pair), frames, (h, w), str(path)))
    marker = out / "synth.json"
    if _matches(marker, info) and all(Path(j[4]).is_file() for j in jobs):
        logger.info("reusing synthetic dataset at %s", out)
        return SynthInfo(**{**asdict(info), "reused": True})
    partial = out / ".synth.partial.json"
    resume = _matches(partial, info)
    marker.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(partial, json.dumps(info.params(), indent=2))
    todo = [j for j in jobs if not (resume and Path(j[4]).is_file())]
    for j in todo:
        Path(j[4]).parent.mkdir(parents=True, exist_ok=True)
    done = len(jobs) - len(todo)
    if progress is not None:
        progress(done, len(jobs))
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(_job, todo, chunksize=4):
                done += 1
                if progress is not None:
                    progress(done, len(jobs))
    else:
        for j in todo:
            _job(j)
            done += 1
            if progress is not None:
                progress(done, len(jobs))
    ClassMap(names).save(out / "classes.json")
    atomic_write_text(marker, json.dumps(info.params(), indent=2) + "\n")
    partial.unlink(missing_ok=True)
    return info


def _matches(path: Path, info: SynthInfo) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")) == info.params())
    except (OSError, ValueError):
        return False
