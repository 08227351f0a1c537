"""Prometheus metrics of ``autotsnet serve`` (one registry per app, no global state).

``GET /metrics`` exposes, among others:

=====================================  ===========================================================
``autotsnet_http_requests_total``      requests by route and status code
``autotsnet_errors_total``             error responses by error code (``too_large``, ...)
``autotsnet_request_seconds``          wall time of ``/v1/classify`` (histogram)
``autotsnet_decode_seconds``           decode + view building per video (histogram)
``autotsnet_inference_seconds``        one batched model run (histogram)
``autotsnet_batch_requests``           requests merged into one run (histogram; sum > count
                                       means micro-batching merged concurrent requests)
``autotsnet_batch_rows``               rows (views) per run (histogram)
``autotsnet_upload_bytes``             accepted upload sizes (histogram)
``autotsnet_inflight_requests``        classify requests in progress (gauge)
``autotsnet_ready``                    1 once the model is loaded and warmed up (gauge)
``autotsnet_model_info``               model name, genome id, providers, views (info)
=====================================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

__all__ = ["ServerMetrics"]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class ServerMetrics:
    """The metrics of one server, in their own registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "autotsnet_http_requests", "HTTP requests.", ["route", "status"], registry=r
        )
        self.errors = Counter("autotsnet_errors", "Error responses by code.", ["code"], registry=r)
        self.request_seconds = Histogram(
            "autotsnet_request_seconds", "Classify request time.", buckets=_LATENCY, registry=r
        )
        self.decode_seconds = Histogram(
            "autotsnet_decode_seconds", "Decode and view building.", buckets=_LATENCY, registry=r
        )
        self.inference_seconds = Histogram(
            "autotsnet_inference_seconds", "One batched model run.", buckets=_LATENCY, registry=r
        )
        self.batch_requests = Histogram(
            "autotsnet_batch_requests",
            "Requests merged into one model run.",
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64),
            registry=r,
        )
        self.batch_rows = Histogram(
            "autotsnet_batch_rows",
            "Rows (views) per model run.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.upload_bytes = Histogram(
            "autotsnet_upload_bytes",
            "Accepted upload sizes.",
            buckets=tuple(float(2**k) for k in range(10, 31, 2)),
            registry=r,
        )
        self.inflight = Gauge(
            "autotsnet_inflight_requests", "Classify requests in progress.", registry=r
        )
        self.ready = Gauge("autotsnet_ready", "1 when the model is warmed up.", registry=r)
        self.model_info = Info("autotsnet_model", "The served model.", registry=r)

    def observe_batch(self, requests: int, rows: int, seconds: float) -> None:
        """Record one batched model run."""
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)
        self.inference_seconds.observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
