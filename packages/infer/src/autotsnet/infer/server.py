"""``autotsnet serve``: a FastAPI app that classifies uploaded videos with micro-batching.

Routes::

    POST /v1/classify[?topk=5]   video upload (multipart field 'file', or raw video/* body)
                                 -> {"model", "views", "top": [{"label", "index",
                                     "probability"}], "timing_ms": {...}}
    GET  /v1/model               the served model (classes, views, inputs, providers)
    GET  /healthz                liveness: 200 while the event loop answers
    GET  /readyz                 readiness: 200 once the model is loaded and warmed up, else 503
    GET  /metrics                Prometheus text (see autotsnet.infer.metrics)

A request flows through: size-limited streaming upload into a server-chosen temporary file
-> decode and view building in a thread pool, under a timeout -> the micro-batcher, which
merges concurrent requests into one model run -> softmax aggregation -> JSON. Every bad
upload gets a 4xx JSON error ``{"error": {"code", "message"}}``; a decode that overruns
the timeout gets 422 while its thread finishes in the background (threads cannot be
killed; the file is removed when it does).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from autotsnet.data.errors import VideoDecodeError
from autotsnet.infer.batcher import MicroBatcher
from autotsnet.infer.metrics import ServerMetrics
from autotsnet.infer.predictor import Predictor
from autotsnet.infer.uploads import UploadError, receive_upload

__all__ = ["ServerConfig", "create_app"]

logger = logging.getLogger(__name__)

_ROUTES = ("/v1/classify", "/v1/model", "/healthz", "/readyz", "/metrics")


@dataclass(frozen=True)
class ServerConfig:
    """Limits and batching of the server.

    Attributes:
        max_upload_bytes: Largest accepted request body.
        decode_timeout_s: Longest decode + view building per video.
        batch_wait_ms: How long a request waits for others to share its model run.
        max_batch_rows: Most rows (views) per model run.
        decode_workers: Threads that decode uploads.
        max_inflight: Classify requests in progress before new ones get 503.
        topk: Default number of labels returned.
        upload_dir: Where uploads are spooled (default: a new private temporary folder).
    """

    max_upload_bytes: int = 64 * 2**20
    decode_timeout_s: float = 30.0
    batch_wait_ms: float = 5.0
    max_batch_rows: int = 64
    decode_workers: int = 2
    max_inflight: int = 64
    topk: int = 5
    upload_dir: Path | None = None


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class _Counting:
    """ASGI middleware: count responses by route and status (never by client input)."""

    def __init__(self, app: Any, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def wrapped(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            path = scope.get("path", "")
            route = path if path in _ROUTES else "other"
            self.metrics.requests.labels(route=route, status=str(status)).inc()


class _State:
    def __init__(self, predictor: Predictor, config: ServerConfig) -> None:
        self.predictor = predictor
        self.config = config
        self.metrics = ServerMetrics()
        self.ready = False
        self.upload_dir = Path(".")
        self.own_dir = False
        self.decoders = ThreadPoolExecutor(
            max_workers=max(1, config.decode_workers), thread_name_prefix="autotsnet-decode"
        )
        self.batcher = MicroBatcher(
            predictor.run,
            max_rows=max(config.max_batch_rows, predictor.rows_per_video),
            max_wait_s=config.batch_wait_ms / 1000.0,
            on_batch=self.metrics.observe_batch,
            pending=lambda: self.preparing,
        )
        self.inflight = 0
        self.preparing = 0  # requests uploading or decoding: they may still join a batch


def create_app(predictor: Predictor, config: ServerConfig | None = None) -> FastAPI:
    """The ASGI app serving ``predictor`` (run it with uvicorn)."""
    cfg = config or ServerConfig()
    state = _State(predictor, cfg)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if cfg.upload_dir is None:
            state.upload_dir = Path(tempfile.mkdtemp(prefix="autotsnet-serve-"))
            state.own_dir = True
        else:
            state.upload_dir = cfg.upload_dir
            state.upload_dir.mkdir(parents=True, exist_ok=True)
        await state.batcher.start()
        d = predictor.describe()
        state.metrics.model_info.info(
            {
                "name": str(d["name"]),
                "genome_id": str(d["genome_id"]),
                "providers": ",".join(d["providers"]),
                "views": str(d["views"]),
                "head": str(d["head"]),
            }
        )
        await asyncio.get_running_loop().run_in_executor(state.decoders, predictor.warmup)
        state.ready = True
        state.metrics.ready.set(1)
        logger.info("ready: %s on %s", d["name"] or "model", ", ".join(d["providers"]))
        try:
            yield
        finally:
            state.ready = False
            state.metrics.ready.set(0)
            await state.batcher.stop()
            state.decoders.shutdown(wait=False, cancel_futures=True)
            if state.own_dir:
                shutil.rmtree(state.upload_dir, ignore_errors=True)

    app = FastAPI(title="autotsnet", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.autotsnet = state
    _install_handlers(app, state)
    _install_routes(app, state)
    app.add_middleware(_Counting, metrics=state.metrics)
    return app


def _install_handlers(app: FastAPI, state: _State) -> None:
    def fail(status: int, code: str, message: str) -> JSONResponse:
        state.metrics.errors.labels(code=code).inc()
        return _error(status, code, message)

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, exc: UploadError) -> JSONResponse:
        return fail(exc.status, exc.code, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return fail(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return fail(422, "invalid_parameter", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("internal error")
        return fail(500, "internal_error", f"{type(exc).__name__}")


def _install_routes(app: FastAPI, state: _State) -> None:
    predictor = state.predictor
    cfg = state.config

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=None)
    async def readyz() -> dict[str, Any] | JSONResponse:
        if not state.ready:
            return _error(503, "not_ready", "the model is loading or warming up")
        return {"status": "ready", "model": predictor.spec.name, "providers": predictor.providers}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/model")
    async def model() -> dict[str, Any]:
        return predictor.describe()

    @app.post("/v1/classify", response_model=None)
    async def classify(
        request: Request, topk: int = Query(cfg.topk, ge=1, le=1000)
    ) -> dict[str, Any] | JSONResponse:
        if not state.ready:
            return _error(503, "not_ready", "the model is loading or warming up")
        if state.inflight >= cfg.max_inflight:
            state.metrics.errors.labels(code="busy").inc()
            return _error(503, "busy", "too many requests in progress; retry later")
        state.inflight += 1
        state.metrics.inflight.inc()
        started = time.perf_counter()
        token = _Preparing(state)
        try:
            return await _classify(request, state, topk, started, token)
        finally:
            token.done()
            state.inflight -= 1
            state.metrics.inflight.dec()


class _Preparing:
    """Counts a request in ``state.preparing`` until it reaches the batcher (or fails)."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.active = True
        state.preparing += 1

    def done(self) -> None:
        if self.active:
            self.active = False
            self.state.preparing -= 1


