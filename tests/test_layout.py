"""Guards for the namespace-package layout (style.md pitfall 1)."""

from __future__ import annotations

import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_namespace_init_in_any_root() -> None:
    roots = sorted(ROOT.glob("packages/*/src"))
    assert len(roots) == 4
    offenders = [str(p) for p in ROOT.glob("packages/*/src/autotsnet/__init__.py")]
    assert offenders == [], f"autotsnet/__init__.py breaks the namespace package: {offenders}"


def test_every_subpackage_imports() -> None:
    for name in ("models", "data", "train", "search", "infer", "cli"):
        mod = importlib.import_module(f"autotsnet.{name}")
        assert mod.__name__ == f"autotsnet.{name}"
