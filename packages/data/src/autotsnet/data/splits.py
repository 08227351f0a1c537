"""Official split files of Something-Something-V2, UCF101 and HMDB51.

* SSv2: ``something-something-v2-labels.json`` (``{"Template text": "index"}``) plus
  ``something-something-v2-{train,validation}.json`` (``[{"id": ..., "template": ...}]``);
  videos are ``<video_root>/<id>.webm``. Flip augmentation must be off for SSv2
  (left/right labels).
* UCF101: ``ucfTrainTestlist/`` with ``classInd.txt`` (``1 ApplyEyeMakeup``),
  ``trainlist0K.txt`` (``Class/v_Class_g08_c01.avi 1``) and ``testlist0K.txt``
  (``Class/v_Class_g01_c01.avi``); videos under ``<video_root>/<Class>/``.
* HMDB51: ``<class>_test_split<K>.txt`` with ``video.avi N`` lines (1 train, 2 test,
  0 unused); videos under ``<video_root>/<class>/``; classes sorted alphabetically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autotsnet.data.classmap import ClassMap
from autotsnet.data.datasets import VideoItem
from autotsnet.data.errors import DataError

__all__ = ["load_hmdb51", "load_ssv2", "load_ssv2_auto", "load_ucf101"]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    return [(i, ln.strip()) for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]


def load_ssv2(
    labels_json: str | Path,
    split_json: str | Path,
    video_root: str | Path,
    *,
    ext: str = ".webm",
) -> tuple[list[VideoItem], ClassMap]:
    """Load an SSv2 split.

    Args:
        labels_json: ``something-something-v2-labels.json``.
        split_json: ``something-something-v2-train.json`` or ``-validation.json``.
        video_root: Folder holding ``<id><ext>`` files.
        ext: Video extension.

    Raises:
        DataError: On malformed JSON, an unknown template or an empty split.
    """
    lpath, spath, root = Path(labels_json), Path(split_json), Path(video_root)
    labels = _read_json(lpath)
    if not isinstance(labels, dict) or not labels:
        raise DataError(f"{lpath}: expected an object of template -> index")
    try:
        order = sorted(labels, key=lambda k: int(labels[k]))
    except (TypeError, ValueError):
        raise DataError(f"{lpath}: label indices must be integers") from None
    if [int(labels[k]) for k in order] != list(range(len(order))):
        raise DataError(f"{lpath}: label indices must be 0..{len(order) - 1}")
    cmap = ClassMap(tuple(order))
    entries = _read_json(spath)
    if not isinstance(entries, list):
        raise DataError(f"{spath}: expected a list of videos")
    items = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry or "template" not in entry:
            raise DataError(f"{spath}: entry {i} needs 'id' and 'template'")
        template = str(entry["template"]).replace("[", "").replace("]", "")
        if template not in cmap:
            raise DataError(f"{spath}: entry {i}: unknown template {template!r}")
        items.append(VideoItem(root / f"{entry['id']}{ext}", cmap.index(template)))
    if not items:
        raise DataError(f"no videos found under {spath} (empty split)")
    return items, cmap


def load_ssv2_auto(
    split_json: Path, *, root: Path | None = None, class_map: ClassMap | None = None
) -> tuple[list[VideoItem], ClassMap]:
    """SSv2 split JSON with its labels file found next to it (``*labels*.json``).

    Videos are looked up in ``root``, else ``20bn-something-something-v2/`` next to the
    JSON, else the JSON's folder.
    """
    candidates = sorted(p for p in split_json.parent.glob("*labels*.json") if p != split_json)
    if not candidates:
        raise DataError(f"{split_json}: no *labels*.json next to it (needed for SSv2)")
    video_root = root
    if video_root is None:
        sub = split_json.parent / "20bn-something-something-v2"
        video_root = sub if sub.is_dir() else split_json.parent
    items, cmap = load_ssv2(candidates[0], split_json, video_root)
    if class_map is not None and class_map != cmap:
        raise DataError(f"{candidates[0]}: classes differ from the given class map")
    return items, cmap


def load_ucf101(
    splits_dir: str | Path, video_root: str | Path, split: str = "train", *, fold: int = 1
) -> tuple[list[VideoItem], ClassMap]:
    """Load a UCF101 official split (``ucfTrainTestlist``).

    Args:
        splits_dir: Folder with ``classInd.txt``, ``trainlist0K.txt``, ``testlist0K.txt``.
        video_root: Folder with ``<Class>/<video>.avi``.
        split: ``train`` or ``test`` (``val`` is an alias of ``test``).
        fold: Split number 1-3.
    """
    sdir, root = Path(splits_dir), Path(video_root)
    if fold not in (1, 2, 3):
        raise DataError(f"UCF101 fold must be 1, 2 or 3, got {fold}")
    names: dict[int, str] = {}
    cind = sdir / "classInd.txt"
    for lineno, line in _lines(cind):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f"{cind}:{lineno}: expected 'index ClassName'")
        names[int(parts[0])] = parts[1]
    if sorted(names) != list(range(1, len(names) + 1)):
        raise DataError(f"{cind}: class indices must be 1..{len(names)}")
    cmap = ClassMap(tuple(names[i] for i in range(1, len(names) + 1)))
    kind = "trainlist" if split == "train" else "testlist"
    if split not in ("train", "test", "val"):
        raise DataError(f"UCF101 split must be train or test, got {split!r}")
    lst = sdir / f"{kind}{fold:02d}.txt"
    items = []
    for lineno, line in _lines(lst):
        rel = line.split()[0]
        cls = rel.replace("\\", "/").split("/")[0]
        if cls not in cmap:
            raise DataError(f"{lst}:{lineno}: unknown class folder {cls!r}")
        items.append(VideoItem(root / rel, cmap.index(cls)))
    if not items:
        raise DataError(f"no videos found under {lst} (empty split)")
    return items, cmap


def load_hmdb51(
    splits_dir: str | Path, video_root: str | Path, split: str = "train", *, fold: int = 1
) -> tuple[list[VideoItem], ClassMap]:
    """Load an HMDB51 official split (``<class>_test_split<fold>.txt`` files).

    Args:
        splits_dir: Folder with the 51 x 3 split files.
        video_root: Folder with ``<class>/<video>.avi``.
        split: ``train`` (id 1) or ``test`` (id 2; ``val`` is an alias).
        fold: Split number 1-3.
    """
    sdir, root = Path(splits_dir), Path(video_root)
    if fold not in (1, 2, 3):
        raise DataError(f"HMDB51 fold must be 1, 2 or 3, got {fold}")
    if split not in ("train", "test", "val"):
        raise DataError(f"HMDB51 split must be train or test, got {split!r}")
    suffix = f"_test_split{fold}.txt"
    files = sorted(sdir.glob(f"*{suffix}")) if sdir.is_dir() else []
    if not files:
        raise DataError(f"{sdir}: no *{suffix} files")
    cmap = ClassMap(tuple(f.name[: -len(suffix)] for f in files))
    want = "1" if split == "train" else "2"
    items = []
    for f in files:
        cls = f.name[: -len(suffix)]
        for lineno, line in _lines(f):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise DataError(f"{f}:{lineno}: expected 'video.avi 0|1|2'")
            if parts[1] == want:
                items.append(VideoItem(root / cls / parts[0], cmap.index(cls)))
    if not items:
        raise DataError(f"no videos found under {sdir} (split {split!r}, fold {fold})")
    return items, cmap
