"""Dataset formats: folder-per-class, Kinetics list files and CSV, and auto-detection.

Every loader returns ``(items, class_map)`` where ``items`` is a list of :class:`VideoItem`.
Files are not opened here: a missing or damaged video is only found when it is decoded,
where it is counted and replaced or recorded (see :mod:`autotsnet.data.dataset`), or by
``autotsnet data check``.

Formats understood by :func:`open_dataset`:

* a directory whose subfolders are all split names, ``train/`` among them, and ``val/``
  (or ``validation/``, ``test/``) optional, each
  ``<class>/<video>`` (the synthetic dataset's layout); ``classes.json`` at the top is used
  as the class map when present, else the sorted union of class folders of all splits;
* a plain folder-per-class directory ``root/<class>/<video>``; ``split="all"`` gives every
  video, ``"train"`` / ``"val"`` a deterministic per-class 80/20 split by a hash of the
  file name (stable across machines and runs);
* a list file (``.txt``, ``.csv``, ``.lst``) of ``path label`` lines (space or comma
  separated; labels are integers or class names), paths relative to ``root`` or else to
  the list's folder;
* the official Kinetics CSV ``label,youtube_id,time_start,time_end,split[,is_cc]``, with
  files named ``<youtube_id>_<start:06d>_<end:06d>.<ext>`` anywhere under ``root``;
* an SSv2 ``train.json`` / ``validation.json`` (see :func:`autotsnet.data.splits.load_ssv2`).

UCF101 and HMDB51 official splits: :func:`autotsnet.data.splits.load_ucf101` and
:func:`autotsnet.data.splits.load_hmdb51`.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autotsnet.data.classmap import ClassMap
from autotsnet.data.errors import DataError

__all__ = [
    "VIDEO_EXTENSIONS",
    "VideoItem",
    "find_videos",
    "load_folder",
    "load_kinetics_csv",
    "load_list",
    "open_dataset",
]

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".3gp", ".ogv"}
)
_SPLIT_ALIASES: dict[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "val": ("val", "validation", "valid"),
    "test": ("test", "testing"),
}
_VAL_FRACTION = 0.2


@dataclass(frozen=True)
class VideoItem:
    """One labelled video.

    Attributes:
        path: The video file.
        label: Class index into the dataset's :class:`ClassMap`.
    """

    path: Path
    label: int


def _canonical_split(split: str) -> str:
    for name, aliases in _SPLIT_ALIASES.items():
        if split in aliases:
            return name
    return split


def _is_video(p: Path) -> bool:
    return p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")


def find_videos(root: Path) -> list[Path]:
    """Every video file (by extension) under ``root``, recursively, sorted."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in filenames if _is_video(Path(f)))
    return sorted(out)


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_dir(root: Path, split: str) -> Path | None:
    for alias in _SPLIT_ALIASES.get(_canonical_split(split), (split,)):
        if (root / alias).is_dir():
            return root / alias
    return None


def _has_split_layout(root: Path) -> bool:
    """True when ``train/`` exists and every subfolder is a split name."""
    names = {d.name for d in _class_dirs(root)}
    aliases = {a for group in _SPLIT_ALIASES.values() for a in group}
    return _split_dir(root, "train") is not None and names <= aliases


def _default_class_map(root: Path, class_dirs: Iterable[Path]) -> ClassMap:
    if (root / "classes.json").is_file():
        return ClassMap.load(root / "classes.json")
    return ClassMap.from_names(d.name for d in class_dirs)


