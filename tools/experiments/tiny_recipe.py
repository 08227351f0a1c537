"""Ablation: what makes a shrunk two-stream genome learn the synthetic task on CPU.

Trains the tiny twin of Auto-TSNet-S (``autotsnet.models.shrink``) on the built-in synthetic
dataset (4 classes: left, right, up, down; they differ only in motion) under six settings,
all with the same data, seed, batch and number of steps, and evaluates each with 10x1 views:

* ``old_shrink_sgd``: the earlier twin (4-16 channels, every stride kept, so a 32 px crop
  ends on a 1x1 map) with SGD (momentum 0.9, lr 0.1), the earlier demo recipe;
* ``stride32_adamw``: 8-32 channels but every stride kept, AdamW lr 1e-2;
* ``new_shrink_sgd``: today's twin (8-32 channels, final map >= 4x4) with SGD lr 0.1;
* ``new_shrink_adamw``: today's twin with AdamW lr 1e-2 (the tiny recipe);
* ``adamw_lr2e-2``: the same at twice the learning rate;
* ``single_frame``: the X3D-S twin fed one frame, AdamW lr 1e-2 (a single frame carries no
  class information in this dataset, so this should stay near chance);
* ``head_bn_adamw``, ``head_bn_adamw_lr2e-2``, ``head_bn_sgd``: today's twin with a
  BatchNorm1d before the classifier head's hidden ReLU (``HeadGene.hidden_norm = "bn"``),
  under the three optimizer settings of the rows above.

Every row also reports the live hidden units of the classifier head at the last validation
(``head_alive_units`` of ``head_hidden_units``).

Prints one JSON object and writes it to ``OUT/tiny_recipe.json``; finished runs are reused::

    .venv/bin/python tools/experiments/tiny_recipe.py --out runs/tiny_recipe

Results and discussion: ``docs/training.md`` ("Learning on a CPU").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import torch

from autotsnet.data.classmap import atomic_write_text
from autotsnet.data.synth import generate_synthetic
from autotsnet.models import Genome, shrink, zoo
from autotsnet.models.cost import estimate
from autotsnet.models.plan import spatial_sizes
from autotsnet.train import TrainConfig, train
from autotsnet.train.config import OptimizerName
from autotsnet.train.evaluate import evaluate

__all__ = ["main", "settings"]


def settings() -> dict[str, tuple[Genome, OptimizerName, float]]:
    """Name -> (genome, optimizer, lr) of every setting."""
    ats = zoo.get("auto_tsnet_s")
    return {
        "old_shrink_sgd": (shrink(ats, widths=(4, 16), min_map=1), "sgd", 0.1),
        "stride32_adamw": (shrink(ats, min_map=1), "adamw", 1e-2),
        "new_shrink_sgd": (shrink(ats), "sgd", 0.1),
        "new_shrink_adamw": (shrink(ats), "adamw", 1e-2),
        "adamw_lr2e-2": (shrink(ats), "adamw", 2e-2),
        "single_frame": (shrink(zoo.get("x3d_s"), frames=1), "adamw", 1e-2),
        "head_bn_adamw": (_head_bn(shrink(ats)), "adamw", 1e-2),
        "head_bn_adamw_lr2e-2": (_head_bn(shrink(ats)), "adamw", 2e-2),
        "head_bn_sgd": (_head_bn(shrink(ats)), "sgd", 0.1),
    }


def _head_bn(genome: Genome) -> Genome:
    return genome.replace(head=dataclasses.replace(genome.head, hidden_norm="bn"))


def _run(name: str, genome: Genome, optimizer: OptimizerName, lr: float, data: Path, out: Path,
         args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    result_path = out / name / "result.json"
    if result_path.exists():
        return dict(json.loads(result_path.read_text(encoding="utf-8")))
    config = TrainConfig(
        epochs=args.epochs, batch_size=16, lr=lr, optimizer=optimizer,
        warmup_epochs=1, workers=1, precise_bn=0, ckpt_every_steps=0, keep_last=1, flip=False,
        device="cpu", seed=args.seed,
    )  # fmt: skip
    t0 = time.perf_counter()
    report = train(genome, data, out / name, config, overwrite=True, progress=False)
    seconds = time.perf_counter() - t0
    ev = evaluate(out / name / "final.pt", data, views="10x1", device="cpu")
    lines = (out / name / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    last = [r for r in map(json.loads, lines) if r.get("type") == "epoch"][-1]
    result = {
        "optimizer": optimizer,
        "lr": lr,
        "steps": report["steps"],
        "gflops_per_view": estimate(genome, num_classes=len(ev["per_class"])).flops / 1e9,
        "final_map": spatial_sizes(genome.sparse, genome.sparse.input.train_crop)[-1],
        "train_loss": report["final"]["train_loss"],
        "top1_10x1": ev["top1"],
        "head_alive_units": last.get("head_alive_units"),
        "head_hidden_units": last.get("head_hidden_units"),
        "train_seconds": round(seconds, 1),
    }
    atomic_write_text(result_path, json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    """Run (or reuse) every setting and print the JSON summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/tiny_recipe"))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default="", help="comma-separated subset of the settings")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = args.out / "data"
    generate_synthetic(data, classes=4, videos_per_class=60, frames=32, size=(48, 48), workers=2)
    chosen = [s for s in args.only.split(",") if s] or list(settings())
    results = {}
    for name, (genome, optimizer, lr) in settings().items():
        if name in chosen:
            results[name] = _run(name, genome, optimizer, lr, data, args.out, args)
    summary = {"chance": 0.25, "epochs": args.epochs, "seed": args.seed, "results": results}
    atomic_write_text(args.out / "tiny_recipe.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
