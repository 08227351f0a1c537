"""Bounded load test of ``autotsnet serve`` on loopback; prints JSON.

Exports a zoo model (seeded random weights) to ONNX, writes one synthetic H.264 test video,
starts ``autotsnet serve`` as a subprocess on 127.0.0.1, and sends ``--requests`` uploads
from ``--concurrency`` concurrent clients, stopping early at ``--duration`` seconds. Every
request uploads the whole video; the server decodes it, builds all views, micro-batches the
concurrent requests and answers top-5 labels.

Reported: ``requests_per_s``, latency ``p50_ms`` / ``p95_ms`` / ``p99_ms`` (client side,
upload to response), ``errors`` (non-200 or transport errors; 0 expected), and from the
server's ``/metrics``: model runs, mean requests and rows per run (micro-batching), mean
decode and model time.

    .venv/bin/python tools/bench/serve.py                                  # auto_tsnet_s, 10x1
    .venv/bin/python tools/bench/serve.py --model x3d_s --requests 64 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import torch
from prometheus_client.parser import text_string_to_metric_families

from autotsnet.data.synth import generate_synthetic
from autotsnet.infer import ExportOptions, export_onnx, randomize
from autotsnet.infer.onnx_export import example_inputs, input_specs
from autotsnet.models import build_model, shrink, zoo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _export(name: str, tiny: bool, views: str, out: Path) -> None:
    genome = shrink(zoo.get(name)) if tiny else zoo.get(name)
    with torch.random.fork_rng(devices=[]):
        model = build_model(genome, num_classes=400)
    specs = input_specs(genome, crop=genome.sparse.input.train_crop)
    randomize(model, lambda g: example_inputs(specs, (2,), generator=g), seed=0)
    names = [f"class_{i}" for i in range(400)]
    export_onnx(model, genome, out, class_names=names, options=ExportOptions(views=views))


def _metrics(base: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text):
        for s in family.samples:
            if not s.labels or s.name.endswith(("_sum", "_count")):
                out[s.name] = s.value
    return out


async def _load(base: str, video: bytes, args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    remaining = args.requests
    deadline = time.perf_counter() + args.duration

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            t0 = time.perf_counter()
            try:
                r = await http.post(
                    "/v1/classify", files={"file": ("clip.mp4", video, "video/mp4")}
                )
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {r.text[:120]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        await asyncio.gather(*(client(http) for _ in range(args.concurrency)))
    wall = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "duration_s": round(wall, 2),
        "stopped_by": "count" if remaining <= 0 else "duration",
        "requests_per_s": round(len(latencies) / wall, 3),
        "clips_per_s": None,
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
    }


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("server not ready in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="auto_tsnet_s")
    parser.add_argument("--tiny", action="store_true", help="Serve the tiny twin.")
    parser.add_argument("--views", default="10x1")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--duration", type=float, default=180.0, help="Stop after this many s.")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads.")
    parser.add_argument("--batch-wait-ms", type=float, default=10.0)
    parser.add_argument("--max-batch", type=int, default=40)
    parser.add_argument("--video-size", default="240x320", help="HxW of the test video.")
    parser.add_argument("--video-frames", type=int, default=96)
    args = parser.parse_args()
    h, w = (int(v) for v in args.video_size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        _export(args.model, args.tiny, args.views, root / "model")
        export_s = time.perf_counter() - t0
        generate_synthetic(
            root / "data", classes=2, videos_per_class=1, frames=args.video_frames, size=(h, w)
        )
        video = sorted((root / "data").rglob("*.mp4"))[0].read_bytes()
        port = _free_port()
        cmd = [
            sys.executable, "-m", "autotsnet.cli", "serve", str(root / "model"),
            "--port", str(port), "--provider", "cpu", "--threads", str(args.threads),
            "--batch-wait-ms", str(args.batch_wait_ms), "--max-batch", str(args.max_batch),
            "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        proc = subprocess.Popen(cmd, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, proc, 300)
            before = _metrics(base)
            result = asyncio.run(_load(base, video, args))
            after = _metrics(base)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    runs = delta("autotsnet_batch_requests_count")
    per_run = max(runs, 1.0)
    views = int(args.views.split("x")[0]) * int(args.views.split("x")[1])
    result["clips_per_s"] = round(result["requests_per_s"] * views, 3)
    report = {
        "bench": "serve",
        "model": args.model + ("_tiny" if args.tiny else ""),
        "views": args.views,
        "video": {"frames": args.video_frames, "size": [h, w], "bytes": len(video)},
        "concurrency": args.concurrency,
        "limits": {"requests": args.requests, "duration_s": args.duration},
        "server": {
            "threads": args.threads,
            "batch_wait_ms": args.batch_wait_ms,
            "max_batch_rows": args.max_batch,
        },
        "machine": {"cpus": os.cpu_count(), "load_avg": list(os.getloadavg())},
        "export_s": round(export_s, 1),
        **result,
        "server_metrics": {
            "model_runs": runs,
            "mean_requests_per_run": round(delta("autotsnet_batch_requests_sum") / per_run, 2),
            "mean_rows_per_run": round(delta("autotsnet_batch_rows_sum") / per_run, 2),
            "mean_decode_ms": round(
                1000
                * delta("autotsnet_decode_seconds_sum")
                / max(delta("autotsnet_decode_seconds_count"), 1),
                1,
            ),
            "mean_run_ms": round(1000 * delta("autotsnet_inference_seconds_sum") / per_run, 1),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
