"""Damaged videos: every kind is counted, none crashes a training epoch or an evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from autotsnet.cli.app import app
from autotsnet.data import (
    IGNORE_LABEL,
    ClipDataset,
    FailureLog,
    StreamSampling,
    TestViews,
    TrainTransform,
    VideoItem,
    ViewDataset,
    make_loader,
    open_dataset,
)
from autotsnet.data.check import check_dataset
from autotsnet.data.synth import SynthInfo

KINDS = ("missing", "empty", "random", "headerless", "truncated", "truncated_short", "audio_only")
# A 48-frame window spans all of truncated_short.mp4, so its lost tail is always read (a
# loader only notices truncation inside the frames it reads; `data check` reads them all).
SAMPLINGS = (StreamSampling(2, 24), StreamSampling(8, 6))


def _items(synth_root: SynthInfo, damaged: dict[str, Path]) -> tuple[list[VideoItem], int]:
    good, _ = open_dataset(synth_root.out, "train")
    bad = [VideoItem(damaged[k], 0) for k in KINDS]
    return good + bad, len(good)


@pytest.mark.parametrize("workers", [0, 2])
def test_training_epoch_replaces_and_counts(
    synth_root: SynthInfo, damaged: dict[str, Path], tmp_path: Path, workers: int
) -> None:
    items, _n_good = _items(synth_root, damaged)
    log = FailureLog(tmp_path / "failures")
    ds = ClipDataset(items, SAMPLINGS, TrainTransform(crop=24, scale=(28, 32)), seed=1,
                     failure_log=log)  # fmt: skip
    loader = make_loader(ds, 4, workers=workers, shuffle=True, seed=0)
    seen = 0
    for (sparse, dense), labels in loader:
        assert sparse.shape[1:] == (3, 2, 24, 24) and dense.shape[1:] == (3, 8, 24, 24)
        assert torch.isfinite(sparse).all() and (labels >= 0).all()
        seen += labels.numel()
    assert seen == len(items)  # every index yields a (replacement) sample
    failed = {Path(r["path"]).name: r["reason"] for r in ds.failures}
    assert set(failed) == {damaged[k].name for k in KINDS}
    assert all(failed.values())
    summary = log.summary()
    assert summary["failed_files"] == len(KINDS)
    assert json.loads(json.dumps(summary))["failures"][0]["reason"]


def test_replacement_is_seeded(synth_root: SynthInfo, damaged: dict[str, Path]) -> None:
    items, n_good = _items(synth_root, damaged)
    tf = TrainTransform(crop=24, scale=(28, 32))
    a = ClipDataset(items, SAMPLINGS, tf, seed=4)
    b = ClipDataset(items, SAMPLINGS, tf, seed=4)
    idx = n_good + 2  # random bytes
    (xa, _), la = a[(idx, 0)]
    (xb, _), lb = b[(idx, 0)]
    assert la == lb and torch.equal(xa, xb)


def test_evaluation_records_failures(synth_root: SynthInfo, damaged: dict[str, Path]) -> None:
    items, n_good = _items(synth_root, damaged)
    views = TestViews(clips=2, crops=3, short_side=32, crop=32)
    ds = ViewDataset(items, SAMPLINGS, views)
    loader = make_loader(ds, 3, workers=0, shuffle=False, seed=0)
    oks: list[bool] = []
    reasons: list[str] = []
    for (sparse, _dense), _labels, ok, reason in loader:
        assert sparse.shape[1:] == (6, 3, 2, 32, 32)
        oks.extend(ok.tolist())
        reasons.extend(reason)
    assert oks == [True] * n_good + [False] * len(KINDS)
    assert all(r for r in reasons[n_good:]) and not any(reasons[:n_good])
    assert len(ds.failures) == len(KINDS)


def test_clip_dataset_eval_mode_marks_failures(damaged: dict[str, Path]) -> None:
    ds = ClipDataset([VideoItem(damaged["random"], 3)], SAMPLINGS, seed=0, train=False)
    (sparse, _dense), label = ds[0]
    assert label == IGNORE_LABEL and sparse.shape == (3, 2, 160, 160) and not sparse.any()
    assert len(ds.failures) == 1


def test_check_reports_every_damaged_file(
    synth_root: SynthInfo, damaged: dict[str, Path], tmp_path: Path
) -> None:
    items, n_good = _items(synth_root, damaged)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{it.path} {it.label}\n" for it in items))
    report = check_dataset(listing, workers=2)
    assert len(report.ok) == n_good
    by_name = {Path(d["path"]).name: d["reason"] for d in report.damaged}
    assert set(by_name) == {damaged[k].name for k in KINDS}
    assert "declared" in by_name["truncated_short.mp4"]
    assert by_name["missing.mp4"] == "no such file"
    assert by_name["audio_only.mp4"] == "no video stream"


def test_cli_check_json_and_exit_codes(
    synth_root: SynthInfo, damaged: dict[str, Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["data", "check", str(synth_root.out), "--json", "--workers", "1"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["damaged"] == [] and len(out["ok"]) == 12
    folder = damaged["empty"].parent  # every damaged kind but the missing one
    res = runner.invoke(app, ["data", "check", str(folder), "--json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert len(out["damaged"]) == len(KINDS) - 1 and out["ok"] == []
    assert {"path", "reason"} <= set(out["damaged"][0])
    res = runner.invoke(app, ["data", "check", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such file" in res.stderr
