"""PNG figures: training curves (loss, accuracy, lr) and the confusion matrix (matplotlib Agg)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_confusion", "plot_curves"]


def _figure(figsize: tuple[float, float]) -> tuple[Any, Any]:
    # The object-oriented API needs no backend and never touches pyplot's global state.
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=110)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", bbox_inches="tight")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _series(records: list[dict[str, Any]], kind: str, key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in records:
        if r.get("type") == kind and r.get(key) is not None:
            xs.append(int(r["step"]))
            ys.append(float(r[key]))
    return xs, ys


def plot_curves(records: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write ``loss.png``, ``accuracy.png`` and ``lr.png`` from ``metrics.jsonl`` records.

    Returns:
        The files written.
    """
    out_dir = Path(out_dir)
    written = []
    panels: list[tuple[str, str, list[tuple[str, str, str]]]] = [
        (
            "loss.png",
            "loss",
            [("step", "loss", "train (steps)"), ("epoch", "val_loss", "val (epochs)")],
        ),
        (
            "accuracy.png",
            "top-1 accuracy",
            [("epoch", "train_top1", "train"), ("epoch", "val_top1", "val")],
        ),
        ("lr.png", "learning rate", [("step", "lr", "lr")]),
    ]
    for name, ylabel, lines in panels:
        fig, ax = _figure((6.0, 3.6))
        for kind, key, label in lines:
            xs, ys = _series(records, kind, key)
            if xs:
                dots = kind == "epoch" or len(xs) < 30
                ax.plot(xs, ys, marker="o" if dots else None, ms=3, label=label)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        _save(fig, out_dir / name)
        written.append(out_dir / name)
    return written


def plot_confusion(matrix: Sequence[Sequence[int]], names: Sequence[str], path: Path) -> Path:
    """Row-normalised confusion matrix (rows: true class, columns: predicted)."""
    n = len(names)
    size = min(4.0 + 0.35 * n, 24.0)
    fig, ax = _figure((size, size))
    norm = []
    for row in matrix:
        total = sum(row)
        norm.append([v / total if total else 0.0 for v in row])
    im = ax.imshow(norm, vmin=0.0, vmax=1.0, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if n <= 60:
        ax.set_xticks(range(n), labels=list(names), rotation=90, fontsize=7)
        ax.set_yticks(range(n), labels=list(names), fontsize=7)
    if n <= 20:
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                if v:
                    color = "white" if norm[i][j] > 0.5 else "black"
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color=color)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    _save(fig, Path(path))
    return Path(path)
