"""``autotsnet serve``: the built-in HTTP server (FastAPI + uvicorn) for an exported model.

::

    autotsnet serve exports/s --host 127.0.0.1 --port 8000
    curl -F file=@video.mp4 http://127.0.0.1:8000/v1/classify?topk=3

See :mod:`autotsnet.infer.server` for the routes and docs/deploy.md for the limits.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from autotsnet.cli._errors import fail
from autotsnet.cli._options import AggOpt, ProviderOpt, ThreadsOpt
from autotsnet.infer.predictor import Predictor

__all__ = ["register", "serve_command"]


def serve_command(
    model_dir: Annotated[
        Path, typer.Argument(metavar="MODEL_DIR", help="An `autotsnet export` folder.")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    provider: ProviderOpt = "auto",
    views: Annotated[str | None, typer.Option(help="CLIPSxCROPS (default: the export's).")] = None,
    agg: AggOpt = "mean",
    threads: ThreadsOpt = None,
    max_upload_mb: Annotated[float, typer.Option(help="Request size limit in MiB.")] = 64.0,
    decode_timeout: Annotated[float, typer.Option(help="Decode timeout per video, s.")] = 30.0,
    batch_wait_ms: Annotated[
        float, typer.Option(help="Micro-batching: wait for other requests, ms.")
    ] = 5.0,
    max_batch: Annotated[int, typer.Option(help="Most rows (views) per model run.")] = 64,
    decode_workers: Annotated[int, typer.Option(help="Decoding threads.")] = 2,
    max_inflight: Annotated[int, typer.Option(help="Requests in progress before 503 'busy'.")] = 64,
    topk: Annotated[int, typer.Option(help="Default labels per response.")] = 5,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve MODEL_DIR over HTTP: POST /v1/classify, /healthz, /readyz, /metrics."""
    import uvicorn

    from autotsnet.infer.server import ServerConfig, create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s", stream=sys.stderr)
    if max_upload_mb <= 0 or decode_timeout <= 0 or max_batch < 1 or batch_wait_ms < 0:
        raise fail("--max-upload-mb, --decode-timeout, --max-batch must be positive")
    try:
        predictor = Predictor.from_export(
            model_dir, provider=provider, views=views, agg=agg, threads=threads
        )
    except ValueError as exc:
        raise fail(str(exc) or type(exc).__name__) from None
    config = ServerConfig(
        max_upload_bytes=int(max_upload_mb * 2**20),
        decode_timeout_s=decode_timeout,
        batch_wait_ms=batch_wait_ms,
        max_batch_rows=max_batch,
        decode_workers=decode_workers,
        max_inflight=max_inflight,
        topk=topk,
    )
    app = create_app(predictor, config)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=5,
        limit_concurrency=max_inflight * 2 + 16,
    )


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve_command)
