"""Inference speed of zoo models: eager PyTorch vs torch.compile vs ONNX Runtime (CPU); JSON.

For each model the input is one view at the genome's training crop and frame counts
(auto_tsnet_s: sparse 4x160x160 + dense 32x160x160; x3d_s: 13x160x160), with seeded random
weights (BN calibrated on noise). The ONNX graph is the one ``autotsnet export`` writes
(TorchScript exporter, depthwise Conv3d rewritten as Conv2d taps); ``ort_no_dw2d`` is the
same export without that rewrite, to show what it buys. Every backend uses the same number
of threads (default 1: on a machine shared with other jobs, OpenMP barriers make every
multi-threaded eager op wait for a preempted thread, which slowed eager PyTorch ~11x in
our runs (docs/deploy.md) and would flatter ONNX Runtime), and the backends are timed in
interleaved rounds in one process so that other jobs on the machine disturb them alike.

Per (model, batch, backend): ``clips_per_s`` (batch / median wall time), ``p50_ms`` and
``p95_ms`` (wall time per call), ``cpu_ms_per_clip`` (median process CPU time per call /
batch; far less sensitive to other jobs than wall time). ``speedup_vs_eager`` compares p50
wall times, ``cpu_speedup_vs_eager`` CPU times. ``parity`` is the export's max abs
difference to PyTorch (the full-size parity check), ``compile_s`` the torch.compile warm-up.

    .venv/bin/python tools/bench/infer.py                       # auto_tsnet_s and x3d_s
    .venv/bin/python tools/bench/infer.py --models auto_tsnet_s --batches 1 --iters 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from autotsnet.infer import ExportOptions, export_onnx, randomize
from autotsnet.infer.onnx_export import example_inputs, input_specs
from autotsnet.models import build_model, zoo

GOAL: dict[str, Any] = {"model": "auto_tsnet_s", "batch": 1, "backend": "ort", "min_speedup": 1.3}


def _session(path: Path, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _time(fn: Callable[[], object]) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _summary(walls: list[float], cpus: list[float], batch: int) -> dict[str, float]:
    p50 = statistics.median(walls)
    return {
        "clips_per_s": round(batch / p50, 3),
        "p50_ms": round(1000 * p50, 2),
        "p95_ms": round(1000 * float(np.percentile(walls, 95)), 2),
        "cpu_ms_per_clip": round(1000 * statistics.median(cpus) / batch, 2),
    }


def bench_model(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    genome = zoo.get(name)
    with torch.random.fork_rng(devices=[]):
        model = build_model(genome, num_classes=400)
    specs = input_specs(genome, crop=genome.sparse.input.train_crop)
    randomize(model, lambda g: example_inputs(specs, (2,), generator=g), seed=0)
    model.eval()
    out: dict[str, Any] = {"inputs": {s.name: list(s.shape[1:]) for s in specs}}
    sessions: dict[str, ort.InferenceSession] = {}
    for label, dw in (("ort", True), ("ort_no_dw2d", False)):
        if label not in args.backends:
            continue
        d = workdir / f"{name}-{label}"
        res = export_onnx(
            model, genome, d, class_names=[str(i) for i in range(400)],
            options=ExportOptions(depthwise_2d=dw),
        )  # fmt: skip
        out.setdefault("parity", {})[label] = res.max_abs_diff
        out.setdefault("export_s", {})[label] = round(res.seconds, 1)
        sessions[label] = _session(d / "model.onnx", args.threads)
    results: dict[str, Any] = {}
    for batch in args.batches:
        gen = torch.Generator().manual_seed(batch)
        clips = example_inputs(specs, (batch,), generator=gen)
        feeds = {s.name: c.numpy() for s, c in zip(specs, clips, strict=True)}
        fns: dict[str, Callable[[], object]] = {}
        if "eager" in args.backends:
            fns["eager"] = partial(model, *clips)
        if "compile" in args.backends:
            compiled = torch.compile(model, dynamic=False)
            with torch.inference_mode():
                t0 = time.perf_counter()
                compiled(*clips)
            out.setdefault("compile_s", {})[str(batch)] = round(time.perf_counter() - t0, 1)
            fns["compile"] = partial(compiled, *clips)
        for label, session in sessions.items():
            fns[label] = partial(session.run, None, feeds)
        walls: dict[str, list[float]] = {k: [] for k in fns}
        cpus: dict[str, list[float]] = {k: [] for k in fns}
        with torch.inference_mode():
            for _ in range(args.warmup):
                for fn in fns.values():
                    fn()
            for _ in range(args.iters):
                for k, fn in fns.items():
                    w, c = _time(fn)
                    walls[k].append(w)
                    cpus[k].append(c)
        row = {k: _summary(walls[k], cpus[k], batch) for k in fns}
        if "eager" in row:
            for k in row:
                row[k]["speedup_vs_eager"] = round(row["eager"]["p50_ms"] / row[k]["p50_ms"], 3)
                row[k]["cpu_speedup_vs_eager"] = round(
                    row["eager"]["cpu_ms_per_clip"] / row[k]["cpu_ms_per_clip"], 3
                )
        results[str(batch)] = row
    out["batches"] = results
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="auto_tsnet_s,x3d_s")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--backends", default="eager,compile,ort,ort_no_dw2d")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    args.backends = args.backends.split(",")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    report: dict[str, Any] = {
        "bench": "infer",
        "device": "cpu",
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "load_avg_start": list(os.getloadavg()),
        },
        "threads": args.threads,
        "iters": args.iters,
        "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__},
        "models": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            report["models"][name] = bench_model(name, args, Path(tmp))
    report["machine"]["load_avg_end"] = list(os.getloadavg())
    g = report["models"].get(GOAL["model"], {}).get("batches", {}).get(str(GOAL["batch"]), {})
    if GOAL["backend"] in g and "eager" in g:
        report["goal"] = {
            **GOAL,
            "speedup": g[GOAL["backend"]]["speedup_vs_eager"],
            "cpu_speedup": g[GOAL["backend"]]["cpu_speedup_vs_eager"],
            "met": g[GOAL["backend"]]["speedup_vs_eager"] >= float(GOAL["min_speedup"]),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
