"""Search checkpoints and JSON/JSONL outputs, written atomically.

The atomic writers are shared with the rest of the project: text goes through
:func:`autotsnet.data.classmap.atomic_write_text` and checkpoints through
:func:`autotsnet.train.checkpoint.save_checkpoint` (tmp file + fsync + ``os.replace``, plus a
format marker and a checksum). A search checkpoint holds only tensors and plain values, so it
is loaded with ``torch.load(weights_only=True)``: a file that would import code is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from autotsnet.data.classmap import atomic_write_text
from autotsnet.search.config import SearchError
from autotsnet.train.checkpoint import CHECKPOINT_FORMAT
from autotsnet.train.checkpoint import save_checkpoint as _save_atomic

__all__ = [
    "CHECKPOINT",
    "append_jsonl",
    "atomic_write_text",
    "load_checkpoint",
    "read_jsonl",
    "save_checkpoint",
]

CHECKPOINT = "checkpoint.pt"
_KIND = "search"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` ``state`` (tensors and plain values only) to ``path`` atomically."""
    _save_atomic(path, {"kind": _KIND, **state})


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (CPU tensors, ``weights_only``).

    Raises:
        SearchError: If the file is unreadable, unsafe or not a search checkpoint.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types here; all mean "unusable"
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise SearchError(
            f"{path}: not a usable search checkpoint ({type(exc).__name__}: {first})"
        ) from None
    if (
        not isinstance(state, dict)
        or state.get("format") != CHECKPOINT_FORMAT
        or state.get("kind") != _KIND
    ):
        raise SearchError(f"{path}: not a search checkpoint")
    return state


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file (empty if missing; a torn last line is dropped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def append_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Rewrite ``path`` atomically with ``records`` (one JSON object per line)."""
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
