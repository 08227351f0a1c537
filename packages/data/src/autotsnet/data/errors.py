"""Typed errors of the data layer; each message is one line naming the file (and line)."""

from __future__ import annotations

__all__ = ["DataError", "VideoDecodeError"]


class DataError(ValueError):
    """A dataset path, list file, class map or format is wrong.

    The message is a single line that names the offending file (and line, where there is one).
    """


class VideoDecodeError(DataError):
    """A video file is missing, unreadable, damaged or ends before the frames it declares.

    Attributes:
        path: The video file.
        reason: Short human-readable reason, without the path.
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[VideoDecodeError], tuple[str, str]]:
        # Keep the two-argument constructor picklable across DataLoader workers.
        return (VideoDecodeError, (self.path, self.reason))
