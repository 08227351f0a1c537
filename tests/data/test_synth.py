"""The synthetic dataset: deterministic, real H.264, and uninformative single frames."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from autotsnet.data import DataError, VideoReader
from autotsnet.data.synth import CLASS_NAMES, SynthInfo, generate_synthetic, render_video


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.mp4"))
    }


def test_layout_and_real_h264(synth_root: SynthInfo) -> None:
    root = synth_root.out
    assert (root / "classes.json").is_file() and (root / "synth.json").is_file()
    files = sorted(root.rglob("*.mp4"))
    assert len(files) == synth_root.train_videos + synth_root.val_videos == 12
    with VideoReader(files[0]) as r:
        assert r.info.codec == "h264" and r.num_frames == 24
        assert r.read([0, 23]).shape == (2, 32, 48, 3)


def test_deterministic_and_reused(tmp_path: Path, synth_root: SynthInfo) -> None:
    kw = {"classes": 4, "videos_per_class": 3, "frames": 24, "size": (32, 48), "seed": 7}
    info = generate_synthetic(tmp_path / "again", val_fraction=0.34, **kw)  # type: ignore[arg-type]
    assert not info.reused
    assert _digest(tmp_path / "again") == _digest(synth_root.out)  # byte-identical
    again = generate_synthetic(tmp_path / "again", val_fraction=0.34, **kw)  # type: ignore[arg-type]
    assert again.reused
    other = generate_synthetic(tmp_path / "s8", classes=2, videos_per_class=1, seed=8, frames=8)
    assert not other.reused


def test_reversal_pairs_are_time_reversed() -> None:
    for fwd, rev in [("left", "right"), ("up", "down"), ("cw", "ccw"), ("approach", "recede")]:
        a, b = render_video(fwd, 11, 16, (32, 32)), render_video(rev, 11, 16, (32, 32))
        assert np.array_equal(a[::-1], b)
        assert not np.array_equal(a, b)


def test_bad_arguments() -> None:
    with pytest.raises(DataError, match="classes"):
        generate_synthetic(Path("/nonexistent/x"), classes=len(CLASS_NAMES) + 1)
    with pytest.raises(DataError, match="even"):
        generate_synthetic(Path("/nonexistent/x"), size=(33, 32))


def _frame_features(frame: np.ndarray) -> np.ndarray:
    f = frame.astype(np.float32) / 255.0
    hist = [np.histogram(f[..., c], bins=6, range=(0, 1))[0] / f[..., c].size for c in range(3)]
    gy, gx = np.abs(np.diff(f, axis=0)).mean(), np.abs(np.diff(f, axis=1)).mean()
    return np.concatenate([f.mean((0, 1)), f.std((0, 1)), *hist, [gx, gy]])


def _single_frame_accuracy(tint: bool) -> float:
    classes, per_class, frames, size = 8, 14, 32, (32, 32)
    rng = np.random.default_rng(0)
    feats: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    labels: dict[str, list[int]] = {"train": [], "test": []}
    for label, name in enumerate(CLASS_NAMES[:classes]):
        for v in range(per_class):
            video = render_video(name, 1000 * v + label // 2, frames, size)
            if tint:  # positive control: a class-dependent colour cast leaks the label
                cast = np.array([(label & 1) * 255, (label & 2) * 127, (label & 4) * 63])
                video = (0.6 * video + 0.4 * cast).astype(np.uint8)
            split = "train" if v < 10 else "test"
            for t in rng.choice(frames, size=6, replace=False):
                feats[split].append(_frame_features(video[t]))
                labels[split].append(label)
    x_tr = torch.tensor(np.stack(feats["train"]), dtype=torch.float32)
    x_te = torch.tensor(np.stack(feats["test"]), dtype=torch.float32)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    y_tr, y_te = torch.tensor(labels["train"]), torch.tensor(labels["test"])
    gen = torch.Generator().manual_seed(0)
    clf = torch.nn.Sequential(torch.nn.Linear(x_tr.shape[1], 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, classes))  # fmt: skip
    for p in clf.parameters():
        torch.nn.init.normal_(p, std=0.1, generator=gen)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(clf(x_tr), y_tr)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    with torch.no_grad():
        return float((clf(x_te).argmax(1) == y_te).float().mean())


def test_single_frames_carry_no_class_information() -> None:
    chance = 1 / 8
    acc = _single_frame_accuracy(tint=False)
    assert acc < chance + 0.12, f"per-frame classifier reached {acc:.2f} (chance {chance:.2f})"
    leaky = _single_frame_accuracy(tint=True)
    assert leaky > 0.6, f"control: the same classifier should find a leak, got {leaky:.2f}"
