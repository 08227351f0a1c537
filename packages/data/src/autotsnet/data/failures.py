"""A failure log that survives DataLoader worker processes.

Each process appends one JSON line per failure to ``<dir>/<pid>.jsonl`` (``O_APPEND``
single writes, so lines never interleave). Any process that holds the log, typically the
main process at the end of an epoch, reads every file back. This works with forked or
spawned workers, persistent workers and several ranks sharing a directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

__all__ = ["FailureLog"]


def _cleanup(directory: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:
        shutil.rmtree(directory, ignore_errors=True)


class FailureLog:
    """Records ``{path, reason}`` of videos that could not be loaded.

    Args:
        directory: Where the per-process files live. Default: a new temporary directory,
            removed when the log object of the creating process is garbage collected.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if directory is None:
            directory = tempfile.mkdtemp(prefix="autotsnet-failures-")
            self._finalizer = weakref.finalize(self, _cleanup, str(directory), os.getpid())
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def __getstate__(self) -> dict[str, Any]:
        return {"directory": self.directory}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.directory = state["directory"]
        self._finalizer = None

    def record(self, path: str | Path, reason: str) -> None:
        """Append one failure (one line, atomic with respect to other processes)."""
        line = json.dumps({"path": str(path), "reason": reason}) + "\n"
        fd = os.open(
            self.directory / f"{os.getpid()}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND
        )
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def events(self) -> list[dict[str, str]]:
        """Every recorded failure, including repeats of the same file."""
        out: list[dict[str, str]] = []
        for f in sorted(self.directory.glob("*.jsonl")):
            for line in f.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line being written right now
                out.append({"path": str(rec["path"]), "reason": str(rec["reason"])})
        return out

    def records(self) -> list[dict[str, str]]:
        """One record per failed file (first reason seen), sorted by path."""
        seen: dict[str, str] = {}
        for rec in self.events():
            seen.setdefault(rec["path"], rec["reason"])
        return [{"path": p, "reason": seen[p]} for p in sorted(seen)]

    def summary(self) -> dict[str, Any]:
        """``{"failed_files": n, "failure_events": m, "failures": [...]}`` for metrics JSON."""
        recs = self.records()
        return {
            "failed_files": len(recs),
            "failure_events": len(self.events()),
            "failures": recs,
        }

    def clear(self) -> None:
        """Forget every recorded failure."""
        for f in self.directory.glob("*.jsonl"):
            f.unlink(missing_ok=True)
