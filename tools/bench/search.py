"""Benchmark: one PARSEC step against one plain training step of the same sampled subnet.

Prints JSON with wall time and peak memory of both and their ratios. Memory: peak CUDA
allocation on a GPU; on CPU the growth of the process's peak RSS during the step (Linux
``/proc/self/clear_refs`` resets the high-water mark before each measurement). PARSEC is run
with K samples; ``per_sample`` divides its time by K (a plain step trains one network).

PARSEC runs twice: with the default alpha batch (as large as the weight batch, as
:class:`autotsnet.search.SearchConfig` does) and with a smaller one (``*_small_alpha``:
``--small-alpha-batch`` clips, default half of ``--batch``). The three steps run interleaved
(a fresh seeded order every round),
``--repeats`` times, and each reports its median wall time and, as ``cpu_*``, its median CPU
time of the calling thread, which leaves out waiting for a core and so is the steadier
number on a shared CPU. ``--threads`` (default 1) pins torch's CPU threads: on a loaded
2-core machine more threads than free cores make every step several times slower. On CPU,
oneDNN's primitive cache (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``, default 1024, echoed in the
JSON) matters: the supernet runs many distinct conv shapes, and two batch sizes double them.

``--breakdown`` adds the parts of a K = 1 step, each timed alone in the same rounds:
scoring forward (full and small alpha batch), supernet training step, sampling plus genome
decoding, alpha update (``breakdown_cpu_s`` / ``breakdown_wall_s``).

    .venv/bin/python tools/bench/search.py --scale tiny --samples 1 --batch 8 --breakdown
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from autotsnet.models.cost import estimate
from autotsnet.models.genome import Genome
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
    fns: dict[str, Callable[[], None]], device: torch.device, repeats: int, seed: int
) -> dict[str, tuple[float, float, int]]:
    """Median wall time, median CPU time of this thread, and max peak memory of each function.

    Memory is measured first, each function on its own after its warm-up (on CPU a function
    run right after a bigger one reuses freed memory and shows no RSS growth). Times are then
    taken with the functions interleaved, in a fresh seeded order every round, so the load of
    a shared machine hits them alike. CPU time (``time.thread_time``) leaves out the time
    the thread waits for a core; it is meaningful on CPU with one torch thread.
    """
    peaks: dict[str, list[int]] = {k: [] for k in fns}
    for name, fn in fns.items():  # memory first, one function at a time (see below)
        fn()  # warm-up
        for _ in range(3):
            base = _reset_peak(device)
            fn()
            peaks[name].append(_peak(device, base))
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns)
    rng = random.Random(seed)
    for _ in range(repeats):
        rng.shuffle(order)
        for name in order:
            t0, c0 = time.perf_counter(), time.thread_time()
            fns[name]()
            if device.type == "cuda":
                torch.cuda.synchronize()
            cpu[name].append(time.thread_time() - c0)
            wall[name].append(time.perf_counter() - t0)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k]), max(peaks[k])) for k in fns}


def _parts(
    parsec: Parsec,
    space: SearchSpace,
    genome: Genome,
    clips: tuple[torch.Tensor, torch.Tensor],
    labels: torch.Tensor,
    small: int,
    gen: torch.Generator,
) -> dict[str, Callable[[], None]]:
    """The parts of a K = 1 PARSEC step, each runnable alone (``--breakdown``)."""
    supernet, dist = parsec.supernet, parsec.dist
    w_opt = torch.optim.SGD(supernet.parameters(), lr=0.01, momentum=0.9)
    a_opt = torch.optim.Adam(dist.parameters(), lr=0.025)
    part = (tuple(c[:small] for c in clips), labels[:small])

    def score() -> None:
        parsec.evaluate(genome, clips, labels)

    def score_small() -> None:
        parsec.evaluate(genome, *part)

    def supernet_train() -> None:
        w_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(supernet(clips, genome), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        w_opt.step()

    def sample() -> None:
        for row in dist.sample(1, gen):
            space.decode(dist.assignment(row))

    def alpha_update() -> None:
        a_opt.zero_grad(set_to_none=True)
        (-dist.log_prob(dist.sample(1, gen)).sum()).backward()  # type: ignore[no-untyped-call]
        a_opt.step()

    return {
        "part_score": score,
        "part_score_small": score_small,
        "part_supernet_train": supernet_train,
        "part_sample_decode": sample,
        "part_alpha_update": alpha_update,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="tiny", choices=["tiny", "full"])
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--small-alpha-batch", type=int, default=None, help="default: --batch / 2")
    ap.add_argument("--crop", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (0: torch default)")
    ap.add_argument("--kernel-mode", default="crop", choices=["crop", "separate"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--breakdown", action="store_true", help="also time a PARSEC step's parts")
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

    def make_parsec(alpha_batch_size: int | None) -> tuple[Parsec, Callable[[], None]]:
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

        return parsec, step

    subnet = supernet.subnet(genome).to(device).train()
    opt = torch.optim.SGD(subnet.parameters(), lr=0.01, momentum=0.9)

    def plain() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(subnet(*clips), labels).backward()  # type: ignore[no-untyped-call]
        opt.step()

    alpha = alpha_batch(None, args.batch)
    small = args.small_alpha_batch or max(1, args.batch // 2)
    parsec, parsec_step = make_parsec(None)
    _, parsec_small = make_parsec(small)
    fns = {"plain": plain, "parsec": parsec_step, "parsec_small": parsec_small}
    if args.breakdown:
        fns |= _parts(parsec, space, genome, clips, labels, small, gen)
    res = _measure(fns, device, args.repeats, args.seed)
    (t_plain, c_plain, m_plain), (t_parsec, c_parsec, m_parsec) = res["plain"], res["parsec"]
    t_small, c_small, m_small = res["parsec_small"]
    out = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "scale": args.scale,
        "kernel_mode": args.kernel_mode,
        "batch": args.batch,
        "alpha_batch": alpha,
        "small_alpha_batch": small,
        "onednn_primitive_cache_capacity": os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY"),
        "crop": crop,
        "frames": [genome.sparse.input.frames, genome.dense.input.frames],
        "samples_K": args.samples,
        "repeats": args.repeats,
        "genome_gflops": estimate(genome, num_classes=10).gflops_per_view,
        "plain_step_s": round(t_plain, 4),
        "parsec_step_s": round(t_parsec, 4),
        "time_ratio": round(t_parsec / t_plain, 3),
        "time_ratio_per_sample": round(t_parsec / args.samples / t_plain, 3),
        "parsec_small_alpha_step_s": round(t_small, 4),
        "time_ratio_small_alpha": round(t_small / t_plain, 3),
        "cpu_plain_step_s": round(c_plain, 4),
        "cpu_parsec_step_s": round(c_parsec, 4),
        "cpu_time_ratio": round(c_parsec / c_plain, 3),
        "cpu_time_ratio_small_alpha": round(c_small / c_plain, 3),
        "plain_peak_bytes": m_plain,
        "parsec_peak_bytes": m_parsec,
        "memory_ratio": round(m_parsec / max(1, m_plain), 3),
        "memory_ratio_small_alpha": round(m_small / max(1, m_plain), 3),
        "memory_method": "cuda max_memory_allocated" if device.type == "cuda" else "VmHWM growth",
    }
    if args.breakdown:
        out["breakdown_cpu_s"] = {k: round(v[1], 4) for k, v in res.items()}
        out["breakdown_wall_s"] = {k: round(v[0], 4) for k, v in res.items()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
