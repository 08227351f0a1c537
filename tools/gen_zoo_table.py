"""Write docs/zoo.md: every zoo entry's paper figures against our analytic cost.

Usage::

    python tools/gen_zoo_table.py            # (re)write docs/zoo.md
    python tools/gen_zoo_table.py --check    # exit 1 if docs/zoo.md is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autotsnet.data.classmap import atomic_write_text
from autotsnet.models.report import zoo_markdown

__all__ = ["DEFAULT_OUT", "main"]

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "zoo.md"


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
    atomic_write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
