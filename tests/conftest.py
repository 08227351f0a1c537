"""Suite-wide settings: one torch thread, no network access."""

from __future__ import annotations

import socket
from collections.abc import Iterator

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
