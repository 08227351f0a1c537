"""Benchmark the data pipeline against raw PyAV decoding of the same frames; prints JSON.

All loaders use the same DataLoader setup (workers, persistent workers, batch size) and the
same clip windows (seeded), and are timed in alternating rounds in one process, so the
ratios isolate the cost of transforms, normalisation and collation:

* ``raw``: decode the union of the two streams' frames of each clip to uint8 RGB, batches
  passed to the main process as lists (no collate copy);
* ``decode_only``: the same decoding in the workers, but only the frame count is passed
  on (the stricter limit: no full frames to copy between processes);
* ``pipeline``: ``ClipDataset(output="uint8")`` in the workers (decode + scale jitter +
  crop + flip, both streams, collated) and ``normalize_batch`` of every batch in the
  timed consumer loop (on ``--device``: CPU by default, i.e. on this machine's cores);
* ``pipeline_float32``: the default ``ClipDataset`` (normalised float32 in the workers).

``ratio`` is the best pipeline rate over the best raw rate (``ratios`` has every pair);
``round_ratios`` pairs each round's measurements (their spread shows how much other jobs
disturbed them). ``cpu_ms_per_clip`` is the CPU time of the workers and the consumer per
clip (fewest of the rounds; Linux /proc), a figure that other jobs on the machine disturb
far less than wall-clock rates; ``cpu_ratios`` are its inverse ratios;
``consumer_cpu_ms_per_clip`` is the main process's share (batch receipt, normalisation).

    .venv/bin/python tools/bench/data.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from autotsnet.data import (
    ClipDataset,
    ClipSampler,
    StreamSampling,
    TrainTransform,
    VideoItem,
    VideoReader,
    make_loader,
    normalize_batch,
    open_dataset,
)
from autotsnet.data.synth import generate_synthetic


class RawDecode(Dataset[torch.Tensor]):
    """Decode exactly the frames ``ClipDataset`` would decode, and nothing else.

    Returns the uint8 (T, H, W, 3) frames, or only their number when ``ship`` is False.
    """

    accepts_epoch_keys = True

    def __init__(
        self,
        items: list[VideoItem],
        samplings: tuple[StreamSampling, ...],
        seed: int,
        *,
        ship: bool = True,
    ):
        self.items, self.sampler, self.seed = items, ClipSampler(samplings), seed
        self.ship = ship

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        index, epoch = key
        rng = random.Random(f"{self.seed}:{epoch}:{index}:0")
        with VideoReader(self.items[index].path) as reader:
            n = reader.num_frames
            start = self.sampler.train_start(n, rng)
            union, _ = self.sampler.union(self.sampler.indices(start, n))
            frames = reader.read(union)
        return frames if self.ship else torch.tensor(frames.shape[0])


def _as_list(batch: list[Any]) -> list[Any]:
    return batch


def _cpu_s() -> tuple[float, float]:
    """CPU seconds used so far by this process and by its live children (the loader workers)."""
    total = 0.0
    me, tick = os.getpid(), os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # fields from 3 (state) on
        if int(fields[1]) == me:  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return time.process_time(), total


def _rate(
    loader: Any, epochs: int, consume: Callable[[Any], int], device: torch.device
) -> tuple[float, float, float]:
    """(clips per second, CPU ms per clip, of which the consumer's) over ``epochs`` passes.

    ``consume`` handles one batch and returns its number of clips.
    """
    clips, (main0, kids0), t0 = 0, _cpu_s(), time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            clips += consume(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, (main1, kids1) = time.perf_counter() - t0, _cpu_s()
    main = main1 - main0
    return clips / wall, 1000 * (main + kids1 - kids0) / clips, 1000 * main / clips


def _ratios(num: list[float], den: list[float]) -> list[float]:
    return [round(a / b, 3) for a, b in zip(num, den, strict=True)]


def _pairs(names: list[str]) -> list[tuple[str, str]]:
    """(pipeline, baseline) name pairs, e.g. ("pipeline", "raw")."""
    return [(p, b) for p in names if p.startswith("pipeline") for b in ("raw", "decode_only")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="dataset (default: synthetic, generated once)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "atsn-bench")
    ap.add_argument("--size", default="240x320", help="synthetic frame size HxW")
    ap.add_argument("--frames", type=int, default=96, help="synthetic frames per video")
    ap.add_argument("--videos", type=int, default=24, help="synthetic videos in total")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=2, help="timed passes over the data")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds; best is kept")
    ap.add_argument("--sparse", default="4x16")
    ap.add_argument("--dense", default="32x2")
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--device", default="cpu", help="where the consumer normalises (cuda: pinned)")
    ap.add_argument("--no-float32", action="store_true", help="skip the float32-worker loader")
    args = ap.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    load_before = os.getloadavg()

    if args.data is None:
        h, w = (int(v) for v in args.size.split("x"))
        args.data = args.cache / f"synth-{h}x{w}-{args.frames}-{args.videos}"
        generate_synthetic(args.data, classes=2, videos_per_class=args.videos // 2,
                           frames=args.frames, size=(h, w), val_fraction=0.0,
                           workers=args.workers)  # fmt: skip
    items, _ = open_dataset(args.data, "train")
    samplings = (StreamSampling.parse(args.sparse), StreamSampling.parse(args.dense))
    seed = 0
    tf = TrainTransform(crop=args.crop, scale=(round(args.crop * 1.1375), round(args.crop * 1.425)))
    pin = device.type == "cuda"

    def loader(ds: Dataset[Any]) -> Any:
        return make_loader(ds, args.batch_size, workers=args.workers, shuffle=True, seed=seed,
                           pin_memory=pin)  # fmt: skip

    def consume_raw(batch: list[torch.Tensor]) -> int:
        return len(batch)

    def consume_uint8(batch: tuple[list[torch.Tensor], torch.Tensor]) -> int:
        clips, labels = batch
        normalize_batch(clips, tf.mean, tf.std, device=device)
        return int(labels.numel())

    def consume_float(batch: tuple[list[torch.Tensor], torch.Tensor]) -> int:
        clips, labels = batch
        for c in clips:
            c.to(device, non_blocking=pin)
        return int(labels.numel())

    raw_loader = loader(RawDecode(items, samplings, seed))
    raw_loader.collate_fn = _as_list
    decode_loader = loader(RawDecode(items, samplings, seed, ship=False))
    decode_loader.collate_fn = _as_list
    runs: dict[str, tuple[Any, Callable[[Any], int]]] = {
        "raw": (raw_loader, consume_raw),
        "decode_only": (decode_loader, consume_raw),
        "pipeline": (loader(ClipDataset(items, samplings, tf, seed=seed, output="uint8")),
                     consume_uint8),
        "pipeline_float32": (loader(ClipDataset(items, samplings, tf, seed=seed)),
                             consume_float),
    }  # fmt: skip
    if args.no_float32:
        del runs["pipeline_float32"]
    for ld, consume in runs.values():  # warm-up: start persistent workers, fill the page cache
        _rate(ld, 1, consume, device)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    consumer: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, (ld, consume) in runs.items():
            rate, cpu_ms, consumer_ms = _rate(ld, args.epochs, consume, device)
            rates[name].append(rate)
            cpu[name].append(cpu_ms)
            consumer[name].append(consumer_ms)
    best = {name: max(v) for name, v in rates.items()}
    least_cpu = {name: min(v) for name, v in cpu.items()}
    pairs = _pairs(list(runs))
    with VideoReader(items[0].path) as r:
        info = r.info
    result = {
        "bench": "data",
        "videos": len(items),
        "video_size": [info.height, info.width],
        "video_frames": info.num_frames,
        "streams": [args.sparse, args.dense],
        "crop": args.crop,
        "scale": list(tf.scale),
        "workers": args.workers,
        "batch_size": args.batch_size,
        "normalize_device": str(device),
        "raw_decode_clips_per_s": round(best["raw"], 2),
        "pipeline_clips_per_s": round(best["pipeline"], 2),
        "ratio": round(best["pipeline"] / best["raw"], 3),
        "best_clips_per_s": {name: round(v, 2) for name, v in best.items()},
        "ratios": {f"{p}/{b}": round(best[p] / best[b], 3) for p, b in pairs},
        "round_ratios": {f"{p}/{b}": _ratios(rates[p], rates[b]) for p, b in pairs},
        "round_ratio_medians": {
            f"{p}/{b}": round(statistics.median(_ratios(rates[p], rates[b])), 3) for p, b in pairs
        },
        "cpu_ms_per_clip": {name: round(v, 1) for name, v in least_cpu.items()},
        "cpu_ratios": {f"{p}/{b}": round(least_cpu[b] / least_cpu[p], 3) for p, b in pairs},
        "consumer_cpu_ms_per_clip": {name: round(min(v), 1) for name, v in consumer.items()},
        "rounds": {name: [round(v, 2) for v in vals] for name, vals in rates.items()},
        "cpu_count": os.cpu_count(),
        "load_avg_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "machine": platform.machine(),
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
