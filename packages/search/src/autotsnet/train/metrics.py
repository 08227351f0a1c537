"""Run logs: ``metrics.jsonl`` (one JSON object per line) and TensorBoard event files.

Record types::

    {"type": "step",  "epoch": 3, "step": 120, "loss": 1.23, "lr": 0.31, "steps_per_s": 4.2}
    {"type": "epoch", "epoch": 3, "step": 150, "train_loss": ..., "train_top1": ...,
     "val_loss": ..., "val_top1": ..., "val_top5": ..., "lr": ..., "epoch_time_s": ...}

``epoch`` is 1-based (the epoch in progress, or just completed). When a run resumes from
a checkpoint, records written after that checkpoint are dropped (the resumed run writes
them again) and TensorBoard purges its events from the same step on.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from autotsnet.data.classmap import atomic_write_text

__all__ = ["MetricsLog", "read_metrics"]


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a ``metrics.jsonl`` (a torn last line is ignored)."""
    if not Path(path).is_file():
        return []
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLog:
    """Appends records to ``metrics.jsonl`` and scalars to TensorBoard (rank 0 only).

    Args:
        run_dir: The run folder.
        enabled: False on ranks other than 0 (every call is then a no-op).
        resume_at: ``(epochs_done, step)`` of the checkpoint a resumed run starts from;
            later records are dropped.
    """

    def __init__(
        self, run_dir: Path, *, enabled: bool, resume_at: tuple[int, int] | None = None
    ) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self._tb: Any = None
        if not enabled:
            return
        if resume_at is not None:
            self._truncate(*resume_at)
        from torch.utils.tensorboard import SummaryWriter

        purge = resume_at[1] + 1 if resume_at is not None else None
        self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tb"), purge_step=purge)
        self._fh = self.path.open("a", encoding="utf-8")

    def _truncate(self, epochs_done: int, step: int) -> None:
        keep = []
        for rec in read_metrics(self.path):
            if rec.get("type") == "epoch":
                if int(rec.get("epoch", 0)) <= epochs_done:
                    keep.append(rec)
            elif int(rec.get("step", 0)) <= step:
                keep.append(rec)
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def write(self, record: dict[str, Any], *, scalars: dict[str, float] | None = None) -> None:
        """Append one record; ``scalars`` go to TensorBoard at ``record["step"]``."""
        if not self.enabled:
            return
        self._fh.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")
        self._fh.flush()
        for tag, value in (scalars or {}).items():
            if value is not None and math.isfinite(value):
                self._tb.add_scalar(tag, value, int(record["step"]))

    def flush(self) -> None:
        """Push everything to disk (called before each checkpoint)."""
        if self.enabled:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._tb.flush()

    def close(self) -> None:
        """Close the files."""
        if self.enabled:
            self._fh.close()
            self._tb.close()
            self.enabled = False
