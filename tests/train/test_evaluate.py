"""Multi-view evaluation: view counts, aggregation, metrics, failed videos, class checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from autotsnet.data import ClassMap, VideoItem, open_dataset
from autotsnet.train.checkpoint import load_model_from_checkpoint
from autotsnet.train.errors import EvalError
from autotsnet.train.evaluate import evaluate, evaluate_model, predict_scores, summarize


class _Counting(nn.Module):
    """Wraps a model and records the batch size of every forward call."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls: list[int] = []

    def forward(self, *clips: torch.Tensor) -> torch.Tensor:
        self.calls.append(clips[0].shape[0])
        out: torch.Tensor = self.inner(*clips)
        return out


def test_10x3_evaluates_30_views_per_video(trained_run: Path, synth_small: Path) -> None:
    model, genome, cmap = load_model_from_checkpoint(trained_run / "final.pt")
    items, _ = open_dataset(synth_small, "val")
    counting = _Counting(model)
    result = evaluate_model(counting, genome, cmap, items, views="10x3")
    assert result["num_views_per_video"] == 30 and result["views"] == "10x3"
    assert counting.calls == [30] * len(items)
    counting.calls.clear()
    chunked = evaluate_model(counting, genome, cmap, items, views="10x3", batch_views=8)
    assert counting.calls == [8, 8, 8, 6] * len(items)
    assert chunked["top1"] == result["top1"]
    counting.calls.clear()
    center = evaluate_model(counting, genome, cmap, items, views="10x1")
    assert center["num_views_per_video"] == 10 and counting.calls == [10] * len(items)


def test_failed_videos_are_listed_and_do_not_stop(
    tmp_path: Path, trained_run: Path, synth_small: Path
) -> None:
    good, _ = open_dataset(synth_small, "val")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01 definitely not a video" * 40)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good[0].path.read_bytes()[:300])
    lines = [f"{it.path} {it.label}" for it in good]
    lines[1:1] = [f"{garbage} 0", f"{tmp_path / 'missing.mp4'} 1", f"{truncated} 2"]
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    shutil.copy(synth_small / "classes.json", tmp_path / "classes.json")
    out = tmp_path / "eval"
    result = evaluate(
        trained_run / "final.pt", tmp_path / "list.txt", views="2x1", out=out, device="cpu"
    )
    failed = {Path(f["path"]).name: f["reason"] for f in result["failed"]}
    assert set(failed) == {"garbage.mp4", "missing.mp4", "truncated.mp4"}
    assert "no such file" in failed["missing.mp4"]
    assert result["num_videos"] == len(good) + 3
    assert result["num_evaluated"] == len(good) and result["num_failed"] == 3
    assert sum(row["support"] for row in result["per_class"]) == len(good)
    saved = json.loads((out / "eval.json").read_text())
    assert saved["failed"] == result["failed"]
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(EvalError, match=r"already holds eval\.json"):
        evaluate(trained_run / "final.pt", tmp_path / "list.txt", views="2x1", out=out)


class _Fixed(nn.Module):
    """Returns fixed per-view logits, ignoring the input."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits
        self.offset = 0

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        out = self.logits[self.offset : self.offset + clip.shape[0]]
        self.offset += clip.shape[0]
        return out


def test_predict_scores_softmax_then_mean_or_max() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    probs = logits.softmax(1)
    views = (torch.zeros(3, 3, 1, 4, 4),)
    mean = predict_scores(_Fixed(logits), views, "mean", batch_views=2)
    assert torch.allclose(mean, probs.mean(0))
    assert torch.allclose(predict_scores(_Fixed(logits), views, "max"), probs.max(0).values)
    with pytest.raises(EvalError, match="agg"):
        predict_scores(_Fixed(logits), views, "median")


def test_summarize_metrics() -> None:
    cmap = ClassMap(("a", "b", "c", "d", "e", "f"))
    scores = torch.tensor(
        [
            [0.9, 0.1, 0, 0, 0, 0],  # a -> a
            [0.1, 0.9, 0, 0, 0, 0],  # a -> b (a is 2nd)
            [0.0, 0.8, 0.2, 0, 0, 0],  # b -> b
            [0.05, 0.06, 0.0, 0.1, 0.2, 0.59],  # c -> f (c last: not in top 5)
        ]
    )
    labels = torch.tensor([0, 0, 1, 2])
    m = summarize(scores, labels, cmap)
    assert m["top1"] == pytest.approx(0.5)
    assert m["top5"] == pytest.approx(0.75)
    assert m["mean_class_acc"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert m["confusion"][0][:2] == [1, 1] and m["confusion"][2][5] == 1
    assert [r["support"] for r in m["per_class"]] == [2, 1, 1, 0, 0, 0]
    assert m["per_class"][3]["accuracy"] is None


def test_class_mismatch_is_an_error(tmp_path: Path, trained_run: Path, synth_small: Path) -> None:
    items, _ = open_dataset(synth_small, "train")
    names = "abcdef"
    lines = [f"{it.path} {names[i % 6]}" for i, it in enumerate(items)]
    (tmp_path / "six.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(EvalError, match=r"dataset has 6 classes but checkpoint .* trained on 4"):
        evaluate(trained_run / "final.pt", tmp_path / "six.txt", device="cpu")


def test_evaluate_model_takes_any_items(trained_run: Path, synth_small: Path) -> None:
    model, genome, cmap = load_model_from_checkpoint(trained_run / "final.pt")
    items, _ = open_dataset(synth_small, "train")
    picked = [VideoItem(it.path, it.label) for it in items[:2]]
    out = evaluate_model(model, genome, cmap, picked, views="1x1", agg="max")
    assert out["num_evaluated"] == 2 and out["agg"] == "max"
    assert len(out["predictions"]) == 2 and 0 <= out["predictions"][0]["pred"] < len(cmap)
