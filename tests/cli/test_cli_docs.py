"""The CLI reference in docs/cli.md is generated from the Typer app and must be current."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current(load_tool: Callable[[str], ModuleType]) -> None:
    tool = load_tool("tools/gen_cli_docs.py")
    expected = tool.render()
    current = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    assert current == expected, "docs/cli.md is stale: run .venv/bin/python tools/gen_cli_docs.py"


def test_cli_reference_lists_every_command() -> None:
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    for command in (
        "search",
        "train",
        "eval",
        "export",
        "predict",
        "serve",
        "demo",
        "flops",
        "draw",
        "space",
        "zoo list",
        "data check",
        "data synth",
        "genome schema",
    ):
        assert f"autotsnet {command}`" in text, command
