"""Write docs/zoo.md: every zoo entry's paper figures against our analytic cost.

Usage::

    python tools/gen_zoo_table.py            # (re)write docs/zoo.md
    python tools/gen_zoo_table.py --check    # exit 1 if docs/zoo.md is stale
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from autotsnet.models.report import zoo_markdown

__all__ = ["DEFAULT_OUT", "main", "write_atomic"]

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "zoo.md"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, fsync and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output Markdown file")
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the file is stale"
    )
    args = parser.parse_args(argv)
    text = zoo_markdown()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run python tools/gen_zoo_table.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    write_atomic(args.out, text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
