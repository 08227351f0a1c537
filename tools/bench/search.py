"""Benchmark: one PARSEC step against one plain training step of the same sampled subnet.

Prints JSON with wall time and peak memory of both and their ratios. Memory: peak CUDA
allocation on a GPU; on CPU the growth of the process's peak RSS during the step (Linux
``/proc/self/clear_refs`` resets the high-water mark before each measurement). PARSEC is run
with K samples; ``per_sample`` divides its time by K (a plain step trains one network).

    .venv/bin/python tools/bench/search.py --scale tiny --samples 1 --batch 8
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from autotsnet.models.cost import estimate
from autotsnet.models.space import SearchSpace
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.parsec import Parsec, ParsecConfig
from autotsnet.search.supernet import Supernet


def _reset_peak(device: torch.device) -> int:
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return int(torch.cuda.memory_allocated())
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(key)


def _peak(device: torch.device, base: int) -> int:
    if device.type == "cuda":
        torch.cuda.synchronize()
        return int(torch.cuda.max_memory_allocated()) - base
    return _status("VmHWM") - base


def _measure(fn: Any, device: torch.device, repeats: int) -> tuple[float, int]:
    fn()  # warm-up
    times, peaks = [], []
    for _ in range(repeats):
        base = _reset_peak(device)
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        peaks.append(_peak(device, base))
    return sorted(times)[len(times) // 2], max(peaks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="tiny", choices=["tiny", "full"])
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--kernel-mode", default="crop", choices=["crop", "separate"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    space = SearchSpace.table1(scale=args.scale)
    genome = space.sample(random.Random(args.seed))
    crop = args.crop or genome.sparse.input.train_crop
    assert genome.dense is not None
    clips = (
        torch.randn(args.batch, 3, genome.sparse.input.frames, crop, crop, device=device),
        torch.randn(args.batch, 3, genome.dense.input.frames, crop, crop, device=device),
    )
    labels = torch.randint(0, 10, (args.batch,), device=device)
    supernet = Supernet(space.max_cost_genome(), num_classes=10, kernel_mode=args.kernel_mode)
    supernet.to(device)
    # PARSEC with every sample forced to `genome` so both sides train the same network
    dist = ArchDistribution(space.variables()).to(device)
    parsec = Parsec(
        supernet,
        dist,
        genome_of=lambda a: genome,
        flops_of=lambda g: float(estimate(g, num_classes=10).flops),
        config=ParsecConfig(samples=args.samples, target_flops=1e18),
        weight_optimizer=torch.optim.SGD(supernet.parameters(), lr=0.01, momentum=0.9),
        alpha_optimizer=torch.optim.Adam(dist.parameters(), lr=0.025),
    )
    gen = torch.Generator().manual_seed(args.seed)
    subnet = supernet.subnet(genome).to(device).train()
    opt = torch.optim.SGD(subnet.parameters(), lr=0.01, momentum=0.9)

    def plain() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(subnet(*clips), labels).backward()  # type: ignore[no-untyped-call]
        opt.step()

    def parsec_step() -> None:
        parsec.step((clips, labels), (clips, labels), gen)

    t_plain, m_plain = _measure(plain, device, args.repeats)
    t_parsec, m_parsec = _measure(parsec_step, device, args.repeats)
    out = {
        "device": str(device),
        "scale": args.scale,
        "kernel_mode": args.kernel_mode,
        "batch": args.batch,
        "crop": crop,
        "frames": [genome.sparse.input.frames, genome.dense.input.frames],
        "samples_K": args.samples,
        "genome_gflops": estimate(genome, num_classes=10).gflops_per_view,
        "plain_step_s": round(t_plain, 4),
        "parsec_step_s": round(t_parsec, 4),
        "time_ratio": round(t_parsec / t_plain, 3),
        "time_ratio_per_sample": round(t_parsec / args.samples / t_plain, 3),
        "plain_peak_bytes": m_plain,
        "parsec_peak_bytes": m_parsec,
        "memory_ratio": round(m_parsec / max(1, m_plain), 3),
        "memory_method": "cuda max_memory_allocated" if device.type == "cuda" else "VmHWM growth",
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
