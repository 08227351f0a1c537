"""How many hidden units of the classifier head are alive? (dead ReLU units after AdamW)

The classifier head is ``concat(pooled stream features) -> Linear(no bias) -> ReLU -> dropout
-> Linear``. Its input is an average of ReLU outputs, so every feature is >= 0, and the
gradient of one hidden unit's weights is that unit's output gradient times a non-negative
vector: AdamW, which moves every weight by about ``lr`` whatever the size of its gradient,
shifts all of a unit's weights the same way at once, and a unit pushed below zero for every
clip gets no gradient again (dead). A head with every unit dead outputs the same logits
for every clip: the training loss sits at ``ln(classes)`` for good.

For each run directory given (a training run with ``final.pt``, or a search run with
``checkpoint.pt`` and ``genome.json``) this counts the hidden units whose ReLU output is
positive on at least one of ``--clips`` clips of the dataset's alpha/val split (a unit that
is zero on all of them is counted dead), and prints one JSON object::

    .venv/bin/python tools/experiments/head_units.py --data runs/study/data/seed0 \\
        runs/study/seed0/search_progressive runs/study/seed0/train_random0

Results and discussion: ``docs/search.md`` ("Search vs random").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from autotsnet.models.genome import Genome, load_genome
from autotsnet.search.checkpoint import CHECKPOINT
from autotsnet.search.data import VideoSearchData
from autotsnet.search.progressive import load_supernet
from autotsnet.train.active_units import ActiveUnits
from autotsnet.train.checkpoint import load_model_from_checkpoint

__all__ = ["alive_units", "inspect_run", "main"]


def alive_units(model: nn.Module, hook_on: nn.Module, run: Any) -> tuple[int, int]:
    """``(alive, hidden)``: units of ``hook_on``'s output that are > 0 on some clip of ``run``.

    ``hook_on`` is the module whose output is the head's hidden layer (pre- or post-ReLU: a
    unit counts as alive where that output is positive); ``run()`` does the forward passes.
    """
    with torch.no_grad(), ActiveUnits(hook_on) as units:
        model.eval()
        run()
    assert units.mask is not None, "no forward pass ran"
    return units.count, units.mask.numel()


def _batches(data_dir: Path, genome: Genome, clips: int) -> list[Any]:
    data = VideoSearchData(data_dir, genome, batch_size=16, seed=0, workers=0, flip=False)
    out, n = [], 0
    for batch in data.val_batches(0):
        out.append(batch)
        n += len(batch[1])
        if n >= clips:
            break
    return out


def inspect_run(path: Path, data_dir: Path, clips: int) -> dict[str, Any]:
    """``{"path", "kind", "alive", "hidden"}`` of one training or search run folder."""
    if (path / "final.pt").exists():
        model, genome, _ = load_model_from_checkpoint(path / "final.pt")
        batches = _batches(data_dir, genome, clips)
        # the dropout module sees the hidden ReLU's output (with or without head BN)
        relu_out = model.get_submodule("classifier.dropout")
        alive, hidden = alive_units(
            model,
            relu_out,
            lambda: [model(*c) if isinstance(c, tuple) else model(c) for c, _ in batches],
        )
        return {"path": str(path), "kind": "trained", "alive": alive, "hidden": hidden}
    if not ((path / CHECKPOINT).exists() and (path / "genome.json").exists()):
        raise SystemExit(f"{path}: neither a finished training run (final.pt) nor a finished "
                         "search run (checkpoint.pt and genome.json)")  # fmt: skip
    genome = load_genome(path / "genome.json")
    net = load_supernet(path / CHECKPOINT)
    batches = _batches(data_dir, genome, clips)
    # the supernet applies fc1 functionally; its dropout module sees the post-ReLU output
    alive, hidden = alive_units(net, net.dropout, lambda: [net(c, genome) for c, _ in batches])
    return {"path": str(path), "kind": "supernet", "alive": alive, "hidden": hidden}


def main() -> None:
    """Print ``{"runs": [{"path", "kind", "alive", "hidden"}, ...]}``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="training or search run directories")
    ap.add_argument("--data", type=Path, required=True, help="the dataset the runs used")
    ap.add_argument("--clips", type=int, default=64, help="alpha/val clips to look at")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(
        json.dumps({"runs": [inspect_run(p, args.data, args.clips) for p in args.runs]}, indent=2)
    )


if __name__ == "__main__":
    main()