async def _classify(
    request: Request, state: _State, topk: int, started: float, token: _Preparing
) -> dict[str, Any]:
    predictor, cfg, metrics = state.predictor, state.config, state.metrics
    upload = await receive_upload(
        request, dest_dir=state.upload_dir, max_bytes=cfg.max_upload_bytes
    )
    metrics.upload_bytes.observe(upload.size)
    t_decode = time.perf_counter()
    job = state.decoders.submit(predictor.load_views, upload.path)
    job.add_done_callback(lambda _: upload.path.unlink(missing_ok=True))
    try:
        feeds = await asyncio.wait_for(asyncio.wrap_future(job), cfg.decode_timeout_s)
    except TimeoutError:
        raise UploadError(
            422, "decode_timeout", f"decoding took longer than {cfg.decode_timeout_s:g} s"
        ) from None
    except VideoDecodeError as exc:
        reason = f"not a decodable video: {exc.reason}"
        raise UploadError(422, "undecodable_video", reason) from None
    decode_s = time.perf_counter() - t_decode
    metrics.decode_seconds.observe(decode_s)
    t_model = time.perf_counter()
    token.done()
    rows = await state.batcher.submit(feeds)
    scores = predictor.aggregate(rows)
    model_s = time.perf_counter() - t_model
    order = scores.argsort()[::-1][: min(topk, len(scores))]
    total = time.perf_counter() - started
    metrics.request_seconds.observe(total)
    return {
        "model": predictor.spec.name,
        "views": str(predictor.builder.views),
        "top": [
            {"label": predictor.class_names[i], "index": int(i), "probability": float(scores[i])}
            for i in order
        ],
        "timing_ms": {
            "decode": round(1000 * decode_s, 2),
            "model": round(1000 * model_s, 2),
            "total": round(1000 * total, 2),
        },
    }
