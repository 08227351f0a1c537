"""The ASGI app in-process (httpx ASGITransport + lifespan): decode timeout, readiness, busy."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from autotsnet.infer import Predictor
from autotsnet.infer.server import ServerConfig, create_app

from .conftest import VIEWS

Client = httpx.AsyncClient


@pytest.fixture
def predictor(exported: Path) -> Predictor:
    return Predictor.from_export(exported, provider="cpu", views=VIEWS, threads=1)


def _run(app: FastAPI, body: Callable[[Client], Awaitable[None]], *, lifespan: bool = True) -> None:
    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            if not lifespan:
                await body(client)
                return
            async with app.router.lifespan_context(app):
                await body(client)

    asyncio.run(go())


def test_decode_timeout_is_a_422_and_the_file_is_removed(
    predictor: Predictor, videos: list[Path], tmp_path: Path
) -> None:
    release = threading.Event()
    real = predictor.load_views

    def slow(path: str | Path) -> dict[str, np.ndarray]:
        release.wait(10)
        return real(path)

    files = {"file": ("a.mp4", videos[0].read_bytes(), "video/mp4")}

    async def body(client: Client) -> None:
        predictor.load_views = slow  # type: ignore[method-assign]
        started = time.monotonic()
        r = await client.post("/v1/classify", files=files)
        assert r.status_code == 422 and r.json()["error"]["code"] == "decode_timeout"
        assert time.monotonic() - started < 5
        assert (await client.get("/healthz")).status_code == 200
        assert len(list(tmp_path.iterdir())) == 1  # still being decoded
        release.set()
        deadline = time.monotonic() + 10
        while list(tmp_path.iterdir()):
            assert time.monotonic() < deadline, "upload not removed after the decode ended"
            await asyncio.sleep(0.05)
        predictor.load_views = real  # type: ignore[method-assign]
        assert (await client.post("/v1/classify", files=files)).status_code == 200
        assert not list(tmp_path.iterdir())

    config = ServerConfig(decode_timeout_s=0.3, upload_dir=tmp_path)
    _run(create_app(predictor, config), body)


def test_not_ready_until_warm_and_busy(predictor: Predictor, videos: list[Path]) -> None:
    app = create_app(predictor, ServerConfig(max_inflight=0))
    files = {"file": ("a.mp4", videos[0].read_bytes(), "video/mp4")}

    async def cold(client: Client) -> None:
        assert (await client.get("/readyz")).status_code == 503  # no warmup without lifespan
        assert (await client.post("/v1/classify", files=files)).status_code == 503

    async def warm(client: Client) -> None:
        assert (await client.get("/readyz")).status_code == 200
        r = await client.post("/v1/classify", files=files)
        assert r.status_code == 503 and r.json()["error"]["code"] == "busy"

    _run(app, cold, lifespan=False)
    _run(app, warm)
