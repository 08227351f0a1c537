"""Can the sparse stream alone learn the synthetic motion task? 2 frames against 4.

Progressive search starts with the sparse stream alone (step 1). On the built-in synthetic
dataset (4 classes: left, right, up, down; a single frame carries no class information) that
step can only rank architectures if a sparse-only network learns the task at all. This
trains the tiny space's step-1 genome (``SearchSpace.table1(scale="tiny")``, sparse stream
only, the space's mid-range choices) with the space's own input, 2 frames 8 apart, and with
4 frames 8 apart (``autotsnet search --frames 4,8``, which keeps the space's temporal
strides; the 32-frame videos are covered end to end), each with
``--seeds`` training seeds, same data and recipe (AdamW lr 1e-2, batch 16, 1 warm-up epoch,
no flips), and evaluates 10x1 views on the val split. Prints one JSON object and writes it to
``OUT/sparse_frames.json``; finished runs are reused::

    .venv/bin/python tools/experiments/sparse_frames.py --out runs/sparse_frames

Results and discussion: ``docs/search.md`` ("Search vs random").
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from autotsnet.data.classmap import atomic_write_text
from autotsnet.data.synth import generate_synthetic
from autotsnet.models import Genome
from autotsnet.models.cost import estimate
from autotsnet.models.space import SearchSpace
from autotsnet.search.progressive import with_inputs
from autotsnet.train import TrainConfig, train
from autotsnet.train.evaluate import evaluate

__all__ = ["genomes", "main"]


def genomes() -> dict[str, Genome]:
    """Setting name -> the tiny step-1 (sparse-only) genome with that input."""
    base = SearchSpace.table1(scale="tiny").base_for_step("sparse")
    return {
        "sparse_2_frames": base,
        "sparse_4_frames": with_inputs(base, (4, 8), None),
    }


def _run(name: str, genome: Genome, seed: int, data: Path, out: Path,
         args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    run = out / f"{name}_seed{seed}"
    result_path = run / "result.json"
    if result_path.exists():
        return dict(json.loads(result_path.read_text(encoding="utf-8")))
    config = TrainConfig(
        epochs=args.epochs, batch_size=16, lr=1e-2, optimizer="adamw", warmup_epochs=1,
        workers=0, precise_bn=0, ckpt_every_steps=0, keep_last=1, flip=False, device="cpu",
        seed=seed,
    )  # fmt: skip
    t0 = time.perf_counter()
    report = train(genome, data, run, config, overwrite=True, progress=False)
    ev = evaluate(run / "final.pt", data, views="10x1", device="cpu")
    result = {
        "frames": genome.sparse.input.frames,
        "temporal_stride": genome.sparse.input.temporal_stride,
        "seed": seed,
        "steps": report["steps"],
        "train_loss": report["final"]["train_loss"],
        "top1_10x1": ev["top1"],
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_text(result_path, json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    """Run (or reuse) every setting and seed, print the JSON summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/sparse_frames"))
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--videos-per-class", type=int, default=200)
    args = p.parse_args()
    torch.set_num_threads(1)
    data = args.out / "data"
    generate_synthetic(data, classes=4, videos_per_class=args.videos_per_class, frames=32,
                       size=(48, 48), workers=1)  # fmt: skip
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {
        name: [_run(name, g, s, data, args.out, args) for s in seeds]
        for name, g in genomes().items()
    }
    space = SearchSpace.table1(scale="tiny")
    cost = {  # the two-stream base genome of the tiny space with each input
        "base_gflops_frames_2_8": estimate(space.base, num_classes=4).flops / 1e9,
        "base_gflops_frames_4_8": estimate(
            with_inputs(space.base, (4, 8), None), num_classes=4
        ).flops
        / 1e9,
    }
    summary = {"chance": 0.25, "epochs": args.epochs, **cost, "results": results}
    atomic_write_text(args.out / "sparse_frames.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
