"""Self-describing, atomic, code-free checkpoints.

A checkpoint is one ``torch.save`` file holding only tensors and plain values, so that it
loads with ``torch.load(weights_only=True)``; a file that would import anything while
loading (a crafted pickle) is refused. Keys::

    format       "autotsnet.checkpoint"        version   1
    genome       Genome.to_json() text          class_names  [str, ...] in label order
    input        {"sparse": {frames, temporal_stride, train_crop, test_crop,
                  test_short_side, channels, mean, std}, "dense": {...}}
    model        state_dict                     config    TrainConfig dict (plus "world_size")
    optimizer / scheduler / scaler  state dicts  rng       global RNG states (seeding.py)
    epoch        epochs completed               batch     batches done in the current epoch
    step         optimizer steps done           stats     running sums of the epoch / window
    digest       blake2b of everything else (catches bit rot that the zip layer misses)

Files are written to a temporary name in the same folder, fsynced and renamed, so a crash
never leaves a half-written ``step-*.pt``. Only the model-related keys are required to
load a model (:func:`load_model_from_checkpoint`); training keys are needed to resume.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from autotsnet.data.classmap import ClassMap
from autotsnet.data.errors import DataError
from autotsnet.data.transforms import KINETICS_MEAN, KINETICS_STD
from autotsnet.models.builder import VideoNet, build_model
from autotsnet.models.genome import Genome, GenomeError

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "TRAINING_KEYS",
    "CheckpointError",
    "checkpoint_path",
    "input_spec",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_model_from_checkpoint",
    "prune_checkpoints",
    "save_checkpoint",
]

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "autotsnet.checkpoint"
CHECKPOINT_VERSION = 1
MODEL_KEYS: tuple[str, ...] = ("genome", "class_names", "input", "model")
TRAINING_KEYS: tuple[str, ...] = (
    "optimizer",
    "scheduler",
    "scaler",
    "rng",
    "epoch",
    "batch",
    "step",
    "config",
)
_NAME_RE = re.compile(r"^step-(\d+)\.pt$")


class CheckpointError(ValueError):
    """A file is not a usable checkpoint; the message is one line naming the file."""


def input_spec(
    genome: Genome,
    mean: tuple[float, float, float] = KINETICS_MEAN,
    std: tuple[float, float, float] = KINETICS_STD,
) -> dict[str, dict[str, Any]]:
    """Per-stream input description stored in checkpoints (sparse first).

    Each clip is float32 ``(B, 3, frames, crop, crop)``, ``(rgb / 255 - mean) / std``.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, stream in genome.streams.items():
        spec = stream.input
        out[name] = {
            "frames": spec.frames,
            "temporal_stride": spec.temporal_stride,
            "train_crop": spec.train_crop,
            "test_crop": spec.test_crop,
            "test_short_side": spec.test_short_side,
            "channels": 3,
            "mean": list(mean),
            "std": list(std),
        }
    return out


# ---------------------------------------------------------------------------- digest
def _feed(h: Any, obj: object) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu").contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, Mapping):
        h.update(f"D{len(obj)}".encode())
        for key in sorted(obj, key=str):
            h.update(repr(key).encode())
            _feed(h, obj[key])
    elif isinstance(obj, list | tuple):
        h.update(f"L{len(obj)}".encode())
        for item in obj:
            _feed(h, item)
    else:
        h.update(f"V{obj!r}".encode())


def _digest(state: Mapping[str, Any]) -> str:
    h = hashlib.blake2b(digest_size=16)
    _feed(h, {k: v for k, v in state.items() if k != "digest"})
    return h.hexdigest()


