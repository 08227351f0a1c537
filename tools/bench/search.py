"""Benchmark: one PARSEC step against one plain training step of the same sampled subnet.

Prints JSON with wall time and peak memory of both and their ratios. Memory: peak CUDA
allocation on a GPU; on CPU the growth of the process's peak RSS during the step (Linux
``/proc/self/clear_refs`` resets the high-water mark before each measurement). PARSEC is run
with K samples; ``per_sample`` divides its time by K (a plain step trains one network).

PARSEC runs twice: with the default alpha batch (``--alpha-batch``, default half of
``--batch``, as :class:`autotsnet.search.SearchConfig` does) and with a full-size alpha batch
(``*_full_alpha``). The three steps run interleaved, round-robin, ``--repeats`` times and each
reports its median, so the load of a shared machine hits them alike. ``--threads`` (default
1) pins torch's CPU threads: on a loaded 2-core machine more threads than free cores make
every step several times slower.

    .venv/bin/python tools/bench/search.py --scale tiny --samples 1 --batch 8
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from autotsnet.models.cost import estimate
from autotsnet.models.space import SearchSpace
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.parsec import Parsec, ParsecConfig, alpha_batch
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


def _measure(
    fns: dict[str, Callable[[], None]], device: torch.device, repeats: int
) -> dict[str, tuple[float, int]]:
    """Median time and max peak memory of each function, run interleaved (round-robin).

    Interleaving spreads the noise of a shared machine evenly over the compared functions.
    """
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in fns}
    peaks: dict[str, list[int]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            base = _reset_peak(device)
            t0 = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t0)
            peaks[name].append(_peak(device, base))
    return {k: (statistics.median(times[k]), max(peaks[k])) for k in fns}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="tiny", choices=["tiny", "full"])
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--alpha-batch", type=int, default=None, help="default: half of --batch")
    ap.add_argument("--crop", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (0: torch default)")
    ap.add_argument("--kernel-mode", default="crop", choices=["crop", "separate"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
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
    gen = torch.Generator().manual_seed(args.seed)

    def make_parsec(alpha_batch_size: int | None) -> Callable[[], None]:
        # every sample forced to `genome` so that both sides train the same network
        dist = ArchDistribution(space.variables()).to(device)
        parsec = Parsec(
            supernet,
            dist,
            genome_of=lambda a: genome,
            flops_of=lambda g: float(estimate(g, num_classes=10).flops),
            config=ParsecConfig(
                samples=args.samples, target_flops=1e18, alpha_batch_size=alpha_batch_size
            ),
            weight_optimizer=torch.optim.SGD(supernet.parameters(), lr=0.01, momentum=0.9),
            alpha_optimizer=torch.optim.Adam(dist.parameters(), lr=0.025),
        )

        def step() -> None:
            parsec.step((clips, labels), (clips, labels), gen)

        return step

    subnet = supernet.subnet(genome).to(device).train()
    opt = torch.optim.SGD(subnet.parameters(), lr=0.01, momentum=0.9)

    def plain() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(subnet(*clips), labels).backward()  # type: ignore[no-untyped-call]
        opt.step()

    alpha = alpha_batch(args.alpha_batch, args.batch)
    res = _measure(
        {"plain": plain, "parsec": make_parsec(alpha), "parsec_full": make_parsec(args.batch)},
        device,
        args.repeats,
    )
    (t_plain, m_plain), (t_parsec, m_parsec) = res["plain"], res["parsec"]
    t_full, m_full = res["parsec_full"]
    out = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "scale": args.scale,
        "kernel_mode": args.kernel_mode,
        "batch": args.batch,
        "alpha_batch": alpha,
        "crop": crop,
        "frames": [genome.sparse.input.frames, genome.dense.input.frames],
        "samples_K": args.samples,
        "repeats": args.repeats,
        "genome_gflops": estimate(genome, num_classes=10).gflops_per_view,
        "plain_step_s": round(t_plain, 4),
        "parsec_step_s": round(t_parsec, 4),
        "time_ratio": round(t_parsec / t_plain, 3),
        "time_ratio_per_sample": round(t_parsec / args.samples / t_plain, 3),
        "parsec_full_alpha_step_s": round(t_full, 4),
        "time_ratio_full_alpha": round(t_full / t_plain, 3),
        "plain_peak_bytes": m_plain,
        "parsec_peak_bytes": m_parsec,
        "memory_ratio": round(m_parsec / max(1, m_plain), 3),
        "memory_ratio_full_alpha": round(m_full / max(1, m_plain), 3),
        "memory_method": "cuda max_memory_allocated" if device.type == "cuda" else "VmHWM growth",
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
