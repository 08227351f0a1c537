"""PNG plots of a search: entropy, FLOPs and supernet curves, and alpha heatmaps per variable kind.

Weights-only warm-up epochs (``"phase": "warmup"`` records) are shaded grey in the curves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["plot_alpha", "plot_curves"]


def _shade_warmup(ax: Any, records: list[dict[str, Any]]) -> None:
    warm = [r["global_epoch"] for r in records if r.get("phase") == "warmup"]
    for i, e in enumerate(warm):
        ax.axvspan(e - 0.5, e + 0.5, color="0.9", lw=0, label="warm-up" if i == 0 else None)


def plot_curves(records: list[dict[str, Any]], out: Path) -> list[Path]:
    """``entropy.png``, ``flops.png`` and ``supernet.png`` from the search.jsonl records.

    ``supernet.png`` shows the weight-training loss and the sampled architectures' mean
    accuracy on the alpha batches: whether the supernet has learned anything PARSEC can
    rank architectures by.
    """
    if not records:
        return []
    paths = []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    _shade_warmup(ax, records)
    for step in dict.fromkeys(r["step"] for r in records):
        rs = [r for r in records if r["step"] == step]
        ax.plot([r["global_epoch"] for r in rs], [r["entropy"] for r in rs], label=step)
    ax.set_xlabel("epoch")
    ax.set_ylabel("entropy of alpha (nats)")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "entropy.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    _shade_warmup(ax, records)
    x = [r["global_epoch"] for r in records]
    for key, label in (
        ("expected_gflops", "expected"),
        ("sampled_gflops", "sampled (mean)"),
        ("argmax_gflops", "most probable"),
        ("target_gflops", "target"),
    ):
        ax.plot(
            x,
            [r[key] for r in records],
            label=label,
            linestyle="--" if key == "target_gflops" else "-",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("GFLOPs per view")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "flops.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    _shade_warmup(ax, records)
    ax.plot(x, [r["train_loss"] for r in records], color="C0", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weight-training loss", color="C0")
    acc = ax.twinx()
    acc.plot(x, [r["sample_val_acc"] for r in records], color="C1", label="sampled accuracy")
    acc.set_ylabel("sampled architectures' alpha-batch accuracy", color="C1", fontsize=8)
    handles = ax.get_legend_handles_labels()
    more = acc.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8)
    fig.tight_layout()
    paths.append(out / "supernet.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths


_NAME = re.compile(r"^(?:(\w+)\.)?(?:groups\[(\d+)\]\.(\w+)|(glore)\[(\d+)\]|(fusion)\[(\d+)\])$")


def plot_alpha(snapshot: dict[str, list[float]], path: Path, title: str) -> Path:
    """One heatmap per variable kind (rows: group or location, columns: choices)."""
    kinds: dict[str, dict[int, list[float]]] = {}
    for name, probs in snapshot.items():
        m = _NAME.match(name)
        if m is None:
            kinds.setdefault(name, {})[0] = probs
            continue
        stream = m.group(1) or ""
        if m.group(3):
            kind, idx = f"{stream}.{m.group(3)}", int(m.group(2))
        elif m.group(4):
            kind, idx = f"{stream}.glore", int(m.group(5))
        else:
            kind, idx = "fusion", int(m.group(7))
        kinds.setdefault(kind, {})[idx] = probs
    n = len(kinds)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 3.6), squeeze=False)
    for ax, (kind, rows) in zip(axes[0], kinds.items(), strict=True):
        keys = sorted(rows)
        width = max(len(rows[i]) for i in keys)
        grid = [rows[i] + [float("nan")] * (width - len(rows[i])) for i in keys]
        im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_title(kind, fontsize=8)
        ax.set_yticks(range(len(keys)), [str(i) for i in keys], fontsize=7)
        ax.set_xlabel("choice", fontsize=7)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
