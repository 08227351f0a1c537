"""Scan a dataset for videos that cannot be fully decoded (``autotsnet data check``).

Every frame of every file is decoded (without RGB conversion). A file is damaged when it
is missing or empty, cannot be opened, has no video stream, raises a decode error, decodes
no frames, or decodes fewer frames than its container declares (a truncated file).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autotsnet.data.datasets import find_videos, open_dataset
from autotsnet.data.decode import count_decodable_frames
from autotsnet.data.errors import DataError, VideoDecodeError

__all__ = ["CheckReport", "check_dataset", "check_video", "dataset_paths"]


@dataclass
class CheckReport:
    """Result of a scan.

    Attributes:
        ok: Paths that decoded completely.
        damaged: ``{"path": ..., "reason": ...}`` per damaged file.
    """

    ok: list[str] = field(default_factory=list)
    damaged: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"ok": [paths], "damaged": [{"path", "reason"}]}``."""
        return {"ok": list(self.ok), "damaged": list(self.damaged)}


def check_video(path: str | Path) -> tuple[str, str | None]:
    """Decode all of ``path``; return ``(path, None)`` when fine, else ``(path, reason)``."""
    p = str(path)
    try:
        n, info = count_decodable_frames(p)
    except VideoDecodeError as exc:
        return p, exc.reason
    if n == 0:
        return p, "no frames could be decoded"
    if info.declared_frames > 0 and n < info.declared_frames:
        return p, f"decoded {n} of {info.declared_frames} declared frames (truncated)"
    return p, None


def dataset_paths(source: str | Path) -> list[Path]:
    """Videos of a dataset: every video file under a folder, or every entry of a list."""
    src = Path(source)
    if not src.exists():
        raise DataError(f"{src}: no such file or directory")
    if src.is_dir():
        paths = find_videos(src)
        if not paths:
            raise DataError(f"no videos found under {src}")
        return paths
    items, _ = open_dataset(src, "all")
    return sorted({it.path for it in items})


def check_dataset(
    source: str | Path,
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """Decode every video of ``source`` in ``workers`` processes.

    Raises:
        DataError: If the source is missing or holds no videos.
    """
    paths = [str(p) for p in dataset_paths(source)]
    report = CheckReport()
    results: list[tuple[str, str | None]] = []

    def _collect(res: tuple[str, str | None]) -> None:
        results.append(res)
        if progress is not None:
            progress(len(results), len(paths))

    if workers > 1 and len(paths) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for res in pool.map(check_video, paths, chunksize=8):
                _collect(res)
    else:
        for p in paths:
            _collect(check_video(p))
    for path, reason in sorted(results):
        if reason is None:
            report.ok.append(path)
        else:
            report.damaged.append({"path": path, "reason": reason})
    return report
