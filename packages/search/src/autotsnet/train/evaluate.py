"""Multi-view evaluation (paper §5.2): softmax per view, averaged (or maxed) per video.

``10x1`` ("10-Center") and ``10x3`` ("10-LeftCenterRight") views come from
:class:`autotsnet.data.TestViews` sized by the genome's input spec. A video that cannot be
decoded is listed under ``failed`` and left out of the accuracies; it never stops the run.

``eval.json``::

    {"top1", "top5", "mean_class_acc"     fractions in [0, 1] over evaluated videos
     "num_videos", "num_evaluated", "num_failed", "failed": [{"path", "reason"}],
     "views": "10x3", "num_views_per_video": 30, "agg": "mean",
     "per_class": [{"class", "support", "correct", "accuracy"}], "confusion": [[...]],
     "predictions": [{"path", "label", "pred", "score"}], "checkpoint", "data", "split"}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from autotsnet.data import (
    ClassMap,
    TestViews,
    VideoItem,
    ViewDataset,
    open_dataset,
    sampling_from_genome,
)
from autotsnet.models.genome import Genome
from autotsnet.train.checkpoint import load_model_from_checkpoint
from autotsnet.train.distributed import resolve_device
from autotsnet.train.errors import EvalError
from autotsnet.train.plots import plot_confusion
from autotsnet.train.progress import RunProgress
from autotsnet.train.rundir import write_json

__all__ = ["AGGREGATIONS", "evaluate", "evaluate_model", "predict_scores", "summarize"]

AGGREGATIONS: tuple[str, ...] = ("mean", "max")


@torch.no_grad()
def predict_scores(
    model: nn.Module,
    views_batch: Sequence[torch.Tensor],
    agg: str = "mean",
    *,
    batch_views: int | None = None,
) -> torch.Tensor:
    """Class probabilities of one video from all its views.

    Args:
        model: The network, in eval mode.
        views_batch: One tensor ``(V, 3, T_k, H, W)`` per stream (sparse first).
        agg: ``mean`` or ``max`` of the per-view softmax.
        batch_views: Views per forward pass (default: all V at once).

    Returns:
        float32 ``(classes,)``.
    """
    if agg not in AGGREGATIONS:
        raise EvalError(f"agg must be one of {', '.join(AGGREGATIONS)}, got {agg!r}")
    v = views_batch[0].shape[0]
    chunk = batch_views or v
    probs = []
    for start in range(0, v, chunk):
        logits = model(*(t[start : start + chunk] for t in views_batch))
        probs.append(logits.float().softmax(dim=1))
    p = torch.cat(probs)
    return p.mean(0) if agg == "mean" else p.max(0).values


def summarize(scores: torch.Tensor, labels: torch.Tensor, class_map: ClassMap) -> dict[str, Any]:
    """Top-1, top-5, mean class accuracy, per-class table and confusion matrix.

    Args:
        scores: ``(N, classes)`` aggregated scores.
        labels: ``(N,)`` true labels.
        class_map: Class names.
    """
    c = len(class_map)
    conf = torch.zeros(c, c, dtype=torch.int64)
    if labels.numel() == 0:
        return {"top1": None, "top5": None, "mean_class_acc": None, "per_class": [],
                "confusion": conf.tolist()}  # fmt: skip
    pred = scores.argmax(1)
    conf.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    k = min(5, c)
    top5 = (scores.topk(k, dim=1).indices == labels[:, None]).any(1)
    per_class = []
    accs = []
    for i, name in enumerate(class_map.names):
        support, correct = int(conf[i].sum()), int(conf[i, i])
        acc = correct / support if support else None
        if acc is not None:
            accs.append(acc)
        per_class.append({"class": name, "support": support, "correct": correct, "accuracy": acc})
    return {
        "top1": float((pred == labels).float().mean()),
        "top5": float(top5.float().mean()),
        "mean_class_acc": sum(accs) / len(accs),
        "per_class": per_class,
        "confusion": conf.tolist(),
    }


def evaluate_model(
    model: nn.Module,
    genome: Genome,
    class_map: ClassMap,
    items: Sequence[VideoItem],
    *,
    views: str | TestViews = "10x1",
    agg: str = "mean",
    workers: int = 0,
    batch_views: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate a built model on labelled videos with multi-view testing.

    Args:
        model: The network (its device is used; switched to eval mode).
        genome: Its genome (frames, strides and crops of the views).
        class_map: Class names; ``items`` labels index into it.
        items: The videos.
        views: ``"10x1"``, ``"10x3"``, ... or a :class:`TestViews`.
        agg: ``mean`` or ``max`` of the per-view softmax.
        workers: DataLoader worker processes.
        batch_views: Views per forward pass (default: all views of a video).
        progress: Show a rich progress bar.

    Returns:
        The metrics (see the module docstring), without file names.
    """
    if agg not in AGGREGATIONS:
        raise EvalError(f"--agg must be one of {', '.join(AGGREGATIONS)}, got {agg!r}")
    if isinstance(views, str):
        try:
            views = TestViews.parse(views, spec=genome.sparse.input)
        except ValueError as exc:
            raise EvalError(f"--views: {exc}") from None
    dataset = ViewDataset(list(items), sampling_from_genome(genome), views)
    loader: DataLoader[Any] = DataLoader(dataset, batch_size=None, num_workers=workers)
    model.eval()
    device = next(model.parameters()).device
    scores, labels, preds_meta, failed = [], [], [], []
    with RunProgress(enabled=progress, total=len(items), label="eval", unit="videos") as bar:
        for item, (clips, label, ok, reason) in zip(items, loader, strict=True):
            if not ok:
                failed.append({"path": str(item.path), "reason": str(reason)})
            else:
                moved = [t.to(device) for t in clips]
                s = predict_scores(model, moved, agg, batch_views=batch_views).cpu()
                scores.append(s)
                labels.append(int(label))
                preds_meta.append((item, s))
            bar.advance(failed=len(failed))
    y = torch.tensor(labels, dtype=torch.int64)
    p = torch.stack(scores) if scores else torch.zeros(0, len(class_map))
    result: dict[str, Any] = {
        **summarize(p, y, class_map),
        "num_videos": len(items),
        "num_evaluated": len(scores),
        "num_failed": len(failed),
        "failed": failed,
        "views": str(views),
        "num_views_per_video": views.num_views,
        "view_crop": views.crop,
        "view_short_side": views.short_side,
        "agg": agg,
        "classes": list(class_map.names),
    }
    result["predictions"] = [
        {"path": str(it.path), "label": it.label, "pred": int(s.argmax()), "score": float(s.max())}
        for it, s in preds_meta
    ]
    return result


