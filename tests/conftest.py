"""Suite-wide settings: one torch thread, no network access."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forbid connections outside loopback: tests never download anything."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        local = ("localhost", "::1", "0.0.0.0")
        remote = isinstance(host, str) and host not in local and not host.startswith("127.")
        if remote and self.family != socket.AF_UNIX:
            raise RuntimeError(f"tests must not reach the network ({address!r})")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


@pytest.fixture(scope="session")
def load_tool() -> Callable[[str], ModuleType]:
    """Import a script under ``tools/`` (not a package) by its path from the repo root."""
    root = Path(__file__).resolve().parents[1]

    def load(relpath: str) -> ModuleType:
        path = root / relpath
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