def _in_val(path: Path) -> float:
    digest = hashlib.sha1(path.name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _items_from_class_dirs(
    dirs: list[Path], class_map: ClassMap, split: str | None
) -> list[VideoItem]:
    items: list[VideoItem] = []
    for d in dirs:
        if d.name not in class_map:
            raise DataError(f"{d}: class folder {d.name!r} is not in the class map")
        label = class_map.index(d.name)
        videos = find_videos(d)
        if split is not None and len(videos) > 1:
            ordered = sorted(videos, key=_in_val)
            n_val = max(1, round(len(videos) * _VAL_FRACTION))
            chosen = set(ordered[:n_val]) if split == "val" else set(ordered[n_val:])
            videos = [v for v in videos if v in chosen]
        elif split == "val":
            videos = []
        items.extend(VideoItem(v, label) for v in videos)
    return items


def load_folder(
    root: str | Path, split: str = "train", *, class_map: ClassMap | None = None
) -> tuple[list[VideoItem], ClassMap]:
    """Load a folder-per-class dataset (with or without train/val split folders).

    Args:
        root: Dataset directory.
        split: ``train``, ``val`` (aliases ``validation``, ``valid``), ``test`` or ``all``.
        class_map: Fixed class map (e.g. from a checkpoint); default: ``classes.json`` or
            the sorted class folder names.

    Raises:
        DataError: If the folder or split is missing or holds no videos.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such directory")
    if _has_split_layout(root):
        splits = [d for d in (_split_dir(root, s) for s in _SPLIT_ALIASES) if d is not None]
        all_dirs = [c for s in splits for c in _class_dirs(s)]
        cmap = class_map or _default_class_map(root, all_dirs)
        if split == "all":
            items = _items_from_class_dirs(all_dirs, cmap, None)
        else:
            sdir = _split_dir(root, split)
            if sdir is None:
                raise DataError(f"{root}: no {split!r} split folder")
            items = _items_from_class_dirs(_class_dirs(sdir), cmap, None)
    else:
        dirs = _class_dirs(root)
        cmap = class_map or _default_class_map(root, dirs)
        part = None if split == "all" else ("train" if split == "train" else "val")
        items = _items_from_class_dirs(dirs, cmap, part)
    if not items:
        raise DataError(f"no videos found under {root} (split {split!r})")
    return items, cmap


def _resolve(path_text: str, base: Path) -> Path:
    p = Path(path_text)
    return p if p.is_absolute() else base / p


def _split_line(line: str) -> tuple[str, str] | None:
    parts = line.rsplit(None, 1)
    if len(parts) == 2 and "," not in parts[1]:
        return parts[0], parts[1]
    parts = line.rsplit(",", 1)
    if len(parts) == 2:
        return parts[0].strip(), parts[1].strip()
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def load_list(
    path: str | Path, *, root: Path | None = None, class_map: ClassMap | None = None
) -> tuple[list[VideoItem], ClassMap]:
    """Load a ``path label`` list file (PySlowFast / MMAction2 / PyTorchVideo style).

    Integer labels are used as they are; class-name labels are mapped through
    ``class_map`` or the sorted set of names. With integer labels and no ``class_map``,
    ``classes.json`` next to the list is used, else names ``"0"``, ``"1"``, ...

    Raises:
        DataError: On a malformed line (named by line number) or an empty list.
    """
    p = Path(path)
    base = Path(root) if root is not None else p.parent
    rows: list[tuple[int, Path, str]] = []
    for lineno, raw in enumerate(_read_text(p).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parsed = _split_line(line)
        if parsed is None or not parsed[0]:
            raise DataError(f"{p}:{lineno}: expected 'path label', got {line[:80]!r}")
        rows.append((lineno, _resolve(parsed[0], base), parsed[1]))
    if not rows:
        raise DataError(f"no videos found under {p} (empty list)")
    numeric = [r[2].lstrip("-").isdigit() for r in rows]
    if all(numeric):
        labels = [int(r[2]) for r in rows]
        if class_map is None and (p.parent / "classes.json").is_file():
            class_map = ClassMap.load(p.parent / "classes.json")
        cmap = class_map or ClassMap(tuple(str(i) for i in range(max(max(labels), 0) + 1)))
        for (lineno, _, _), lab in zip(rows, labels, strict=True):
            if not 0 <= lab < len(cmap):
                raise DataError(f"{p}:{lineno}: label {lab} outside 0..{len(cmap) - 1}")
        return [VideoItem(r[1], lab) for r, lab in zip(rows, labels, strict=True)], cmap
    if any(numeric):
        lineno = rows[numeric.index(not numeric[0])][0]
        raise DataError(f"{p}:{lineno}: mixes integer labels with class names")
    return _items_by_name(p, rows, class_map)


def _items_by_name(
    p: Path, rows: list[tuple[int, Path, str]], class_map: ClassMap | None
) -> tuple[list[VideoItem], ClassMap]:
    """Items from ``(line number, video path, class name)`` rows; unknown names fail."""
    cmap = class_map or ClassMap.from_names(name for _, _, name in rows)
    items = []
    for lineno, vpath, name in rows:
        if name not in cmap:
            raise DataError(f"{p}:{lineno}: unknown class {name!r}")
        items.append(VideoItem(vpath, cmap.index(name)))
    return items, cmap


_CSV_COLUMNS = ("label", "youtube_id", "time_start", "time_end")


def _is_official_csv(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as fh:
        header = fh.readline().strip().lower()
    return "youtube_id" in header and "time_start" in header


def load_kinetics_csv(
    path: str | Path, *, root: Path | None = None, class_map: ClassMap | None = None
) -> tuple[list[VideoItem], ClassMap]:
    """Load the official Kinetics CSV (``label,youtube_id,time_start,time_end,split``).

    A row's video is ``<youtube_id>_<time_start:06d>_<time_end:06d>`` with any video
    extension, found anywhere under ``root`` (default: the CSV's folder). Rows whose file is
    not found keep the path ``root/<label>/<name>.mp4``; they are reported as missing when
    decoded (or by ``autotsnet data check``), never dropped silently.

    Raises:
        DataError: On a missing column, a bad number (named by line) or an empty CSV.
    """
    p = Path(path)
    base = Path(root) if root is not None else p.parent
    text = _read_text(p)
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{p}:1: missing column(s) {', '.join(missing)}")
    by_stem = {v.stem: v for v in find_videos(base)} if base.is_dir() else {}
    rows: list[tuple[int, str, Path]] = []
    for lineno, row in enumerate(reader, 2):
        try:
            start, end = int(float(row["time_start"])), int(float(row["time_end"]))
        except (TypeError, ValueError):
            raise DataError(f"{p}:{lineno}: time_start/time_end must be numbers") from None
        label, yid = (row["label"] or "").strip(), (row["youtube_id"] or "").strip()
        if not label or not yid:
            raise DataError(f"{p}:{lineno}: empty label or youtube_id")
        stem = f"{yid}_{start:06d}_{end:06d}"
        rows.append((lineno, label, by_stem.get(stem, base / label / f"{stem}.mp4")))
    if not rows:
        raise DataError(f"no videos found under {p} (empty CSV)")
    return _items_by_name(p, [(n, v, label) for n, label, v in rows], class_map)


def open_dataset(
    source: str | Path,
    split: str = "train",
    *,
    root: Path | None = None,
    class_map: ClassMap | None = None,
) -> tuple[list[VideoItem], ClassMap]:
    """Open a dataset, detecting its format (see the module docstring).

    Args:
        source: A dataset directory, a list/CSV file or an SSv2 split JSON.
        split: Split of a directory dataset; list files *are* a split, so it is ignored.
        root: Folder that relative video paths are resolved against (list files, CSV,
            SSv2); default: the list's folder.
        class_map: Fixed class map, e.g. the one stored with a checkpoint.

    Returns:
        The items and the class map.

    Raises:
        DataError: If the source is missing, of an unknown format, or holds no videos.
    """
    src = Path(source)
    if not src.exists():
        raise DataError(f"{src}: no such file or directory")
    if src.is_dir():
        return load_folder(src, split, class_map=class_map)
    suffix = src.suffix.lower()
    if suffix == ".csv" and _is_official_csv(src):
        return load_kinetics_csv(src, root=root, class_map=class_map)
    if suffix in (".txt", ".csv", ".lst"):
        return load_list(src, root=root, class_map=class_map)
    if suffix == ".json":
        from autotsnet.data.splits import load_ssv2_auto

        return load_ssv2_auto(src, root=root, class_map=class_map)
    raise DataError(f"{src}: unknown dataset format (expected a folder, .txt, .csv or .json)")
