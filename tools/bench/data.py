"""Benchmark the data pipeline against raw PyAV decoding of the same frames; prints JSON.

Both runs use the same DataLoader setup (workers, persistent workers, batch size) and the
same clip windows (seeded), so the ratio isolates the cost of transforms, normalisation and
collation. ``raw`` decodes the union of the two streams' frames of each clip to uint8
(the practical limit); ``pipeline`` is ``ClipDataset`` (decode + scale jitter + crop + flip
+ normalise, both streams).

    .venv/bin/python tools/bench/data.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
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
    open_dataset,
)
from autotsnet.data.synth import generate_synthetic


class RawDecode(Dataset[torch.Tensor]):
    """Decode exactly the frames ``ClipDataset`` would decode, and nothing else."""

    accepts_epoch_keys = True

    def __init__(self, items: list[VideoItem], samplings: tuple[StreamSampling, ...], seed: int):
        self.items, self.sampler, self.seed = items, ClipSampler(samplings), seed

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        index, epoch = key
        rng = random.Random(f"{self.seed}:{epoch}:{index}:0")
        with VideoReader(self.items[index].path) as reader:
            n = reader.num_frames
            start = self.sampler.train_start(n, rng)
            union, _ = self.sampler.union(self.sampler.indices(start, n))
            return reader.read(union)


def _as_list(batch: list[Any]) -> list[Any]:
    return batch


def _rate(loader: Any, epochs: int) -> float:
    clips, t0 = 0, time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            clips += len(batch) if isinstance(batch, list) else int(batch[1].numel())
    return clips / (time.perf_counter() - t0)


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
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; best is kept")
    ap.add_argument("--sparse", default="4x16")
    ap.add_argument("--dense", default="32x2")
    ap.add_argument("--crop", type=int, default=160)
    args = ap.parse_args()
    torch.set_num_threads(1)

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
    raw_loader = make_loader(RawDecode(items, samplings, seed), args.batch_size,
                             workers=args.workers, shuffle=True, seed=seed)  # fmt: skip
    raw_loader.collate_fn = _as_list
    pipe_loader = make_loader(ClipDataset(items, samplings, tf, seed=seed), args.batch_size,
                              workers=args.workers, shuffle=True, seed=seed)  # fmt: skip
    _rate(raw_loader, 1)  # warm-up: start the persistent workers, fill the page cache
    _rate(pipe_loader, 1)
    raw, pipe = [], []
    for _ in range(args.rounds):
        raw.append(_rate(raw_loader, args.epochs))
        pipe.append(_rate(pipe_loader, args.epochs))
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
        "raw_decode_clips_per_s": round(max(raw), 2),
        "pipeline_clips_per_s": round(max(pipe), 2),
        "ratio": round(max(pipe) / max(raw), 3),
        "rounds": {"raw": [round(v, 2) for v in raw], "pipeline": [round(v, 2) for v in pipe]},
        "cpu_count": torch.multiprocessing.cpu_count(),
        "machine": platform.machine(),
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
