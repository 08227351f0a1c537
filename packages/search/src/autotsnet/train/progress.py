"""Rich progress bars for long jobs: steps/s, ETA, loss and lr (to stderr, rank 0 only)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["RunProgress"]


class RunProgress:
    """One bar for the whole run and one for the current pass (epoch or evaluation).

    Every method is a no-op when ``enabled`` is False, so callers need no branches.

    Args:
        enabled: Show the bars.
        total: Steps of the whole run.
        done: Steps already done (resumed runs).
        label: Name of the outer bar.
        unit: What one step is, for the rate column.
    """

    def __init__(
        self, *, enabled: bool, total: int, done: int = 0, label: str = "train", unit: str = "steps"
    ) -> None:
        self.enabled = enabled
        self.unit = unit
        self._progress: Progress | None = None
        self._run: TaskID | None = None
        self._pass: TaskID | None = None
        if not enabled:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=28),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._run = self._progress.add_task(label, total=total, completed=done, rate="", info="")

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start_pass(self, description: str, total: int, done: int = 0) -> None:
        """Start a new inner bar (the previous one stays on screen)."""
        if self._progress is None:
            return
        if self._pass is not None:
            self._progress.update(self._pass, visible=True)
        self._pass = self._progress.add_task(
            description, total=total, completed=done, rate="", info=""
        )

    def advance(self, steps: int = 1, **fields: Any) -> None:
        """Advance both bars; ``fields`` (loss, lr, ...) are shown after the ETA."""
        if self._progress is None:
            return
        info = "  ".join(f"{k} {_fmt(v)}" for k, v in fields.items())
        for task in (self._run, self._pass):
            if task is None:
                continue
            self._progress.advance(task, steps)
            speed = next(t.speed for t in self._progress.tasks if t.id == task)
            rate = f"{speed:.2f} {self.unit}/s" if speed else ""
            self._progress.update(task, rate=rate, info=info)

    def note(self, text: str) -> None:
        """Print one line above the bars."""
        if self._progress is not None:
            self._progress.console.print(text)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