def _align(
    items: list[VideoItem], data_map: ClassMap, model_map: ClassMap, data: str | Path, ckpt: Path
) -> list[VideoItem]:
    if data_map.names == model_map.names:
        return items
    if len(data_map) != len(model_map):
        raise EvalError(
            f"{data}: dataset has {len(data_map)} classes but checkpoint {ckpt} "
            f"was trained on {len(model_map)}"
        )
    if set(data_map.names) == set(model_map.names):
        return [VideoItem(it.path, model_map.index(data_map.name(it.label))) for it in items]
    if data_map.names == tuple(str(i) for i in range(len(data_map))):
        return items  # integer labels without class names: they are the model's indices
    unknown = next(n for n in data_map.names if n not in model_map)
    raise EvalError(f"{data}: class {unknown!r} is not one of checkpoint {ckpt}'s classes")


def evaluate(
    checkpoint: Path,
    data: str | Path,
    *,
    views: str = "10x1",
    agg: str = "mean",
    split: str = "val",
    out: Path | None = None,
    workers: int = 0,
    batch_views: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate a checkpoint on a dataset split; optionally write ``eval.json`` and the
    confusion matrix PNG to ``out``.

    Raises:
        CheckpointError: ``checkpoint`` is not a usable checkpoint.
        DataError: Missing, empty or malformed dataset.
        EvalError: Class mismatch, bad ``views``/``agg``, or ``out`` holds an earlier
            evaluation and ``overwrite`` is False.
    """
    checkpoint = Path(checkpoint)
    if out is not None and (Path(out) / "eval.json").exists() and not overwrite:
        raise EvalError(f"{out}: already holds eval.json; pass --overwrite to replace it")
    model, genome, class_map = load_model_from_checkpoint(
        checkpoint, map_location=resolve_device(device)
    )
    items, data_map = open_dataset(data, split)
    items = _align(items, data_map, class_map, data, checkpoint)
    result = evaluate_model(
        model, genome, class_map, items, views=views, agg=agg, workers=workers,
        batch_views=batch_views, progress=progress,
    )  # fmt: skip
    result = {"checkpoint": str(checkpoint), "data": str(data), "split": split, **result}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        plot_confusion(result["confusion"], class_map.names, out / "confusion.png")
        write_json(out / "eval.json", result)
    return result
