"""The final summary of a training run (``report.json``) and its PNG curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autotsnet.train.metrics import read_metrics
from autotsnet.train.plots import plot_curves
from autotsnet.train.rundir import write_json
from autotsnet.train.setup import RunInputs

__all__ = ["build_report", "finish_run"]

_FINAL_KEYS = ("train_loss", "train_top1", "val_loss", "val_top1", "val_top5")


def build_report(
    inputs: RunInputs,
    *,
    steps: int,
    steps_per_epoch: int,
    world_size: int,
    device: str,
    amp: str,
    params: int,
    elapsed_s: float,
    failures: dict[str, Any] | None,
    ranks_in_sync: bool = True,
) -> dict[str, Any]:
    """The ``report.json`` content, from the run's inputs and its ``metrics.jsonl``."""
    records = read_metrics(inputs.out / "metrics.jsonl")
    epochs = [r for r in records if r.get("type") == "epoch"]
    last = epochs[-1] if epochs else {}
    scored = [r for r in epochs if r.get("val_top1") is not None]
    best = max(scored, key=lambda r: float(r["val_top1"]), default=None)
    resumed = None
    if inputs.resume_state is not None:
        s = inputs.resume_state
        resumed = {
            "checkpoint": str(inputs.resume_path),
            "epoch": int(s["epoch"]),
            "batch": int(s["batch"]),
            "step": int(s["step"]),
        }
    return {
        "genome": inputs.genome.name,
        "genome_id": inputs.genome.genome_id,
        "data": str(inputs.data),
        "classes": len(inputs.class_map),
        "train_videos": len(inputs.train_items),
        "val_videos": len(inputs.val_items),
        "epochs": inputs.config.epochs,
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "world_size": world_size,
        "ranks_in_sync": ranks_in_sync,
        "device": device,
        "amp": amp,
        "params": params,
        "final": {k: last[k] for k in _FINAL_KEYS if last.get(k) is not None},
        "best": None if best is None else {"epoch": best["epoch"], "val_top1": best["val_top1"]},
        "checkpoint": "final.pt",
        "resumed_from": resumed,
        "session_time_s": round(elapsed_s, 1),
        "data_failures": failures,
        "plots": ["plots/loss.png", "plots/accuracy.png", "plots/lr.png"],
        "config": inputs.config.to_dict(),
    }


def finish_run(out: Path, report: dict[str, Any]) -> None:
    """Write ``plots/*.png`` and ``report.json`` (rank 0)."""
    plot_curves(read_metrics(out / "metrics.jsonl"), out / "plots")
    write_json(out / "report.json", report)