# ---------------------------------------------------------------------------- save/load
def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename).

    ``format``, ``version`` and ``digest`` are filled in.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}
    full["digest"] = _digest(full)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(full, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _why_unloadable(exc: BaseException) -> str:
    text = str(exc)
    m = re.search(r"unsupported GLOBAL (\S+)", text, re.IGNORECASE) or re.search(
        r"Unsupported global: GLOBAL (\S+)", text
    )
    if m:
        return (
            f"refused: loading it would import {m.group(1)}; a checkpoint holds only "
            "tensors and plain values (crafted or foreign pickle)"
        )
    if isinstance(exc, pickle.UnpicklingError):
        return "not a checkpoint (not a PyTorch weights file, or an unsafe pickle)"
    if isinstance(exc, EOFError):
        return "corrupted: the file ends early"
    if "zip" in text or "PytorchStreamReader" in text or "central directory" in text:
        return "corrupted: damaged or truncated archive"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"not a checkpoint or corrupted ({type(exc).__name__}: {first[:120]})"


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load and validate a checkpoint with ``torch.load(weights_only=True)`` on CPU.

    Raises:
        CheckpointError: Missing file, not a checkpoint, corrupted, refused pickle, or a
            newer format.
    """
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such file")
    if p.is_dir():
        raise CheckpointError(f"{p}: is a directory, not a checkpoint file")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{p}: empty file, not a checkpoint")
    with p.open("rb") as fh:
        head = fh.read(4)
    if not (zipfile.is_zipfile(p) or head.startswith((b"PK\x03\x04", b"\x80"))):
        raise CheckpointError(f"{p}: not a checkpoint (neither a PyTorch archive nor a pickle)")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types here; all mean "unusable"
        raise CheckpointError(f"{p}: {_why_unloadable(exc)}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{p}: not an autotsnet checkpoint (no 'format' marker)")
    version = state.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION or version < 1:
        raise CheckpointError(
            f"{p}: checkpoint version {version!r} is not supported "
            f"(this autotsnet reads 1..{CHECKPOINT_VERSION})"
        )
    missing = [k for k in MODEL_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{p}: corrupted: missing key {missing[0]!r}")
    if "digest" in state and state["digest"] != _digest(state):
        raise CheckpointError(f"{p}: corrupted: content does not match its checksum")
    return state


def _genome_and_classes(path: Path, state: dict[str, Any]) -> tuple[Genome, ClassMap]:
    try:
        genome = Genome.from_json(str(state["genome"]))
    except GenomeError as exc:
        raise CheckpointError(f"{path}: stored genome is invalid: {exc}") from None
    names = state["class_names"]
    try:
        if not isinstance(names, list | tuple) or not names:
            raise DataError("no class names")
        cmap = ClassMap(tuple(names))
    except DataError as exc:
        raise CheckpointError(f"{path}: stored class names are invalid: {exc}") from None
    return genome, cmap


def load_model_from_checkpoint(
    path: Path, *, map_location: str | torch.device = "cpu"
) -> tuple[VideoNet, Genome, ClassMap]:
    """Build the checkpoint's network, load its weights and put it in eval mode.

    Global RNGs are left untouched (initialisation runs under a forked RNG).

    Raises:
        CheckpointError: If the file is unusable or the weights do not fit the genome.
    """
    p = Path(path)
    state = load_checkpoint(p)
    genome, cmap = _genome_and_classes(p, state)
    with torch.random.fork_rng(devices=[]):
        model = build_model(genome, num_classes=len(cmap))
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{p}: weights do not match the stored genome ({first})") from None
    model.to(map_location)
    model.eval()
    return model, genome, cmap


# ---------------------------------------------------------------------------- run folder
def checkpoint_path(directory: Path, step: int) -> Path:
    """``directory/step-000000123.pt``."""
    return Path(directory) / f"step-{step:09d}.pt"


def list_checkpoints(directory: Path) -> list[Path]:
    """``step-*.pt`` files in ``directory``, oldest (lowest step) first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = []
    for f in d.iterdir():
        m = _NAME_RE.match(f.name)
        if m and f.is_file():
            found.append((int(m.group(1)), f))
    return [f for _, f in sorted(found)]


def latest_checkpoint(
    directory: Path, *, warn: Callable[[str], None] | None = None
) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads and has the training keys, or None.

    A newest file that is corrupted or unusable is skipped with a warning (passed to
    ``warn``, default ``logger.warning``), falling back to the previous one.
    """
    say = warn or logger.warning
    for path in reversed(list_checkpoints(directory)):
        try:
            state = load_checkpoint(path)
        except CheckpointError as exc:
            say(f"ignoring checkpoint {exc}; falling back to the previous one")
            continue
        missing = [k for k in TRAINING_KEYS if k not in state]
        if missing:
            say(f"ignoring checkpoint {path}: no {missing[0]!r} to resume from")
            continue
        return path, state
    return None


def prune_checkpoints(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoints and stale temporary files."""
    found = list_checkpoints(directory)
    removed = found[: max(len(found) - keep, 0)]
    # Temporary files are only ever left by a process killed mid-write.
    removed += sorted(Path(directory).glob(".step-*.tmp"))
    for f in removed:
        f.unlink(missing_ok=True)
    return removed
