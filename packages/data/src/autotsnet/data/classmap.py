"""The class map: the ordered class names of a dataset, saved with checkpoints and exports."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autotsnet.data.errors import DataError

__all__ = ["ClassMap", "atomic_write_text"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (tmp file + fsync + os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class ClassMap:
    """Class names in label order: label ``i`` is ``names[i]``.

    The JSON form is ``{"classes": ["name0", "name1", ...]}``; :meth:`from_json` also accepts
    a bare list.

    Attributes:
        names: Class names, unique, in label order.
    """

    names: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        names = tuple(self.names)
        object.__setattr__(self, "names", names)
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise DataError(f"class map: class {i} must be a non-empty string, got {name!r}")
            if name in index:
                raise DataError(f"class map: duplicate class name {name!r}")
            index[name] = i
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> ClassMap:
        """Build a class map from names, sorted alphabetically and de-duplicated."""
        return cls(tuple(sorted(set(names))))

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def index(self, name: str) -> int:
        """Label of ``name``.

        Raises:
            DataError: If the class is unknown.
        """
        try:
            return self._index[name]
        except KeyError:
            raise DataError(f"class map: unknown class {name!r}") from None

    def name(self, label: int) -> str:
        """Name of ``label``."""
        if not 0 <= label < len(self.names):
            raise DataError(f"class map: label {label} out of range 0..{len(self.names) - 1}")
        return self.names[label]

    def to_json(self) -> str:
        """JSON text ``{"classes": [...]}``."""
        return json.dumps({"classes": list(self.names)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ClassMap:
        """Parse the JSON form (an object with ``classes`` or a bare list of names).

        Raises:
            DataError: On invalid JSON or content.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"class map: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        if isinstance(data, dict):
            data = data.get("classes")
        if not isinstance(data, list) or not data:
            raise DataError('class map: expected {"classes": [names...]} with at least one class')
        return cls(tuple(data))

    def save(self, path: str | Path) -> None:
        """Write the JSON form to ``path`` atomically."""
        atomic_write_text(Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> ClassMap:
        """Read a class map JSON file.

        Raises:
            DataError: If the file is missing or invalid; the message names the file.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{p}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{p}: cannot read: {exc}") from None
        try:
            return cls.from_json(text)
        except DataError as exc:
            raise DataError(f"{p}: {exc}") from None
